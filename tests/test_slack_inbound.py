"""Bodies as Slack really sends them reach the right listener: our own parse before Bolt's
(a form is interactivity only when it has a `payload` field), and a body Slack would never
send is a 400 that changes nothing, never a 500."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlencode

import pytest

from bot.slack.inbound import MalformedBody, parse_body
from sandbox import slack_requests as sr
from tests.conftest import Harness
from tests.slack_corpus import Wire

ALICE = "U0ALICE"


def test_a_form_is_interactivity_only_with_a_payload_field() -> None:
    command = sr.slash_command(
        "/incident", "declare Webhook payload delivery delays", ALICE, "C1", "http://r", "t1",
        channel_name="payload-team",
    )
    parsed = parse_body(command, sr.FORM_CONTENT_TYPE)
    assert parsed["text"] == "declare Webhook payload delivery delays"
    assert parsed["channel_name"] == "payload-team"
    action = sr.block_actions("show_timeline", "INC-1", ALICE, "C1", "1.2", "http://r", "t2")
    assert parse_body(action, sr.FORM_CONTENT_TYPE)["type"] == "block_actions"
    assert parse_body(action, None)["type"] == "block_actions"
    assert parse_body('{"type": "url_verification"}', None) == {"type": "url_verification"}
    assert parse_body("", sr.FORM_CONTENT_TYPE) == {}


@pytest.mark.parametrize(
    ("body", "content_type", "problem"),
    [
        ("payload=%7Bnot+json", sr.FORM_CONTENT_TYPE, "payload field is not valid JSON"),
        ("payload=%5B1%2C2%5D", sr.FORM_CONTENT_TYPE, "payload field is not a JSON object"),
        ("{not json", sr.JSON_CONTENT_TYPE, "body is not valid JSON"),
        ('["event"]', sr.JSON_CONTENT_TYPE, "body is not a JSON object"),
    ],
)
def test_bodies_slack_never_sends_are_refused(body: str, content_type: str, problem: str) -> None:
    with pytest.raises(MalformedBody, match=problem):
        parse_body(body, content_type)


async def test_payload_in_the_command_text_declares(harness: Harness) -> None:
    """Regression: Bolt's parse_body saw the substring "payload" and answered 404."""
    reply = await harness.driver.command(
        "declare Webhook payload delivery delays sev:2", user=ALICE, channel=harness.incidents_id
    )
    assert reply.status == 200, reply
    incident = await harness.bot.services.incidents.list_open()
    assert [i.title for i in incident] == ["Webhook payload delivery delays"]
    assert harness.slack.channel(incident[0].channel_id) is not None


async def test_payload_in_the_channel_name_answers(harness: Harness) -> None:
    channel = harness.slack.add_channel("payload-team", [ALICE, "U0BOT"]).id
    reply = await harness.driver.command("help", user=ALICE, channel=channel)
    assert reply.status == 200
    assert "/incident declare" in reply.text and reply.ephemeral
    reply = await harness.driver.command(
        "declare Payloads dropped", user=ALICE, channel=channel, channel_name="payload-team"
    )
    assert reply.status == 200
    opened = await harness.bot.services.incidents.list_open()
    assert [i.title for i in opened] == ["Payloads dropped"]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (urlencode({"payload": "{not json"}), sr.FORM_CONTENT_TYPE),
        (urlencode({"payload": json.dumps(["block_actions"])}), sr.FORM_CONTENT_TYPE),
        ("{not json", sr.JSON_CONTENT_TYPE),
        ("[]", sr.JSON_CONTENT_TYPE),
    ],
)
async def test_a_malformed_signed_body_is_a_400_and_changes_nothing(
    harness: Harness, body: str, content_type: str
) -> None:
    before = await harness.store.redis.dbsize()
    status, text = await harness.driver._post(body, {"Content-Type": content_type})
    assert status == 400
    assert text.startswith("malformed request body:") and "Traceback" not in text
    assert await harness.store.redis.dbsize() == before
    assert harness.slack.calls() == []


async def test_socket_mode_reads_the_same_command(harness: Harness) -> None:
    """The same slash command over Socket Mode (a real WebSocket to the emulator's stand-in,
    the bot's Socket Mode handler, our request builder)."""
    wire = await Wire(harness, "socket").open()
    try:
        url = harness.slack.new_response_url(harness.incidents_id)
        body = sr.slash_command(
            "/incident", "declare Webhook payload delivery delays", ALICE, harness.incidents_id,
            url, "trig-socket-1", channel_name="payload-team",
        )
        outcome = await wire.send(body)
    finally:
        await wire.close()
    assert outcome.acknowledged
    opened = await harness.bot.services.incidents.list_open()
    assert [i.title for i in opened] == ["Webhook payload delivery delays"]


async def test_a_malformed_socket_envelope_is_acknowledged_and_changes_nothing(
    harness: Harness,
) -> None:
    """No status code on a socket: the envelope is acknowledged (so Slack does not send it
    again) and nothing runs, as an HTTP 400 would."""
    wire = await Wire(harness, "socket").open()
    try:
        url = harness.slack.new_response_url(harness.incidents_id)
        body = sr.slash_command(
            "/incident", "declare Should not happen", ALICE, harness.incidents_id, url, "t-9"
        )
        broken = urlencode({**dict(parse_qsl(body)), "response_url": "not a url"})
        outcome = await wire.send(broken)
        http_status, _ = await harness.driver._post(broken)
    finally:
        await wire.close()
    assert outcome.acknowledged and outcome.payload is None
    assert http_status == 400
    assert await harness.bot.services.incidents.list_open() == []
    assert harness.slack.calls("conversations.create") == []


async def test_slacks_ssl_check_is_answered(harness: Harness) -> None:
    """Slack checks a Request URL's certificate with a form of its own (no command, no
    payload): 200 and nothing else."""
    status, text = await harness.driver._post("ssl_check=1&token=deprecated-verification-token")
    assert (status, text) == (200, "")
    assert harness.slack.calls() == []
