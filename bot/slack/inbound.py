"""What Slack sends, parsed by us before Bolt dispatches it, for HTTP and Socket Mode alike.

slack-bolt 1.x's `parse_body` treats any form body containing the substring "payload" as an
interactivity request; a slash command whose text or channel name says "payload" then has
no `payload` field, parses to `{}` and gets a 404. Here a form body is interactivity only
when it has a `payload` field, and a body that is not what Slack sends is a 400, never a 500.
"""

from __future__ import annotations

import time
import uuid
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Annotated, Any
from urllib.parse import parse_qsl

import orjson
import structlog
from aiohttp import web
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    ValidationError,
    model_validator,
)
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import send_async_response
from slack_bolt.adapter.socket_mode.internals import build_headers
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

log = structlog.get_logger(__name__)

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


class MalformedBody(ValueError):
    """The body is not a Slack request (answered 400 with this message)."""


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        data = orjson.loads(text)
    except ValueError as exc:  # orjson.JSONDecodeError is one
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


def _web_url(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError("not a web URL")
    return value


WebUrl = Annotated[StrictStr, AfterValidator(_web_url)]


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Ref(_Shape):
    id: StrictStr


class _Authorization(_Shape):
    team_id: StrictStr | None = None
    user_id: StrictStr | None = None
    enterprise_id: StrictStr | None = None


class _Common(_Shape):
    """Fields Bolt reads from every request to build its context (ids, where, who)."""

    user: StrictStr | _Ref | None = None
    channel: StrictStr | _Ref | None = None
    team: StrictStr | _Ref | None = None
    enterprise: StrictStr | _Ref | None = None
    user_id: StrictStr | None = None
    channel_id: StrictStr | None = None
    team_id: StrictStr | None = None
    enterprise_id: StrictStr | None = None
    is_enterprise_install: StrictBool | StrictStr | None = None
    response_url: WebUrl | None = None
    authorizations: list[_Authorization] | None = None


class SlashCommand(_Common):
    command: StrictStr
    text: StrictStr = ""
    user_id: StrictStr
    channel_id: StrictStr
    response_url: WebUrl  # every answer after the ack goes there
    trigger_id: StrictStr


class _Event(_Common):
    type: StrictStr
    ts: StrictStr | None = None
    event_ts: StrictStr | None = None
    thread_ts: StrictStr | None = None


class EventCallback(_Common):
    event: _Event
    event_id: StrictStr | None = None


class _Action(_Shape):
    action_id: StrictStr
    block_id: StrictStr | None = None
    type: StrictStr | None = None
    value: StrictStr | None = None
    selected_option: dict[str, Any] | None = None


class _Input(_Shape):
    """One input's value in a view's state, as Slack sends it for each element type."""

    type: StrictStr
    value: StrictStr | None = None
    selected_option: dict[str, Any] | None = None
    selected_options: list[dict[str, Any]] | None = None
    selected_user: StrictStr | None = None
    selected_users: list[StrictStr] | None = None
    selected_channel: StrictStr | None = None
    selected_conversation: StrictStr | None = None
    selected_date: StrictStr | None = None
    selected_time: StrictStr | None = None


class _ViewState(_Shape):
    values: dict[str, dict[str, _Input]]  # block_id -> action_id -> the input's value


class _View(_Shape):
    type: StrictStr  # modal, home, workflow_step: Bolt reads it for every view payload
    id: StrictStr | None = None
    callback_id: StrictStr | None = None
    private_metadata: StrictStr | None = None
    state: _ViewState | None = None


class Interaction(_Common):
    type: StrictStr
    user: StrictStr | _Ref
    view: _View | None = None
    container: dict[str, Any] | None = None
    message: dict[str, Any] | None = None
    trigger_id: StrictStr | None = None


class _SubmittedView(_View):
    callback_id: StrictStr
    state: _ViewState


class ViewSubmission(Interaction):
    view: _SubmittedView


class BlockActions(Interaction):
    actions: list[_Action] = Field(min_length=1)

    @model_validator(mode="after")
    def answerable(self) -> BlockActions:
        """A click on a message can always be answered: Slack sends its response_url."""
        on_message = (self.container or {}).get("type") == "message" or self.message is not None
        if on_message and not self.response_url:
            raise ValueError("a click on a message comes with its response_url")
        return self


INTERACTIONS: dict[str, type[_Shape]] = {
    "block_actions": BlockActions,
    "block_suggestion": Interaction,
    "view_submission": ViewSubmission,
    "view_closed": Interaction,
    "shortcut": Interaction,
    "message_action": Interaction,
}


def check_shape(body: dict[str, Any]) -> None:
    """The fields the bot and Bolt rely on have the types Slack sends (MalformedBody if not):
    a missing user or a number where an id belongs is refused before anything runs."""
    kind = body.get("type")
    model: type[_Shape] = _Common
    if "command" in body:
        model = SlashCommand
    elif kind == "event_callback":
        model = EventCallback
    elif isinstance(kind, str) and kind in INTERACTIONS:
        model = INTERACTIONS[kind]
    try:
        model.model_validate(body)
    except ValidationError as exc:
        wrong = sorted({".".join(str(p) for p in e["loc"][:3]) for e in exc.errors()})
        raise MalformedBody(f"missing or wrong fields: {', '.join(wrong[:5])}") from exc


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


def checked_body(raw: str, headers: Mapping[str, str]) -> dict[str, Any]:
    """The parsed, shape-checked body of an HTTP POST to /slack/events (raises
    MalformedBody)."""
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    body = parse_body(raw, content_type)
    check_shape(body)
    return body


def bolt_request(
    raw: str, body: dict[str, Any], headers: Mapping[str, str], query: str | None = None
) -> ParsedRequest:
    """The Bolt request for a checked HTTP body (raises MalformedBody)."""
    try:
        return ParsedRequest(raw_body=raw, body=body, query=query, headers=headers)
    except (TypeError, AttributeError, KeyError, ValueError) as exc:  # Bolt reading its context
        raise MalformedBody(f"fields Slack never sends ({type(exc).__name__})") from exc


def socket_mode_request(req: SocketModeRequest, payload: dict[str, Any]) -> ParsedRequest:
    """The Bolt request for a Socket Mode envelope whose checked payload is `payload`
    (raises MalformedBody like HTTP)."""
    try:
        return ParsedRequest(
            raw_body="", body=payload, headers=build_headers(req), mode="socket_mode"
        )
    except (TypeError, AttributeError, KeyError, ValueError) as exc:
        raise MalformedBody(f"fields Slack never sends ({type(exc).__name__})") from exc


BeforeBolt = Callable[[dict[str, Any]], Awaitable[BoltResponse | None]]
_BEFORE_BOLT: weakref.WeakKeyDictionary[AsyncApp, BeforeBolt] = weakref.WeakKeyDictionary()


def answer_before_bolt(app: AsyncApp, answer: BeforeBolt) -> None:
    """`answer(body)` sees each parsed, checked request (HTTP and Socket Mode) before Bolt;
    a response it returns is the answer and Bolt never sees the request. For what Bolt
    would only pass to one middleware that answers it: a person's plain message, stored
    before the ack (commands/timeline_events.py), skipping Bolt's context, authorization
    and argument building on the busiest path."""
    _BEFORE_BOLT[app] = answer


async def answered_before_bolt(app: AsyncApp, body: dict[str, Any]) -> BoltResponse | None:
    """The answer `answer_before_bolt` gives to this body, or None: Bolt's to dispatch."""
    answer = _BEFORE_BOLT.get(app)
    if answer is None:
        return None
    try:
        return await answer(body)
    except Exception as exc:  # as Bolt answers a middleware's failure: 500, Slack retries
        log.error("slack_request_failed", exc_info=exc)
        return BoltResponse(status=500, body="")


def _plain_response(response: BoltResponse) -> web.Response:
    """An answer made before Bolt (a status and a short text, no cookies) as aiohttp's."""
    return web.Response(status=response.status, text=response.body)


def events_endpoint(app: AsyncApp) -> Any:
    """aiohttp handler for POST /slack/events: our parse, then the answer before Bolt (a
    plain message: no Bolt request is built for it), else Bolt's dispatch."""

    async def slack_events(request: web.Request) -> web.Response:
        raw = await request.text()
        try:
            body = checked_body(raw, request.headers)
            early = await answered_before_bolt(app, body)  # answers its own failures
            if early is not None:
                return _plain_response(early)
            parsed = bolt_request(raw, body, dict(request.headers), request.query_string)
        except MalformedBody as exc:
            log.info("slack_body_malformed", reason=str(exc))
            return web.Response(status=400, text=f"malformed request body: {exc}")
        try:
            response = await app.async_dispatch(parsed)
        except Exception as exc:  # Bolt itself failed on a shape the checks above let by
            ref = uuid.uuid4().hex[:8]
            log.error("slack_body_unreadable", ref=ref, exc_info=exc)
            return web.Response(
                status=400, text=f"malformed request body: unreadable (reference {ref})"
            )
        return await to_aiohttp_response(response)

    return slack_events


class SocketModeHandler(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler, dispatching through the same request builder as HTTP."""

    async def handle(
        self, client: AsyncBaseSocketModeClient, req: SocketModeRequest
    ) -> None:
        start = time.time()
        try:  # its payload is already a parsed dict
            payload = req.payload if isinstance(req.payload, dict) else {}
            check_shape(payload)
            response = await answered_before_bolt(self.app, payload)
            if response is None:
                response = await self.app.async_dispatch(socket_mode_request(req, payload))
        except MalformedBody as exc:
            # acknowledged, so Slack does not deliver it again; nothing runs (HTTP: 400)
            log.info("slack_envelope_malformed", reason=str(exc), envelope_type=req.type)
            response = BoltResponse(status=200, body="")
        await send_async_response(client, req, response, start)
