"""Alertmanager calling in: POST /alertmanager with the webhook v4 payload, behind the
ALERTMANAGER_TOKEN bearer token. What an alert does is bot/alerts.py's."""

from __future__ import annotations

import hmac

import structlog
from aiohttp import web

from bot.alerts import ALERTMANAGER_PATH, MAX_BODY_BYTES, AlertService, parse_payload
from bot.errors import IncidentBotError

log = structlog.get_logger(__name__)


def _authorized(request: web.Request, token: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given:
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def alertmanager_routes(service: AlertService, token: str | None) -> list[web.RouteDef]:
    """POST /alertmanager: 503 when ALERTMANAGER_TOKEN is unset, 401 without the bearer
    token, 400 with a reason for a bad payload, 200 with what was done."""

    async def receive(request: web.Request) -> web.Response:
        if not token:
            return web.json_response(
                {"ok": False, "error": "not configured: set ALERTMANAGER_TOKEN"}, status=503
            )
        if not _authorized(request, token):
            return web.json_response(
                {"ok": False, "error": "unauthorized: a valid bearer token is required"},
                status=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return web.json_response({"ok": False, "error": "payload too large"}, status=413)
        raw = await request.read()  # aiohttp caps bodies at client_max_size (1 MiB) too
        try:
            payload = parse_payload(raw)
        except ValueError as exc:
            log.info("alertmanager_rejected", reason=str(exc))
            return web.json_response({"ok": False, "error": f"invalid payload: {exc}"}, status=400)
        try:
            report = await service.handle(payload)
        except IncidentBotError as exc:
            log.warning("alertmanager_failed", reason=exc.message)
            return web.json_response({"ok": False, "error": exc.message}, status=503)
        return web.json_response({"ok": True, **report.as_dict()})

    return [web.post(ALERTMANAGER_PATH, receive)]
