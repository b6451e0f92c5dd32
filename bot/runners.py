"""The processes: HTTP server, Socket Mode client, reminder worker. Each takes settings,
gets everything else from the composition root (bot/wiring.py) and runs until stopped.
Every one serves /healthz and /metrics (bot/side_server.py): `serve` and `socket` on PORT,
the worker on WORKER_PORT."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, cast

import structlog
from aiohttp import web

from bot.observability import AccessLog, WorkerMetrics
from bot.settings import Settings
from bot.side_server import READINESS, Readiness, slack_auth_check
from bot.slack.gateway import SlackGateway
from bot.store.connection import open_db
from bot.wiring import Bot, build_bot, build_scanner, build_worker_jobs

log = structlog.get_logger(__name__)


async def serve_http(bot: Bot, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(bot.web_app, access_log_class=AccessLog)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("serving", host=host, port=port, path="/slack/events")
    return runner


async def run_http(settings: Settings, host: str = "0.0.0.0") -> None:
    bot = build_bot(settings, db=await open_db(settings.redis_config()))
    await bot.web_app[READINESS].check_slack_token()
    runner = await serve_http(bot, host, settings.port)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


async def run_together(*processes: Coroutine[Any, Any, None]) -> None:
    """Several processes' main loops in one (`make run`: the bot and its worker). When one
    ends or fails, the others are stopped and its error is raised."""
    tasks = [asyncio.create_task(p) for p in processes]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        task.result()


async def run_worker_process(settings: Settings, host: str = "0.0.0.0") -> None:
    from bot.worker import run_worker

    db = await open_db(settings.redis_config())
    scanner = build_scanner(settings, db=db)
    chat = cast(SlackGateway, scanner.chat)
    metrics = WorkerMetrics()
    metrics.watch_gateway(chat)  # Slack errors and 429s of the worker's own calls
    readiness = Readiness(
        redis_ping=scanner.store.ping,
        slack_auth=slack_auth_check(chat.client, chat.access.restore),
    )
    await run_worker(
        scanner,
        scan_interval=settings.reminder_scan_interval,
        port=settings.worker_port,
        host=host,
        readiness=readiness,
        metrics=metrics,
        jobs=build_worker_jobs(settings, db=db),
    )


async def run_socket_mode(settings: Settings, host: str = "0.0.0.0") -> None:
    from bot.slack.inbound import SocketModeHandler

    bot = build_bot(settings, db=await open_db(settings.redis_config()))
    handler = SocketModeHandler(bot.app, settings.slack_app_token)
    await serve_socket_mode(bot, handler, host, settings.port)


async def serve_socket_mode(
    bot: Bot, handler: Any, host: str, port: int, stop: asyncio.Event | None = None
) -> None:
    """Socket Mode plus the side server on PORT: the same web app as HTTP mode, so
    /healthz (with the socket's state), /metrics, /alertmanager and any webhook route
    wiring adds. /slack/events is there too but refuses everything (no signing secret in
    Socket Mode); Slack sends nothing to it."""
    readiness = bot.web_app[READINESS]
    readiness.socket_connected = handler.client.is_connected
    if bot.observability is not None:
        listeners = handler.client.socket_mode_request_listeners
        listeners[:] = [bot.observability.timed_socket_listener(f) for f in listeners]
    await readiness.check_slack_token()
    runner = await serve_http(bot, host, port)
    try:
        await handler.connect_async()
        await (stop or asyncio.Event()).wait()
    finally:
        await handler.close_async()
        await runner.cleanup()
