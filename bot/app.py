"""Builds the Bolt app from ready services: listeners, event de-duplication, one error handler."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import structlog
from aiohttp import web
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

from bot.errors import StoreUnavailable
from bot.incidents.confirmations import PendingChanges
from bot.observability import BotMetrics
from bot.services import Services
from bot.side_server import READINESS, Readiness, health_routes, slack_auth_check
from bot.slack.inbound import events_endpoint
from bot.slack.middleware import Next, body_middleware
from bot.store import keys
from commands import (
    action_items,
    alerts,
    calls,
    confirm,
    incident,
    interactivity,
    lifecycle,
    me,
    membership,
    metric_buttons,
    metrics,
    paging,
    patterns,
    postmortem,
    publishing,
    statuspage,
    timeline_events,
    updates,
    workspace,
)
from commands.context import explain_failure

log = structlog.get_logger(__name__)

COMMAND_MODULES = [
    incident,
    lifecycle,
    updates,
    timeline_events,
    membership,
    interactivity,
    action_items,
    postmortem,
    metrics,
    metric_buttons,
    patterns,
    alerts,
    confirm,
    paging,
    me,
    calls,
    publishing,
    statuspage,
    workspace,  # last: acknowledges what no listener above takes
]
EVENTS_PATH = "/slack/events"
# Bolt turns on its multi-workspace OAuth flow (a file installation store, the bot token
# ignored) when both are in the environment; the web app's sign-in uses them instead
BOLT_OAUTH_ENV = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")


@contextmanager
def single_workspace() -> Iterator[None]:
    """Build Bolt's app with SLACK_CLIENT_ID / SLACK_CLIENT_SECRET hidden from it, so it
    keeps the one workspace's bot token (sign-in reads them from Settings, not from Bolt)."""
    saved = {name: os.environ.pop(name) for name in BOLT_OAUTH_ENV if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def build_app(
    services: Services, listeners: Sequence[Callable[[AsyncApp, Services], None]] = ()
) -> AsyncApp:
    """The Bolt app with every listener, registered once, here: commands/, then the
    installed features' own `listeners` (bot/features.py), then the catch-all."""
    settings = services.settings
    client = services.chat.client

    with single_workspace():
        app = AsyncApp(
            client=client,
            signing_secret=settings.slack_signing_secret or "",
            request_verification_enabled=True,
            logger=logging.getLogger("bolt"),
            # what no listener takes reaches explain_error, which acknowledges what Slack sent
            raise_error_for_unhandled_request=True,
        )

    @body_middleware(app)
    async def drop_retried_events(body: dict[str, Any], next: Next) -> BoltResponse | None:
        """Slack re-sends an event it thinks we missed; each event_id is handled once
        (timeline events are recorded before the ack instead: commands/timeline_events.py)."""
        event_id = body.get("event_id")
        event = body.get("event")
        is_other_event = (
            body.get("type") == "event_callback"
            and event_id
            and (event.get("type") if isinstance(event, dict) else None)
            not in (*timeline_events.TIMELINE_EVENTS, *membership.STATE_EVENTS)
        )
        try:
            first = not is_other_event or await services.store.first_time(
                keys.seen_event(str(event_id))
            )
        except StoreUnavailable:  # answered 503: Slack delivers it again later
            log.warning("event_deferred", event_id=event_id)
            return membership.REDIS_DOWN
        if not first:
            log.info("event_retry_dropped", event_id=event_id)
            return BoltResponse(status=200, body="")
        await next()
        return None

    @app.error
    async def explain_error(
        error: Exception, body: dict[str, Any], context: AsyncBoltContext
    ) -> BoltResponse | None:
        if isinstance(error, BoltUnhandledRequestError):
            return workspace.acknowledge_unhandled(body)
        # listeners answer their own failures (commands.context.reports_errors); this
        # catches what fails outside them, e.g. in middleware
        await explain_failure(
            error, body=body, respond=context.respond, chat=services.chat,
            pending=PendingChanges(services.store.confirmations),
        )
        return None

    *commands, catch_all = COMMAND_MODULES
    for module in commands:
        module.register(app, services)
    for register in listeners:
        register(app, services)
    catch_all.register(app, services)
    return app


def signed_requests_only(secret: str | None) -> Any:
    """Reject unsigned, forged or stale requests to /slack/events with 401 before Bolt parses
    the body (Bolt answers 500 for a malformed timestamp); bot/slack/inbound parses bodies."""
    # no secret (Socket Mode): nothing posted to /slack/events can be verified, so none is taken
    verifier = SignatureVerifier(secret) if secret and secret.strip() else None

    @web.middleware
    async def verify(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path != EVENTS_PATH or request.method != "POST":
            return await handler(request)  # type: ignore[no-any-return]
        body = await request.text()
        try:
            valid = verifier is not None and verifier.is_valid_request(body, dict(request.headers))
        except (ValueError, TypeError):
            valid = False
        if not valid:
            return web.Response(status=401, text="invalid request signature")
        return await handler(request)  # type: ignore[no-any-return]

    return verify


def build_web_app(
    app: AsyncApp,
    services: Services,
    routes: list[web.AbstractRouteDef] | None = None,
    observability: BotMetrics | None = None,
) -> web.Application:
    """The HTTP server: Slack's endpoint, a health check, the bot's own /metrics (with
    request ids and ack latency) and any extra routes (e.g. POST /alertmanager)."""
    web_app = web.Application()
    web_app.router.add_post(EVENTS_PATH, events_endpoint(app))
    web_app.middlewares.insert(0, signed_requests_only(services.settings.slack_signing_secret))
    if observability is not None:
        web_app.middlewares.append(observability.middleware())
        web_app.router.add_routes(observability.routes(services.store.open_incident_count))

    readiness = Readiness(
        redis_ping=services.store.ping,
        slack_auth=slack_auth_check(services.chat.client, services.chat.access.restore),
    )
    web_app[READINESS] = readiness
    web_app.router.add_routes(health_routes(readiness))
    if routes:
        web_app.router.add_routes(routes)
    return web_app
