"""The corpus of real Slack payloads (tests/fixtures/slack/) and two ways to deliver one:
signed over HTTP to /slack/events, or as a Socket Mode envelope over a real WebSocket (the
emulator's Socket Mode stand-in, sandbox/socket_mode.py) to the bot's Socket Mode handler.
Both give back an `Outcome`, so a test can hold them to the same answer."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bot.slack.inbound import SocketModeHandler
from sandbox import slack_requests as sr
from sandbox.socket_mode import envelope
from tests.conftest import Harness

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "slack"
WAR_ROOM = "C0WARROOM"  # the corpus's name for the channel the payload is about
TRANSPORTS = ["http", "socket"]


@dataclass(frozen=True)
class Fixture:
    name: str
    transport: str  # events | command | interactive | envelope (a Socket Mode envelope)
    wrap: str | None
    body: dict[str, Any]
    source: dict[str, str]


def fixture_names() -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob("*.json"))


def load(name: str) -> Fixture:
    data = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return Fixture(name, data["transport"], data["wrap"], data["body"], data["source"])


def localize(fixture: Fixture, *, channel: str, response_url: str) -> dict[str, Any]:
    """The fixture in this test's workspace: the war room's real id, an emulator response
    URL, and a fresh event_id / envelope_id (Slack gives each delivery its own)."""
    text = json.dumps(fixture.body).replace(WAR_ROOM, channel)
    body: dict[str, Any] = json.loads(text.replace("$RESPONSE_URL", response_url))
    inner = body.get("payload", body) if fixture.transport == "envelope" else body
    if isinstance(inner, dict) and "event_id" in inner:
        inner["event_id"] = f"Ev{uuid.uuid4().hex[:10].upper()}"
    if "envelope_id" in body:
        body["envelope_id"] = str(uuid.uuid4())
    return body


HTTP_OF_ENVELOPE = {"slash_commands": "command", "interactive": "interactive",
                    "events_api": "events"}


def render(fixture: Fixture, *, channel: str, response_url: str) -> str:
    """The HTTP body Slack would POST for the fixture (for an envelope: for its payload)."""
    body = localize(fixture, channel=channel, response_url=response_url)
    transport = fixture.transport
    if transport == "envelope":
        transport, body = HTTP_OF_ENVELOPE[body["type"]], body["payload"]
    if transport == "command":
        return urlencode(body)
    if fixture.transport == "interactive":
        return urlencode({"payload": json.dumps(body)})
    if fixture.wrap == "event_callback":
        return sr.event_callback(body)
    return json.dumps(body)


@dataclass(frozen=True)
class Outcome:
    """What Slack got back: acknowledged (HTTP 200 / a socket ack) and the ack's payload."""

    acknowledged: bool
    payload: dict[str, Any] | None
    status: int | None = None  # HTTP only


APP_TOKEN = "xapp-1-corpus-replay"


class Wire:
    """Delivers a body over one transport, then waits for the bot's background work."""

    def __init__(self, harness: Harness, transport: str) -> None:
        self.harness = harness
        self.transport = transport
        self._handler: SocketModeHandler | None = None

    async def open(self) -> Wire:
        """Socket Mode: the bot connects to the stand-in as it does to Slack."""
        if self.transport == "socket":
            stand_in = self.harness.slack.socket_mode
            self.harness.slack.add_app_token(APP_TOKEN)
            before = stand_in.last_connection_id
            self._handler = SocketModeHandler(self.harness.bot.app, APP_TOKEN)
            await self._handler.connect_async()
            await stand_in.wait_connected(after=before)
        return self

    async def close(self) -> None:
        if self._handler is not None:
            await self._handler.close_async()

    async def send(self, body: str) -> Outcome:
        if self._handler is not None:
            delivery = await self.harness.slack.socket_mode.deliver(envelope(body))
            await self.harness.driver.settle()
            return Outcome(delivery.ack is not None, delivery.payload)
        status, text = await self.harness.driver._post(body)
        await self.harness.driver.settle()
        payload: dict[str, Any] | None = None
        if text.strip().startswith("{"):
            payload = json.loads(text)
        elif text.strip():
            payload = {"text": text}
        return Outcome(status == 200, payload, status)

    async def send_fixture(self, name: str, *, channel: str) -> Outcome:
        fixture = load(name)
        response_url = self.harness.slack.new_response_url(channel)
        if self._handler is not None and fixture.transport == "envelope":  # as Slack sent it
            body = localize(fixture, channel=channel, response_url=response_url)
            delivery = await self.harness.slack.socket_mode.deliver(body)
            await self.harness.driver.settle()
            return Outcome(delivery.ack is not None, delivery.payload)
        return await self.send(render(fixture, channel=channel, response_url=response_url))
