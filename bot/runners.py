"""The processes: HTTP server, Socket Mode client, reminder worker. Each takes settings,
gets everything else from the composition root (bot/wiring.py) and runs until stopped."""

from __future__ import annotations

import asyncio

import structlog
from aiohttp import web

from bot.settings import Settings
from bot.wiring import Bot, build_bot, build_scanner

log = structlog.get_logger(__name__)


async def serve_http(bot: Bot, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(bot.web_app)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("serving", host=host, port=port, path="/slack/events")
    return runner


async def run_http(settings: Settings, host: str = "0.0.0.0") -> None:
    bot = build_bot(settings)
    runner = await serve_http(bot, host, settings.port)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


async def run_worker_process(settings: Settings) -> None:
    from bot.worker import run_worker

    scanner = build_scanner(settings)
    await run_worker(scanner, scan_interval=settings.reminder_scan_interval)


async def run_socket_mode(settings: Settings) -> None:
    from bot.slack.inbound import SocketModeHandler

    bot = build_bot(settings)
    handler = SocketModeHandler(bot.app, settings.slack_app_token)
    await handler.start_async()  # type: ignore[no-untyped-call]
