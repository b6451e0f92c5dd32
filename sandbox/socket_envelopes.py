"""Drives the bot the way Slack does over Socket Mode, in process.

Slack sends over the WebSocket the same requests it would POST, wrapped in an envelope
(`events_api`, `slash_commands`, `interactive`) whose payload is already a parsed object.
`SocketModeDriver` turns an HTTP body into that envelope and hands it to the real
slack_sdk Socket Mode client's listener path (`run_message_listeners`), so the bot's
Socket Mode handler, Bolt's dispatch and the ack sent back all run as in production;
only the WebSocket itself is replaced by a list of the frames the bot sent."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient

_envelope_seq = itertools.count(1)


def envelope_for(body: str, *, retry_num: int | None = None) -> dict[str, Any]:
    """The Socket Mode envelope Slack sends instead of an HTTP POST of `body`."""
    envelope_id = f"env-{next(_envelope_seq):06d}"
    if body.lstrip().startswith("{"):
        payload = json.loads(body)
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": "events_api",
            "payload": payload,
            "accepts_response_payload": False,
            "retry_attempt": retry_num or 0,
            "retry_reason": "timeout" if retry_num else "",
        }
        return envelope
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


@dataclass
class SocketAck:
    """What the bot sent back on the socket for one envelope (None: nothing was sent)."""

    envelope_id: str
    payload: dict[str, Any] | None


class SocketModeDriver:
    """Feeds envelopes to a Socket Mode client's request listeners and records the acks."""

    def __init__(self, client: AsyncBaseSocketModeClient) -> None:
        self.client = client
        self.sent: list[dict[str, Any]] = []

        async def send_message(message: str) -> None:
            self.sent.append(json.loads(message))

        client.send_message = send_message  # type: ignore[method-assign]

    async def send(self, envelope: dict[str, Any]) -> SocketAck | None:
        before = len(self.sent)
        await self.client.run_message_listeners(envelope, json.dumps(envelope))
        for frame in self.sent[before:]:
            if frame.get("envelope_id") == envelope["envelope_id"]:
                return SocketAck(frame["envelope_id"], frame.get("payload"))
        return None

    async def send_body(self, body: str, *, retry_num: int | None = None) -> SocketAck | None:
        return await self.send(envelope_for(body, retry_num=retry_num))
