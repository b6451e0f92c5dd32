"""Call links behind the Conference port, against the Zoom and Google stand-ins and through
the real bot: each adapter's happy path, refused credentials (not retried), 429 then
success, a timeout; a private incident's meeting named by its label only; one call per
incident; the link in the header, the topic and on the timeline; a provider that is down
only warns (the bridge stands in, or the worker retries); no secret in the logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.clock import ManualClock
from bot.conferencing.meet import GoogleMeet
from bot.conferencing.port import Conference
from bot.conferencing.zoom import ZoomConference
from bot.errors import IntegrationError
from bot.integrations.google import CALENDAR_SCOPE, ServiceAccount, ServiceAccountKey
from bot.settings import SettingsError, load_settings
from bot.timeline.models import EventKind
from sandbox.slack_emulator import SlackEmulator
from sandbox.standins.google import GoogleStandin
from sandbox.standins.zoom import ZoomStandin
from tests.conftest import Harness, running_bot

ALICE = "U0ALICE"
BRIDGE = "https://meet.acme.example/incident-bridge"


@pytest.fixture(scope="module")
def zoom() -> Iterator[ZoomStandin]:
    s = ZoomStandin().start()
    yield s  # type: ignore[misc]
    s.stop()


@pytest.fixture(scope="module")
def google() -> Iterator[GoogleStandin]:
    s = GoogleStandin().start()
    yield s  # type: ignore[misc]
    s.stop()


def zoom_adapter(s: ZoomStandin, secret: str | None = None) -> ZoomConference:
    return ZoomConference(account_id=s.account_id, client_id=s.client_id,
                          client_secret=secret or s.client_secret, api_url=s.base_url,
                          oauth_url=s.base_url, timeout=0.5, attempts=3, budget=5.0)


def meet_adapter(s: GoogleStandin, folder: Path, clock: ManualClock,
                 key: rsa.RSAPrivateKey | None = None) -> GoogleMeet:
    account = ServiceAccount(ServiceAccountKey.from_file(s.key_file(folder, key=key)),
                             CALENDAR_SCOPE, timeout=0.5)
    return GoogleMeet(account=account, calendar_id=s.calendar_id, clock=clock,
                      api_url=s.base_url, timeout=0.5)


@pytest.fixture(params=["zoom", "meet"])
def adapter(request: pytest.FixtureRequest, zoom: ZoomStandin, google: GoogleStandin,
            tmp_path: Path, clock: ManualClock) -> Iterator[tuple[Conference, object]]:
    zoom.reset()
    google.reset()
    if request.param == "zoom":
        yield zoom_adapter(zoom), zoom
    else:
        yield meet_adapter(google, tmp_path, clock), google


async def test_adapter_happy_path_and_429_then_success(
    adapter: tuple[Conference, ZoomStandin | GoogleStandin],
) -> None:
    conference, s = adapter
    meeting = await conference.create("INC-1 (SEV1): checkout down", request_id="INC-1")
    assert meeting.url.startswith("https://") and meeting.ref
    s.fail(429, retry_after="0")
    again = await conference.create("INC-2 (SEV1): search down", request_id="INC-2")
    assert again.url != meeting.url
    assert 429 in [c.status for c in s.calls]
    if isinstance(s, ZoomStandin):
        assert next(m["topic"] for m in s.meetings.values()) == "INC-1 (SEV1): checkout down"
        assert len([c for c in s.calls if c.path == "/oauth/token"]) == 1  # token reused
    else:
        [first, *_] = s.events.values()
        assert first["body"]["summary"] == "INC-1 (SEV1): checkout down"
    await conference.aclose()


async def test_adapter_timeout_is_retryable(
    adapter: tuple[Conference, ZoomStandin | GoogleStandin],
) -> None:
    conference, s = adapter
    s.fail(0, delay=1.0, times=10)
    with pytest.raises(IntegrationError) as err:
        await conference.create("x", request_id="INC-3")
    s.heal()
    assert err.value.retryable
    await conference.aclose()


async def test_refused_credentials_are_not_retried_nor_logged(
    zoom: ZoomStandin, google: GoogleStandin, tmp_path: Path, clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    zoom.reset()
    bad_zoom = zoom_adapter(zoom, secret="not-the-secret")
    with pytest.raises(IntegrationError) as err:
        await bad_zoom.create("x", request_id="INC-4")
    assert err.value.status == 401 and not err.value.retryable
    assert len(zoom.calls) == 1 and "credentials were refused" in err.value.message
    await bad_zoom.aclose()
    google.reset()
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    bad_meet = meet_adapter(google, tmp_path, clock, key=other_key)
    with pytest.raises(IntegrationError) as err:
        await bad_meet.create("x", request_id="INC-5")
    assert err.value.status == 401 and not err.value.retryable and len(google.calls) == 1
    await bad_meet.aclose()
    assert "not-the-secret" not in caplog.text and "PRIVATE KEY" not in caplog.text


async def test_meet_pending_conference_is_read_back(
    google: GoogleStandin, tmp_path: Path, clock: ManualClock,
) -> None:
    google.reset()
    meet = meet_adapter(google, tmp_path, clock)
    google.pending_next = True
    with pytest.raises(IntegrationError) as err:  # still pending after one read-back
        await meet.create("x", request_id="INC-6")
    assert err.value.retryable
    google.finish_pending()
    meeting = await meet.create("x", request_id="INC-6")  # a retry: the same conference
    assert len(set(google.conferences.values())) == 1 and meeting.url.startswith("https://meet")
    await meet.aclose()


async def incident_of(h: Harness, channel: str):  # type: ignore[no-untyped-def]
    incident = await h.bot.services.incidents.for_channel(channel)
    assert incident is not None
    return incident


async def test_sev2_opens_with_the_bridge_in_header_topic_and_timeline(
    slack: SlackEmulator, redis_url: str,
) -> None:
    async with running_bot(slack, redis_url, meeting_url=BRIDGE) as h:
        channel = await h.declare("Checkout 500s sev:2", user=ALICE)
        incident = await incident_of(h, channel)
        assert incident.call_url == BRIDGE and incident.link("call").provider == "bridge"
        topics = [c.args["topic"] for c in slack.calls("conversations.setTopic")
                  if c.args["channel"] == channel]
        assert topics == [topics[0]] and BRIDGE in topics[0]  # in the first topic, no redo
        [header] = [m for m in slack.messages(channel) if m.blocks]
        assert "Join the call" in str(header.blocks) and BRIDGE in str(header.blocks)
        events = [e.event for e in await h.store.timeline(incident.id)
                  if e.event.kind is EventKind.LINK]
        assert len(events) == 1 and BRIDGE in events[0].text
        quiet = await h.declare("Flaky test dashboard sev:3", user=ALICE)
        assert (await incident_of(h, quiet)).call_url is None  # below CALL_MIN_SEVERITY
        reply = await h.driver.command("call", user=ALICE, channel=quiet)
        assert BRIDGE in reply.text and reply.ephemeral
        again = await h.driver.command("call", user=ALICE, channel=channel)
        assert "New call" not in again.text and BRIDGE in again.text
        bad = await h.driver.command("call now please", user=ALICE, channel=channel)
        assert "/incident call" in bad.text


async def test_zoom_on_declare_a_private_incident_and_one_call_only(
    slack: SlackEmulator, redis_url: str, zoom: ZoomStandin, caplog: pytest.LogCaptureFixture,
) -> None:
    zoom.reset()
    caplog.set_level(logging.DEBUG)
    settings = {"zoom_account_id": zoom.account_id, "zoom_client_id": zoom.client_id,
                "zoom_client_secret": zoom.client_secret, "zoom_api_url": zoom.base_url,
                "zoom_oauth_url": zoom.base_url, "call_min_severity": "SEV1"}
    async with running_bot(slack, redis_url, **settings) as h:
        channel = await h.declare("Payments down sev:1", user=ALICE)
        incident = await incident_of(h, channel)
        assert incident.call_url and incident.call_url.startswith("https://zoom.example/j/")
        topics = [c.args["topic"] for c in slack.calls("conversations.setTopic")
                  if c.args["channel"] == channel]
        assert incident.call_url in topics[-1]
        headers = [c for c in slack.calls("chat.update") if c.args.get("channel") == channel]
        assert headers and incident.call_url in str(headers[-1].args.get("blocks"))
        await h.driver.command("call", user=ALICE, channel=channel)
        assert len(zoom.meetings) == 1  # never a second meeting for one incident
        before = set(slack.channel_ids())
        await h.driver.command("declare Payroll export leaked sev:1 private:yes", user=ALICE,
                               channel=h.incidents_id)
        [private] = [c for c in slack.channel_ids() if c not in before]
        assert (await incident_of(h, private)).call_url
        topics_sent = [m["topic"] for m in zoom.meetings.values()]
        assert topics_sent[1].startswith("Private incident INC-")
        assert "Payroll" not in str(zoom.calls)  # nothing but the label left Slack
    logged = caplog.text
    assert zoom.client_secret not in logged and "zt_" not in logged


async def test_zoom_down_warns_and_the_worker_retries(
    slack: SlackEmulator, redis_url: str, zoom: ZoomStandin, clock: ManualClock,
) -> None:
    zoom.reset()
    settings = {"zoom_account_id": zoom.account_id, "zoom_client_id": zoom.client_id,
                "zoom_client_secret": zoom.client_secret, "zoom_api_url": zoom.base_url,
                "zoom_oauth_url": zoom.base_url}
    async with running_bot(slack, redis_url, clock=clock, **settings) as h:
        zoom.fail(503, times=100)
        before = set(slack.channel_ids())
        reply = await h.driver.command("declare Search down sev:2", user=ALICE,
                                       channel=h.incidents_id)
        assert "could not make the Zoom call yet" in reply.text and "503" not in reply.text
        [reply_channel] = [c for c in slack.channel_ids() if c not in before]
        incident = await incident_of(h, reply_channel)
        assert incident.call_url is None and incident.header_ts  # declare went on
        calls = h.bot.services.calls
        assert calls is not None
        assert await calls.retry_due() == 0  # not due yet
        zoom.heal()
        clock.advance(timedelta(minutes=2))
        assert await calls.retry_due() == 1
        incident = await incident_of(h, reply_channel)
        assert incident.call_url and any(incident.call_url in m.text
                                         for m in slack.messages(reply_channel))
    async with running_bot(slack, redis_url, clock=clock, meeting_url=BRIDGE, **settings) as h:
        zoom.fail(401, times=1)  # refused: the bridge stands in at once
        zoom.revoke_tokens()
        channel = await h.declare("Queue stuck sev:2", user=ALICE)
        assert (await incident_of(h, channel)).call_url == BRIDGE


async def test_calls_absent_when_not_configured_and_half_configured_stops(
    harness: Harness, monkeypatch: pytest.MonkeyPatch,
) -> None:
    channel = await harness.declare("Checkout 500s sev:1", user=ALICE)
    assert (await incident_of(harness, channel)).call_url is None
    reply = await harness.driver.command("call", user=ALICE, channel=channel)
    assert "Calls are not configured" in reply.text
    helped = await harness.driver.command("help", user=ALICE, channel=channel)
    assert "/incident call" not in helped.text
    monkeypatch.setenv("ZOOM_ACCOUNT_ID", "acct")
    with pytest.raises(SettingsError, match="ZOOM_CLIENT_ID is required when ZOOM_ACCOUNT_ID"):
        load_settings()
    monkeypatch.delenv("ZOOM_ACCOUNT_ID")
    monkeypatch.setenv("GOOGLE_CALENDAR_ID", "primary")
    with pytest.raises(SettingsError, match="GOOGLE_SERVICE_ACCOUNT_FILE is required"):
        load_settings()
    monkeypatch.setenv("GOOGLE_SERVICE_ACCOUNT_FILE", "/nonexistent/key.json")
    with pytest.raises(SettingsError, match=r"GOOGLE_SERVICE_ACCOUNT_FILE.*cannot read"):
        load_settings()


async def test_meet_on_declare_names_a_private_incident_by_its_label(
    slack: SlackEmulator, redis_url: str, google: GoogleStandin, tmp_path: Path,
) -> None:
    google.reset()
    settings = {"google_calendar_id": google.calendar_id, "google_api_url": google.base_url,
                "google_service_account_file": str(google.key_file(tmp_path))}
    async with running_bot(slack, redis_url, **settings) as h:
        before = set(slack.channel_ids())
        await h.driver.command("declare Payroll export leaked sev:2 private:yes", user=ALICE,
                               channel=h.incidents_id)
        [channel] = [c for c in slack.channel_ids() if c not in before]
        incident = await incident_of(h, channel)
        assert incident.call_url and incident.call_url.startswith("https://meet.")
        [event] = google.events.values()
        assert event["body"]["summary"] == incident.public_label
        assert "Payroll" not in str(google.calls)  # nothing but the label left Slack
