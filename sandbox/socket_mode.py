"""Slack's side of Socket Mode, locally: a WebSocket server the emulator hands out through
`apps.connections.open`, following Slack's published protocol
(https://api.slack.com/apis/connections/socket-implement):

* `apps.connections.open` takes an app-level token (`xapp-`, scope `connections:write`) and
  answers a one-time `wss://…/link/?ticket=…` URL (here `ws://127.0.0.1:<port>/link/?…`).
* On connect Slack sends `{"type": "hello", "num_connections", "connection_info",
  "debug_info"}`.
* Every request comes as an envelope `{"envelope_id", "type": "events_api" |
  "slash_commands" | "interactive", "payload", "accepts_response_payload"}`
  (`events_api` also carries `retry_attempt` and `retry_reason`). The app acknowledges
  with `{"envelope_id"}` (plus `"payload"` when `accepts_response_payload`). An Events API
  envelope not acknowledged in time is delivered again with `retry_attempt` + 1.
* `{"type": "disconnect", "reason": "refresh_requested" | "warning" | "link_disabled"}`
  asks the app to open a new connection (a fresh `apps.connections.open`); the old one is
  closed once the new one said hello.

The server runs on the emulator's event loop (its own thread); the methods meant for tests
(`deliver`, `disconnect`, `wait_connected`) are coroutines that can be awaited from any
other event loop."""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

T = TypeVar("T")
ACK_TIMEOUT_SECONDS = 3.0
DISCONNECT_REASONS = ("refresh_requested", "warning", "link_disabled")


@dataclass
class Connection:
    id: int
    ws: web.WebSocketResponse
    ticket: str
    acks: list[dict[str, Any]] = field(default_factory=list)
    refreshing: bool = False  # a disconnect was sent: close once a newer one said hello


@dataclass
class Delivery:
    """One envelope and what became of it: the ack frame (None: never acknowledged)."""

    envelope: dict[str, Any]
    ack: dict[str, Any] | None
    attempts: int

    @property
    def payload(self) -> dict[str, Any] | None:
        return self.ack.get("payload") if self.ack else None


