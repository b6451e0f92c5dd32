"""Drives the bot the way Slack does: signed requests to its real HTTP endpoint.

Used by the tests and by the local demo. Runs in the bot's event loop, so `settle()` can
wait for the work the bot does after acknowledging (Bolt runs it as background tasks)."""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from sandbox import slack_requests as sr
from sandbox.slack_emulator import SlackEmulator

_trigger_seq = itertools.count(1)


@dataclass
class Reply:
    """What the caller of a command saw: the HTTP ack and the responses via response_url."""

    status: int
    ack: dict[str, Any]
    responses: list[dict[str, Any]] = field(default_factory=list)

    @property
    def text(self) -> str:
        """Everything the caller was shown, ack first."""
        parts = [str(self.ack.get("text", ""))] + [str(r.get("text", "")) for r in self.responses]
        return "\n".join(p for p in parts if p)

    @property
    def ephemeral(self) -> bool:
        kinds = {self.ack.get("response_type")} | {r.get("response_type") for r in self.responses}
        return "in_channel" not in kinds


class SlackDriver:
    def __init__(self, *, endpoint: str, signing_secret: str, emulator: SlackEmulator) -> None:
        self.endpoint = endpoint
        self.secret = signing_secret
        self.emulator = emulator

    async def _post(
        self, body: str, headers: dict[str, str] | None = None, *, timestamp: int | None = None
    ) -> tuple[int, str]:
        all_headers = sr.signed_headers(self.secret, body, timestamp=timestamp)
        all_headers.update(headers or {})
        connector = aiohttp.TCPConnector(force_close=True)
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            session.post(self.endpoint, data=body.encode(), headers=all_headers) as resp,
        ):
            return resp.status, await resp.text()

    async def post_raw(self, body: str, headers: dict[str, str]) -> tuple[int, str]:
        """Send exactly these headers (for forged or stale signatures)."""
        connector = aiohttp.TCPConnector(force_close=True)
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            session.post(self.endpoint, data=body.encode(), headers=headers) as resp,
        ):
            return resp.status, await resp.text()

    async def command(
        self,
        text: str,
        *,
        user: str,
        channel: str,
        command: str = "/incident",
        settle: bool = True,
        channel_name: str | None = None,
    ) -> Reply:
        response_url = self.emulator.new_response_url(channel, user)
        trigger_id = f"trig-{next(_trigger_seq)}"
        known = self.emulator.channel(channel)
        body = sr.slash_command(
            command, text, user, channel, response_url, trigger_id,
            channel_name=channel_name or (known.name if known else "incidents"),
        )
        status, raw = await self._post(body)
        if settle:
            await self.settle()
        ack: dict[str, Any] = {}
        if raw.strip().startswith("{"):
            ack = json.loads(raw)
        elif raw.strip():
            ack = {"text": raw}
        return Reply(status=status, ack=ack, responses=self.emulator.responses(response_url))

    async def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        settle: bool = True,
    ) -> int:
        body = sr.event_callback(event, event_id=event_id)
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        status, _ = await self._post(body, headers)
        if settle:
            await self.settle()
        return status

    async def message(
        self, *, user: str, channel: str, text: str, event_id: str | None = None
    ) -> str:
        """A person says something in a channel; returns the message ts."""
        ts = self.emulator.post_as_user(channel, user, text)
        await self.event(
            {"type": "message", "channel": channel, "user": user, "text": text, "ts": ts,
             "channel_type": "channel", "event_ts": ts},
            event_id=event_id,
        )
        return ts

    async def click(
        self, action_id: str, value: str, *, user: str, channel: str, message_ts: str,
        block_id: str = "actions", action_type: str = "button",
    ) -> Reply:
        """A button click (or, with `action_type="datepicker"`, a day picked: `value`)."""
        response_url = self.emulator.new_response_url(channel, user)
        body = sr.block_actions(
            action_id, value, user, channel, message_ts, response_url,
            f"trig-{next(_trigger_seq)}", block_id=block_id, action_type=action_type,
        )
        status, _ = await self._post(body)
        await self.settle()
        return Reply(status=status, ack={}, responses=self.emulator.responses(response_url))

    async def submit_view(
        self,
        callback_id: str,
        values: dict[str, dict[str, Any]],
        *,
        user: str,
        private_metadata: str = "",
    ) -> tuple[int, str]:
        body = sr.view_submission(callback_id, values, user, private_metadata)
        result = await self._post(body)
        await self.settle()
        return result

    async def settle(self, timeout: float = 15.0) -> None:
        """Wait until the bot's background work (started by the last request) is done."""
        current = asyncio.current_task()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            pending = [
                t for t in asyncio.all_tasks()
                if t is not current and not t.done() and _is_bot_work(t)
            ]
            if not pending:
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"bot work still running after {timeout}s: {pending}")
            await asyncio.wait(pending, timeout=remaining)


def _is_bot_work(task: asyncio.Task[Any]) -> bool:
    """Background listener tasks Bolt started; long-lived server tasks are not waited for."""
    coro = task.get_coro()
    name = getattr(coro, "__qualname__", "") or ""
    return "run_ack_function_asynchronously" in name or "_bot_task" in task.get_name()
