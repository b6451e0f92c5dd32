"""What Slack sends, parsed by us before Bolt dispatches it, for HTTP and Socket Mode alike.

slack-bolt 1.x's `parse_body` treats any form body containing the substring "payload" as an
interactivity request; a slash command whose text or channel name says "payload" then has
no `payload` field, parses to `{}` and gets a 404. Here a form body is interactivity only
when it has a `payload` field, and a body that is not what Slack sends is a 400, never a 500.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

import structlog
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import send_async_response
from slack_bolt.adapter.socket_mode.internals import build_headers
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

log = structlog.get_logger(__name__)

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


class MalformedBody(ValueError):
    """The body is not a Slack request (answered 400 with this message)."""


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise MalformedBody(f"{what} is not valid JSON") from exc
    if not isinstance(data, dict):
        raise MalformedBody(f"{what} is not a JSON object")
    return data


def parse_body(raw: str, content_type: str | None) -> dict[str, Any]:
    """Slack's request body as a dict: JSON (Events API), a form with a `payload` field
    (interactivity: its JSON) or a plain form (slash commands)."""
    if not raw:
        return {}
    media = (content_type or "").split(";")[0].strip().lower()
    if media == JSON or (media != FORM and raw.lstrip().startswith("{")):
        return _json_object(raw, "the body")
    fields = dict(parse_qsl(raw, keep_blank_values=True))
    if "payload" in fields:
        return _json_object(fields["payload"], "the payload field")
    return fields


class ParsedRequest(AsyncBoltRequest):
    """A Bolt request whose body we parsed; the raw body is kept for signature checks."""

    def __init__(
        self,
        *,
        raw_body: str,
        body: dict[str, Any],
        query: str | Mapping[str, Sequence[str]] | None = None,
        headers: Mapping[str, str | Sequence[str]] | None = None,
        context: dict[str, Any] | None = None,
        mode: str = "http",
    ) -> None:
        # Bolt takes a dict body only in Socket Mode; in HTTP mode it would re-parse the text
        super().__init__(
            body=body,
            query=query,  # type: ignore[arg-type]
            headers=dict(headers) if headers is not None else None,
            context=context,
            mode="socket_mode",
        )
        self.raw_body = raw_body
        self.mode = mode

    def to_copyable(self) -> AsyncBoltRequest:
        return ParsedRequest(
            raw_body=self.raw_body,
            body=self.body,
            query=self.query,
            headers=self.headers,
            context=self.context.to_copyable(),
            mode=self.mode,
        )


def http_request(
    raw: str, headers: Mapping[str, str], query: str | None = None
) -> ParsedRequest:
    """The Bolt request for an HTTP POST to /slack/events (raises MalformedBody)."""
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    return ParsedRequest(
        raw_body=raw, body=parse_body(raw, content_type), query=query, headers=headers
    )


def socket_mode_request(req: SocketModeRequest) -> ParsedRequest:
    """The Bolt request for a Socket Mode envelope: its payload is already a parsed dict."""
    payload = req.payload if isinstance(req.payload, dict) else {}
    return ParsedRequest(
        raw_body="",
        body=payload,
        headers=build_headers(req),
        mode="socket_mode",
    )


def events_endpoint(app: AsyncApp) -> Any:
    """aiohttp handler for POST /slack/events: our parse, then Bolt's dispatch."""

    async def slack_events(request: web.Request) -> web.Response:
        raw = await request.text()
        try:
            bolt_request = http_request(raw, dict(request.headers), request.query_string)
        except MalformedBody as exc:
            log.info("slack_body_malformed", reason=str(exc))
            return web.Response(status=400, text=f"malformed request body: {exc}")
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    return slack_events


class SocketModeHandler(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler, dispatching through the same request builder as HTTP."""

    async def handle(
        self, client: AsyncBaseSocketModeClient, req: SocketModeRequest
    ) -> None:
        start = time.time()
        bolt_response = await self.app.async_dispatch(socket_mode_request(req))
        await send_async_response(client, req, bolt_response, start)