class SocketModeStandIn:
    def __init__(self, app_id: str = "A0APP") -> None:
        self.app_id = app_id
        self.loop: asyncio.AbstractEventLoop | None = None
        self.base_ws_url = ""
        self._tickets: set[str] = set()
        self.connections: list[Connection] = []
        self.closed_connections: list[Connection] = []
        self.frames: list[dict[str, Any]] = []  # everything the app sent us
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def reset(self) -> None:
        """Forget the closed connections and the frames received (a test's start); the
        connection ids keep counting, so an id is never reused."""
        with self._lock:
            self.closed_connections.clear()
            self.frames.clear()

    # --- emulator side (its loop) ---------------------------------------------------------

    def attach(self, loop: asyncio.AbstractEventLoop, base_url: str) -> None:
        self.loop = loop
        self.base_ws_url = base_url.replace("http://", "ws://", 1)

    def open_url(self) -> str:
        """A new one-time URL (what `apps.connections.open` answers)."""
        ticket = secrets.token_hex(16)
        with self._lock:
            self._tickets.add(ticket)
        return f"{self.base_ws_url}/link/?ticket={ticket}&app_id={self.app_id}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        with self._lock:
            valid = ticket in self._tickets
            self._tickets.discard(ticket)
        if not valid:  # tickets are single-use, as Slack's are
            return web.Response(status=401, text="invalid or used ticket")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = Connection(next(self._ids), ws, ticket)
        older = list(self.connections)
        self.connections.append(conn)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self.connections),
                "debug_info": {
                    "host": "applink-standin",
                    "approximate_connection_time": 3600,
                },
                "connection_info": {"app_id": self.app_id},
            }
        )
        # a refresh: the old connections go once the new one is up
        for old in older:
            if old.refreshing:
                await self._close(old)
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(message.data)
                self.frames.append(frame)
                conn.acks.append(frame)
                envelope_id = frame.get("envelope_id")
                waiter = self._waiting.pop(str(envelope_id), None) if envelope_id else None
                if waiter is not None and not waiter.done():
                    waiter.set_result(frame)
        finally:
            await self._close(conn)
        return ws

    async def _close(self, conn: Connection) -> None:
        if conn in self.connections:
            self.connections.remove(conn)
            self.closed_connections.append(conn)
        if not conn.ws.closed:
            await conn.ws.close()

    async def _deliver(
        self, envelope: dict[str, Any], timeout: float, retries: int
    ) -> Delivery:
        attempts = 0
        while True:
            attempts += 1
            if not self.connections:
                raise RuntimeError("no Socket Mode connection is open")
            conn = self.connections[-1]
            assert self.loop is not None
            waiter: asyncio.Future[dict[str, Any]] = self.loop.create_future()
            self._waiting[envelope["envelope_id"]] = waiter
            await conn.ws.send_json(envelope)
            try:
                ack = await asyncio.wait_for(waiter, timeout)
                return Delivery(envelope, ack, attempts)
            except TimeoutError:
                self._waiting.pop(envelope["envelope_id"], None)
                if envelope["type"] != "events_api" or attempts > retries:
                    return Delivery(envelope, None, attempts)
                envelope = {
                    **envelope,
                    "retry_attempt": attempts,
                    "retry_reason": "timeout",
                }

    async def _disconnect(self, reason: str) -> None:
        for conn in list(self.connections):
            conn.refreshing = True
            await conn.ws.send_json(
                {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-standin"}}
            )

    # --- test side (any loop) -------------------------------------------------------------

    async def _on_emulator_loop(self, coro: Coroutine[Any, Any, T]) -> T:
        assert self.loop is not None, "the emulator is not started"
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    async def deliver(
        self, envelope: dict[str, Any], *, timeout: float = ACK_TIMEOUT_SECONDS, retries: int = 0
    ) -> Delivery:
        """Send an envelope on the newest connection and wait for its ack; Events API
        envelopes not acknowledged in `timeout` are re-sent up to `retries` times."""
        return await self._on_emulator_loop(self._deliver(envelope, timeout, retries))

    async def disconnect(self, reason: str = "refresh_requested") -> None:
        if reason not in DISCONNECT_REASONS:
            raise ValueError(f"Slack sends no disconnect reason {reason!r}")
        await self._on_emulator_loop(self._disconnect(reason))

    async def wait_connected(self, count: int = 1, *, after: int = 0, timeout: float = 20) -> None:
        """Until `count` connections are open, the newest with an id above `after`."""

        async def until() -> None:
            while not (
                len(self.connections) >= count and self.connections[-1].id > after
            ):
                await asyncio.sleep(0.02)

        await asyncio.wait_for(self._on_emulator_loop(until()), timeout)

    @property
    def last_connection_id(self) -> int:
        return self.connections[-1].id if self.connections else 0


_envelope_ids = itertools.count(1)


def envelope(body: str | dict[str, Any], *, retry_attempt: int = 0) -> dict[str, Any]:
    """The envelope Slack sends over the socket instead of an HTTP POST with `body`
    (a JSON event, an interactivity form with `payload=`, or a slash command form)."""
    envelope_id = f"{secrets.token_hex(4)}-{next(_envelope_ids):06d}"
    if isinstance(body, dict) or body.lstrip().startswith("{"):
        payload = body if isinstance(body, dict) else json.loads(body)
        return {
            "envelope_id": envelope_id,
            "type": "events_api",
            "payload": payload,
            "accepts_response_payload": False,
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }
    fields = dict(parse_qsl(body, keep_blank_values=True))
    if "payload" in fields:
        return {
            "envelope_id": envelope_id,
            "type": "interactive",
            "payload": json.loads(fields["payload"]),
            "accepts_response_payload": True,
        }
    return {
        "envelope_id": envelope_id,
        "type": "slash_commands",
        "payload": fields,
        "accepts_response_payload": True,
    }
