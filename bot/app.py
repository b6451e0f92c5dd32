"""Builds the Bolt app from ready services: listeners, event de-duplication, one error handler."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import structlog
from aiohttp import web
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.response import BoltResponse

from bot.errors import IncidentBotError
from bot.services import Services
from bot.store import keys
from commands import action_items, incident, interactivity, metrics, postmortem, timeline_events
from commands.context import error_text

log = structlog.get_logger(__name__)

COMMAND_MODULES = [incident, timeline_events, interactivity, action_items, postmortem, metrics]
EVENTS_PATH = "/slack/events"


def build_app(services: Services, *, extra_modules: list[Any] | None = None) -> AsyncApp:
    settings = services.settings
    client = services.chat.client

    app = AsyncApp(
        client=client,
        signing_secret=settings.slack_signing_secret or "",
        request_verification_enabled=True,
        logger=logging.getLogger("bolt"),
    )

    @app.middleware
    async def drop_retried_events(body: dict[str, Any], next: Any) -> BoltResponse | None:
        event_id = body.get("event_id")
        if body.get("type") == "event_callback" and event_id:
            if not await services.store.first_time(keys.seen_event(str(event_id))):
                log.info("event_retry_dropped", event_id=event_id)
                return BoltResponse(status=200, body="")
            try:
                await next()
            except Exception:
                await services.store.redis.delete(keys.seen_event(str(event_id)))
                raise
            return None
        await next()
        return None

    @app.error
    async def explain_error(
        error: Exception, body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        user = (body.get("user") or {}).get("id") or body.get("user_id")
        if isinstance(error, IncidentBotError):
            text = error_text(error.message, error.usage)
            log.info("command_refused", error=type(error).__name__, reason=error.message)
        else:
            ref = uuid.uuid4().hex[:8]
            log.exception("listener_failed", ref=ref, exc_info=error)
            text = (
                f":x: Something went wrong on our side (reference `{ref}`). "
                "Nothing you did caused it; the details are in the bot's log."
            )
        if context.respond is not None and (body.get("response_url") or _has_response_url(body)):
            await context.respond(text=text, response_type="ephemeral", replace_original=False)
        elif user:
            try:
                await services.chat.direct_message(str(user), text)
            except IncidentBotError:
                log.warning("could_not_report_error", user=user)

    for module in [*COMMAND_MODULES, *(extra_modules or [])]:
        module.register(app, services)
    return app


def _has_response_url(body: dict[str, Any]) -> bool:
    return bool(body.get("response_urls")) or bool(
        isinstance(body.get("response_url"), str) and body["response_url"]
    )


def build_web_app(
    app: AsyncApp, services: Services, routes: list[web.RouteDef] | None = None
) -> web.Application:
    """The HTTP server: Slack's endpoint, a health check and any extra routes."""
    web_app = app.web_app(path=EVENTS_PATH)

    async def healthz(_: web.Request) -> web.Response:
        try:
            await services.store.ping()
        except IncidentBotError as exc:
            return web.json_response({"ok": False, "redis": exc.message}, status=503)
        return web.json_response({"ok": True})

    web_app.router.add_get("/healthz", healthz)
    if routes:
        web_app.router.add_routes(routes)
    return web_app
