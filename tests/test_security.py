"""Hostile input against the real bot over HTTP: forged, stale, replayed and unsigned
requests; who may resolve, close, reassign the IC or change a resolved incident's severity;
very long texts, odd Unicode and Slack markup injection in everything the bot echoes.

The property tests reuse ONE running bot (the `harness` fixture lives for the whole
hypothesis run of a test function), so ~100 examples each stay fast."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import redis as sync_redis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bot.incidents.models import Role, Severity, Status
from sandbox import slack_requests as sr
from sandbox.slack_emulator import SlackEmulator
from tests.conftest import SIGNING_SECRET, Harness, running_bot

ALICE, BOB, CHARLIE, DIANA = "U0ALICE", "U0BOB", "U0CHARLIE", "U0DIANA"
STALE_AFTER = 5 * 60

PROPERTY = settings(
    max_examples=100,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure prints its example
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

INJECTIONS = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^S123>",
    "<!subteam^S0ONCALL|@oncall>",
    "<https://evil.example|click>",
    "<@U0DIANA>",
    "<#C0INCIDENTS>",
]
ODD_UNICODE = [
    "\u202eevil\u202c",  # right-to-left override
    "zero\u200bwidth\u200d",
    "fire \U0001f525 \U0001f469\u200d\U0001f4bb",
    "cafe\u0301",  # combining acute accent
    "\u2066isolate\u2069",
]
BIDI_AND_ZERO_WIDTH = ["\u202e", "\u202c", "\u200b", "\u2066", "\u2069"]


def redis_keys(harness: Harness) -> list[str]:
    url = harness.bot.services.settings.redis_url
    return sorted(k.decode() for k in sync_redis.Redis.from_url(url).keys("*"))


async def incident_of(harness: Harness, channel_id: str):  # type: ignore[no-untyped-def]
    incident = await harness.bot.services.incidents.for_channel(channel_id)
    assert incident is not None
    return incident


# --- request authentication ----------------------------------------------------------


def _command_body(text: str) -> str:
    return sr.slash_command(
        "/incident", text, ALICE, "C0INCIDENTS", "http://127.0.0.1:1/response/x", "trig-p"
    )


def _event_body(text: str) -> str:
    event = {"type": "message", "channel": "C0INCIDENTS", "user": BOB, "text": text,
             "ts": "1700000000.000100", "event_ts": "1700000000.000100"}
    return sr.event_callback(event)


bodies = st.one_of(
    st.text(max_size=300).map(lambda t: _command_body("declare " + (t or "x"))),
    st.text(max_size=300).map(_event_body),
    st.text(max_size=500),
    st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
)
BAD_SIGNING = [
    "forged_secret",
    "stale",
    "future",
    "tampered_body",
    "garbage_signature",
    "wrong_version",
    "missing_signature",
    "missing_timestamp",
    "missing_both",
]


def bad_headers(kind: str, body: str, secret: str, skew: int, junk: str) -> tuple[str, dict]:
    """A request Slack would never send: returns the body actually sent and its headers."""
    now = int(time.time())
    good = sr.signed_headers(SIGNING_SECRET, body)
    if kind == "forged_secret":
        return body, sr.signed_headers(secret, body)
    if kind == "stale":
        return body, sr.signed_headers(SIGNING_SECRET, body, timestamp=now - STALE_AFTER - skew)
    if kind == "future":
        return body, sr.signed_headers(SIGNING_SECRET, body, timestamp=now + STALE_AFTER + skew)
    if kind == "tampered_body":
        return body + (junk or "x"), good
    if kind == "garbage_signature":
        return body, {**good, "X-Slack-Signature": "v0=" + junk.encode().hex()[:64]}
    if kind == "wrong_version":
        return body, {**good, "X-Slack-Signature": good["X-Slack-Signature"].replace("v0=", "v1=")}
    if kind == "missing_signature":
        return body, {k: v for k, v in good.items() if k != "X-Slack-Signature"}
    if kind == "missing_timestamp":
        return body, {k: v for k, v in good.items() if k != "X-Slack-Request-Timestamp"}
    if kind == "missing_both":
        return body, {"Content-Type": good["Content-Type"]}
    raise AssertionError(kind)


def parses(body: str, headers: dict[str, str]) -> bool:
    if headers.get("Content-Type") != sr.JSON_CONTENT_TYPE:
        return True
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


@PROPERTY
@given(
    body=bodies,
    kind=st.sampled_from(BAD_SIGNING),
    secret=st.text(min_size=1, max_size=40).filter(lambda s: s != SIGNING_SECRET),
    skew=st.integers(min_value=1, max_value=10 * 365 * 24 * 3600),
    junk=st.text(alphabet="abcdefxyz0123456789", max_size=20),
)
async def test_unauthenticated_requests_are_rejected_and_change_nothing(
    harness: Harness, body: str, kind: str, secret: str, skew: int, junk: str
) -> None:
    sent, headers = bad_headers(kind, body, secret, skew, junk)
    status, _ = await harness.driver.post_raw(sent, headers)
    await harness.driver.settle()
    # rejected, whatever the body, before Bolt parses it
    assert status == 401, (kind, sent[:80])
    assert harness.slack.calls() == []
    assert harness.slack.response_posts() == []
    assert redis_keys(harness) == []


@pytest.mark.parametrize("timestamp", ["now", "", "1.5e9", "0x10"])
async def test_a_non_numeric_timestamp_is_rejected_with_401(
    harness: Harness, timestamp: str
) -> None:
    body = _command_body("declare Forged")
    headers = {**sr.signed_headers(SIGNING_SECRET, body), "X-Slack-Request-Timestamp": timestamp}
    status, _ = await harness.driver.post_raw(body, headers)
    await harness.driver.settle()
    assert harness.slack.calls("conversations.create") == []
    assert redis_keys(harness) == []
    assert status == 401


@pytest.mark.parametrize("body", ["{", '{"type": "event_callback"} trailing', "{not json}"])
async def test_an_unsigned_malformed_json_body_is_rejected_with_401(
    harness: Harness, body: str
) -> None:
    headers = sr.signed_headers("not-the-secret", body)
    status, _ = await harness.driver.post_raw(body, headers)
    await harness.driver.settle()
    assert harness.slack.calls() == [] and redis_keys(harness) == []
    assert status == 401


async def test_a_replayed_request_is_rejected_once_it_is_older_than_five_minutes(
    harness: Harness,
) -> None:
    channel = await harness.declare(user=ALICE)
    body = sr.slash_command(
        "/incident", "note captured", ALICE, channel, harness.slack.new_response_url(channel),
        "trig-replay",
    )
    captured = sr.signed_headers(SIGNING_SECRET, body, timestamp=int(time.time()) - 297)
    status, _ = await harness.driver.post_raw(body, captured)
    await harness.driver.settle()
    assert status == 200
    await asyncio.sleep(4.5)  # the captured request is now more than 5 minutes old
    calls_before = len(harness.slack.calls())
    status, _ = await harness.driver.post_raw(body, captured)
    await harness.driver.settle()
    assert status == 401
    assert len(harness.slack.calls()) == calls_before
    incident = await incident_of(harness, channel)
    notes = [e for e in await harness.store.events(incident.id) if e[1].kind.value == "note"]
    assert [n[1].text for n in notes] == ["captured"]


async def test_a_valid_request_is_accepted(harness: Harness) -> None:
    """Control for the property above: the same path with a good signature works."""
    reply = await harness.driver.command("list", user=ALICE, channel=harness.incidents_id)
    assert reply.status == 200 and "No open incidents" in reply.text


AM_TOKEN = "am-secret-token"


@pytest.fixture
async def alert_bot(slack: SlackEmulator, redis_url: str) -> AsyncIterator[Harness]:
    async with running_bot(slack, redis_url, alertmanager_token=AM_TOKEN) as h:
        yield h


def _alert_payload(name: str, severity: str) -> str:
    alert = {
        "status": "firing",
        "labels": {"alertname": name or "X", "severity": severity, "service": "api-server"},
        "annotations": {"summary": name},
        "startsAt": "2026-11-23T14:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": "abc123",
    }
    return json.dumps(
        {"version": "4", "status": "firing", "receiver": "incident-bot", "groupKey": "{}:{}",
         "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
         "externalURL": "http://alertmanager:9093", "alerts": [alert]}
    )


visible = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40
)
AM_AUTH = st.one_of(
    st.none(),  # no Authorization header
    st.just(""),
    visible.filter(lambda t: t != AM_TOKEN).map(lambda t: f"Bearer {t}"),
    st.just(f"Basic {AM_TOKEN}"),
    st.just(AM_TOKEN),  # no scheme
    st.sampled_from([f"Bearer {AM_TOKEN}x", f"Bearer x{AM_TOKEN}", f"Bearer {AM_TOKEN[:-1]}"]),
    st.just("Bearer "),
)


@PROPERTY
@given(
    body=st.one_of(
        st.builds(_alert_payload, st.text(max_size=60), st.sampled_from(["critical", "warning"])),
        st.text(max_size=300),
    ),
    auth=AM_AUTH,
)
async def test_alertmanager_without_the_bearer_token_is_rejected_and_changes_nothing(
    alert_bot: Harness, body: str, auth: str | None
) -> None:
    headers = {"Content-Type": "application/json"}
    if auth is not None:
        headers["Authorization"] = auth
    status, _ = await _post_to(f"{alert_bot.url}/alertmanager", body, headers)
    await alert_bot.driver.settle()
    assert status == 401, auth
    assert alert_bot.slack.calls() == []
    assert redis_keys(alert_bot) == []


async def _post_to(url: str, body: str, headers: dict[str, str]) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session,
        session.post(url, data=body.encode(), headers=headers) as resp,
    ):
        return resp.status, await resp.text()


# --- permissions -------------------------------------------------------------------


REFUSED = "Only the incident commander"


async def test_only_the_ic_may_resolve_close_reassign_or_change_a_resolved_severity(
    harness: Harness,
) -> None:
    d = harness.driver
    channel = await harness.declare(user=ALICE)
    for text in ("resolve done", f"role ic <@{BOB}>", f"role ic <@{CHARLIE}>"):
        reply = await d.command(text, user=BOB, channel=channel)
        assert REFUSED in reply.text
    incident = await incident_of(harness, channel)
    assert incident.status is Status.INVESTIGATING and incident.roles[Role.IC] == ALICE

    # anyone may change the severity of an active incident; nobody but the IC once resolved
    await d.command("severity 3", user=BOB, channel=channel)
    await d.command("resolve fixed", user=ALICE, channel=channel)
    for text in ("severity 1", "close", f"role ic <@{BOB}>", "status investigating"):
        reply = await d.command(text, user=BOB, channel=channel)
        assert REFUSED in reply.text, (text, reply.text)
    incident = await incident_of(harness, channel)
    assert incident.status is Status.RESOLVED and incident.severity is Severity.SEV3
    assert incident.roles[Role.IC] == ALICE
    kinds = [e.event.kind.value for e in await harness.store.timeline(incident.id)]
    assert [k for k in kinds if k != "note"] == ["declared", "severity", "resolved"]

    await d.command("severity 1", user=ALICE, channel=channel)
    await d.command("close", user=ALICE, channel=channel)
    incident = await incident_of(harness, channel)
    assert incident.severity is Severity.SEV1 and incident.status is Status.CLOSED


async def test_members_of_the_admin_usergroup_may_act_as_ic(
    slack: SlackEmulator, redis_url: str
) -> None:
    async with running_bot(slack, redis_url, admin_usergroup="S0ONCALL") as h:
        d = h.driver
        channel = await h.declare(user=DIANA)  # Diana is IC, in no group
        # Charlie is not in S0ONCALL: refused everywhere
        for text in ("resolve", f"role ic <@{CHARLIE}>"):
            reply = await d.command(text, user=CHARLIE, channel=channel)
            assert REFUSED in reply.text and "admin" in reply.text
        assert (await incident_of(h, channel)).roles[Role.IC] == DIANA

        # Bob is in S0ONCALL: may reassign the IC, resolve, change severity, close
        await d.command(f"role ic <@{CHARLIE}>", user=BOB, channel=channel)
        assert (await incident_of(h, channel)).roles[Role.IC] == CHARLIE
        await d.command("resolve by an admin", user=BOB, channel=channel)
        assert (await incident_of(h, channel)).status is Status.RESOLVED
        refused = await d.command("severity 1", user=DIANA, channel=channel)
        assert REFUSED in refused.text
        await d.command("severity 1", user=BOB, channel=channel)
        assert (await incident_of(h, channel)).severity is Severity.SEV1
        refused = await d.command("close", user=DIANA, channel=channel)
        assert REFUSED in refused.text
        await d.command("close", user=BOB, channel=channel)
        assert (await incident_of(h, channel)).status is Status.CLOSED
        assert slack.calls("usergroups.users.list"), "admin membership read from Slack"


# --- input limits and markup injection ------------------------------------------------


def posted_texts(slack: SlackEmulator) -> list[str]:
    """Every piece of mrkdwn the bot sent: message text (incl. the fallback text of block
    messages), mrkdwn blocks, topics, DMs and response_url replies."""
    texts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
                texts.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for call in slack.calls():
        args = call.args
        for field_name in ("text", "topic", "purpose"):
            if isinstance(args.get(field_name), str):
                texts.append(args[field_name])
        blocks = args.get("blocks")
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        walk(blocks)
    for response in slack.responses():
        if isinstance(response.get("text"), str):
            texts.append(response["text"])
        walk(response.get("blocks"))
    return texts


def assert_neutral(texts: list[str], raw: list[str]) -> None:
    for text in texts:
        for bad in raw:
            assert bad not in text, f"{bad!r} echoed raw in {text!r}"


async def test_very_long_titles_are_refused_and_long_notes_are_cut(harness: Harness) -> None:
    d = harness.driver
    reply = await d.command("declare " + "x" * 1000, user=ALICE, channel=harness.incidents_id)
    assert "too long" in reply.text and "150" in reply.text
    reply = await d.command("declare " + "x" * 5000, user=ALICE, channel=harness.incidents_id)
    assert "too long" in reply.text and "3000" in reply.text
    assert not harness.slack.calls("conversations.create")
    channel = await harness.declare("A" * 150, user=ALICE)
    await d.command("note " + "n" * 2900, user=ALICE, channel=channel)
    await d.message(user=BOB, channel=channel, text="m" * 10_000)
    reply = await d.command("timeline all", user=BOB, channel=channel)
    assert "n" * 500 not in reply.text and "n" * 400 in reply.text and "…" in reply.text
    assert "m" * 500 not in reply.text and "m" * 400 in reply.text
    for text in posted_texts(harness.slack):
        assert len(text) < 4000


async def test_odd_unicode_is_kept_readable_without_bidi_or_zero_width(harness: Harness) -> None:
    d = harness.driver
    title = " ".join(ODD_UNICODE)
    channel = await harness.declare(title, user=ALICE)
    await d.command("note " + title, user=ALICE, channel=channel)
    await d.message(user=BOB, channel=channel, text=title)
    listed = await d.command("list", user=BOB, channel=harness.incidents_id)
    timeline = await d.command("timeline all", user=BOB, channel=channel)
    announcement = harness.slack.messages("incidents")[-1].text
    for shown in (listed.text, announcement):
        assert "\U0001f525" in shown and "caf\u00e9" in shown and "evil" in shown
        assert not any(c in shown for c in BIDI_AND_ZERO_WIDTH), repr(shown)
    # notes and messages (people's words) in the timeline
    note_lines = [line for line in timeline.text.splitlines() if "\U0001f525" in line]
    assert len(note_lines) >= 2
    for line in note_lines[-2:]:
        assert not any(c in line for c in BIDI_AND_ZERO_WIDTH), repr(line)
    assert harness.slack.channel(channel).name.isascii()


@pytest.mark.parametrize("injection", INJECTIONS)
async def test_markup_in_notes_messages_and_titles_is_neutralised_in_list_and_announcement(
    harness: Harness, injection: str
) -> None:
    d = harness.driver
    channel = await harness.declare(f"{injection} api down", user=ALICE)
    await d.command(f"note {injection} in a note", user=ALICE, channel=channel)
    await d.message(user=BOB, channel=channel, text=f"{injection} in a message")
    listed = await d.command("list", user=BOB, channel=harness.incidents_id)
    note_and_message = await d.command("timeline all", user=BOB, channel=channel)
    announcement = harness.slack.messages("incidents")[-1].text
    escaped = injection.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert escaped in announcement and escaped in listed.text
    assert_neutral([announcement, listed.text, harness.slack.channel(channel).topic], [injection])
    people = [
        line for line in note_and_message.text.splitlines()
        if "in a note" in line or "in a message" in line
    ]
    assert len(people) == 2 and all(escaped in line for line in people)
    assert_neutral(people, [injection])


async def test_markup_in_a_title_is_neutralised_in_the_timeline(harness: Harness) -> None:
    channel = await harness.declare("<!channel> api down", user=ALICE)
    reply = await harness.driver.command("timeline", user=BOB, channel=channel)
    assert "Incident declared" in reply.text
    assert "<!channel>" not in reply.text


async def test_markup_in_a_resolve_summary_is_neutralised_in_the_timeline(
    harness: Harness,
) -> None:
    channel = await harness.declare("api down", user=ALICE)
    await harness.driver.command("resolve <!here> rolled back", user=ALICE, channel=channel)
    reply = await harness.driver.command("timeline", user=BOB, channel=channel)
    assert "Resolved" in reply.text
    assert "<!here>" not in reply.text


async def test_markup_in_a_title_is_neutralised_in_the_header_message(harness: Harness) -> None:
    channel = await harness.declare("<!channel> api down", user=ALICE)
    incident = await incident_of(harness, channel)
    header_calls = [
        c for c in harness.slack.calls("chat.postMessage") if c.args.get("channel") == channel
    ]
    assert header_calls and incident.header_ts
    assert_neutral(posted_texts(harness.slack), ["<!channel>"])
