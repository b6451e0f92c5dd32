"""The side HTTP server every process runs: GET /healthz says whether this process can do
its job (Redis reachable, the Slack token valid at start, the scheduler or the socket up),
GET /metrics is its Prometheus registry. `serve` adds Slack's endpoint to the same server;
`socket` adds POST /alertmanager; the worker serves only these two (on WORKER_PORT)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from aiohttp import web

from bot.errors import IncidentBotError

log = structlog.get_logger(__name__)

HEALTH_PATH = "/healthz"
CHECK_TIMEOUT_SECONDS = 3.0
OK = "ok"


@dataclass
class Readiness:
    """What /healthz checks. `slack_auth` is called once (at start, or on the first
    /healthz) and returns None when the token is valid, else what Slack said."""

    redis_ping: Callable[[], Awaitable[None]]
    slack_auth: Callable[[], Awaitable[str | None]] | None = None
    scheduler_running: Callable[[], bool] | None = None
    socket_connected: Callable[[], Awaitable[bool]] | None = None
    slack_at_start: str | None = None
    slack_checked: bool = False

    async def check_slack_token(self) -> str | None:
        """Run the one-time token check; returns the problem, or None when valid."""
        if self.slack_auth is not None and not self.slack_checked:
            try:
                self.slack_at_start = await self.slack_auth()
            except Exception as exc:  # unreachable Slack is as bad as a bad token here
                self.slack_at_start = f"auth.test failed: {type(exc).__name__}: {exc}"
            self.slack_checked = True
            if self.slack_at_start:
                log.error("slack_token_invalid", reason=self.slack_at_start)
        return self.slack_at_start

    async def report(self) -> dict[str, str]:
        """One line per check: "ok" or what is wrong."""
        checks: dict[str, str] = {}
        try:
            await asyncio.wait_for(self.redis_ping(), CHECK_TIMEOUT_SECONDS)
            checks["redis"] = OK
        except IncidentBotError as exc:
            checks["redis"] = exc.message
        except TimeoutError:
            checks["redis"] = f"no answer from Redis within {CHECK_TIMEOUT_SECONDS:g}s"
        if self.slack_auth is not None:
            checks["slack"] = await self.check_slack_token() or OK
        if self.scheduler_running is not None:
            checks["scheduler"] = OK if self.scheduler_running() else "the scheduler is stopped"
        if self.socket_connected is not None:
            connected = await self.socket_connected()
            checks["socket"] = OK if connected else "not connected to Slack's Socket Mode"
        return checks


READINESS = web.AppKey("readiness", Readiness)


def slack_auth_check(
    client: Any, on_valid: Callable[[], Awaitable[object]] | None = None
) -> Callable[[], Awaitable[str | None]]:
    """auth.test through the Web API client; None when the token is valid. `on_valid` runs
    when it is (a token that works again clears a remembered uninstall: bot/slack/access.py)."""

    async def check() -> str | None:
        try:
            answer = await client.auth_test()
        except Exception as exc:  # slack_sdk's SlackApiError carries Slack's answer
            response = getattr(exc, "response", None)
            if response is None:
                raise
            answer = response
        if not answer.get("ok"):
            return f"auth.test: {answer.get('error', 'failed')}"
        if on_valid is not None:
            try:
                await on_valid()
            except IncidentBotError as exc:  # Redis down: the check itself still passed
                log.warning("slack_access_not_restored", reason=exc.message)
        return None

    return check


def health_routes(readiness: Readiness) -> list[web.RouteDef]:
    async def healthz(_: web.Request) -> web.Response:
        checks = await readiness.report()
        ok = all(v == OK for v in checks.values())
        return web.json_response({"ok": ok, **checks}, status=200 if ok else 503)

    return [web.get(HEALTH_PATH, healthz)]


async def start_side_server(app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("side_server_listening", host=host, port=port)
    return runner
