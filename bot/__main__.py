"""The composition root: settings → adapters → services → Bolt app. Nothing else wires."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import structlog
from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot.actions.models import ActionSettings
from bot.actions.reminders import ReminderScanner
from bot.actions.service import ActionItemService
from bot.alerts import alertmanager_routes
from bot.app import build_app, build_web_app
from bot.clock import Clock, system_clock
from bot.errors import ChatError
from bot.incidents.service import AdminCheck, IncidentService, nobody_is_admin
from bot.metrics import MetricsService, PrometheusSource, load_config
from bot.observability import BotMetrics, install_logging
from bot.patterns.service import PatternService
from bot.postmortem.llm import make_drafter
from bot.postmortem.service import PostmortemService
from bot.runbooks import RunbookLibrary
from bot.services import Services
from bot.settings import Settings
from bot.slack.action_blocks import reminder_blocks
from bot.slack.gateway import SlackGateway, build_client
from bot.store.redis_store import RedisStore, connect
from bot.timeline.service import TimelineService
from commands import alerts as alert_commands
from commands.alerts import build_alert_service

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
    is_admin = admin_check(chat, settings.admin_usergroup)
    runbooks = RunbookLibrary.from_folder(settings.runbooks_dir)
    incidents = IncidentService(
        store=store,
        chat=chat,
        clock=clock,
        incidents_channel=settings.incidents_channel,
        is_admin=is_admin,
    )
    actions = ActionItemService(
        store=store,
        actions_store=store.actions,
        chat=chat,
        clock=clock,
        settings=ActionSettings.from_settings(settings),
        is_admin=is_admin,
    )
    metrics = None
    if settings.prometheus_url is not None:
        metrics = MetricsService(
            source=PrometheusSource(str(settings.prometheus_url)),
            config=load_config(settings.metrics_config),
            clock=clock,
            runbooks=runbooks,
        )
    postmortems = PostmortemService(
        store=store,
        chat=chat,
        drafter=make_drafter(settings),
        clock=clock,
        runbooks_dir=settings.runbooks_dir,
        actions=actions,
    )
    return Services(
        settings=settings,
        clock=clock,
        store=store,
        chat=chat,
        incidents=incidents,
        timeline=TimelineService(store=store, clock=clock),
        metrics=metrics,
        actions=actions,
        postmortems=postmortems,
        patterns=PatternService(
            store=store, chat=chat, clock=clock, actions=actions, postmortems=postmortems
        ),
    )


def build_scanner(settings: Settings, *, clock: Clock = system_clock) -> ReminderScanner:
    """The worker's collaborators: Redis, the Slack gateway, the reminder scanner."""
    store = RedisStore(connect(settings.redis_url))
    chat = SlackGateway(build_client(settings.slack_bot_token, settings.slack_api_base))
    return ReminderScanner(
        actions_store=store.actions,
        store=store,
        chat=chat,
        clock=clock,
        settings=ActionSettings.from_settings(settings),
        render=reminder_blocks,
        channel_resolver=chat.channel_id,
    )


@dataclass
class Bot:
    services: Services
    app: AsyncApp
    web_app: web.Application
    observability: BotMetrics | None = None


def build_bot(settings: Settings, *, clock: Clock = system_clock) -> Bot:
    services = build_services(settings, clock=clock)
    observability = BotMetrics()
    services.chat.on_error = observability.slack_error
    services.chat.client.retry_handlers.insert(0, observability.rate_limit_observer())
    install_logging(
        [
            settings.slack_bot_token,
            settings.slack_signing_secret,
            settings.slack_app_token,
            settings.anthropic_api_key,
            settings.alertmanager_token,
        ]
    )
    app = build_app(services, extra_modules=[alert_commands])
    routes = alertmanager_routes(build_alert_service(services), settings.alertmanager_token)
    return Bot(
        services=services,
        app=app,
        web_app=build_web_app(app, services, routes, observability),
        observability=observability,
    )


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


if __name__ == "__main__":
    from bot.cli import main

    main()
