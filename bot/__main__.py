"""The composition root: settings → adapters → services → Bolt app. Nothing else wires."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import structlog
from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot.app import build_app, build_web_app
from bot.clock import Clock, system_clock
from bot.errors import ChatError
from bot.incidents.service import AdminCheck, IncidentService, nobody_is_admin
from bot.services import Services
from bot.settings import Settings
from bot.slack.gateway import SlackGateway, build_client
from bot.store.redis_store import RedisStore, connect
from bot.timeline.service import TimelineService

log = structlog.get_logger(__name__)
ADMIN_CACHE_SECONDS = 60.0


def admin_check(chat: SlackGateway, usergroup: str | None) -> AdminCheck:
    """Members of the configured admin user group may act as IC (cached for a minute)."""
    if not usergroup:
        return nobody_is_admin
    cache: dict[str, tuple[float, set[str]]] = {}

    async def is_admin(user_id: str) -> bool:
        at, members = cache.get(usergroup, (0.0, set()))
        if time.monotonic() - at > ADMIN_CACHE_SECONDS:
            try:
                members = await chat.usergroup_members(usergroup)
            except ChatError:
                log.warning("admin_group_unreadable", usergroup=usergroup)
                members = set()
            cache[usergroup] = (time.monotonic(), members)
        return user_id in members

    return is_admin


def build_services(settings: Settings, *, clock: Clock = system_clock) -> Services:
    store = RedisStore(connect(settings.redis_url))
    chat = SlackGateway(build_client(settings.slack_bot_token, settings.slack_api_base))
    incidents = IncidentService(
        store=store,
        chat=chat,
        clock=clock,
        incidents_channel=settings.incidents_channel,
        is_admin=admin_check(chat, settings.admin_usergroup),
    )
    return Services(
        settings=settings,
        clock=clock,
        store=store,
        chat=chat,
        incidents=incidents,
        timeline=TimelineService(store=store, clock=clock),
    )


@dataclass
class Bot:
    services: Services
    app: AsyncApp
    web_app: web.Application


def build_bot(settings: Settings, *, clock: Clock = system_clock) -> Bot:
    services = build_services(settings, clock=clock)
    app = build_app(services)
    return Bot(services=services, app=app, web_app=build_web_app(app, services))


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


async def run_socket_mode(settings: Settings) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    bot = build_bot(settings)
    handler = AsyncSocketModeHandler(bot.app, settings.slack_app_token)
    await handler.start_async()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    from bot.cli import main

    main()
