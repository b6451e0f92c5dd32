"""The composition root: settings → adapters → the core services and flows → each
feature's `install` (bot/features.py), in order → the Bolt app and web server. The HTTP
server, Socket Mode, the worker, the CLI, `export` and the demo all get what they need from
here; nothing else constructs a service, and no feature's logic lives here."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot.actions.models import ActionSettings
from bot.actions.reminders import ReminderScanner
from bot.actions.service import ActionItemService
from bot.alerts import AlertService
from bot.app import build_app, build_web_app
from bot.clock import Clock, system_clock
from bot.conferencing import install as calls
from bot.features import Composition, Install, InstallContext, Installed, install_all
from bot.incidents import install as lifecycle
from bot.incidents.admins import admin_check
from bot.incidents.flows import IncidentFlows
from bot.incidents.service import IncidentService
from bot.insights import install as insights
from bot.integrations import install as integrations
from bot.metrics import install as metric_checks
from bot.observability import BotMetrics, install_logging
from bot.patterns import install as patterns
from bot.postmortem import install as postmortem
from bot.postmortem.install import build_postmortems
from bot.publishing import install as publishing
from bot.services import Services
from bot.settings import Settings
from bot.slack.action_blocks import reminder_blocks
from bot.slack.alert_blocks import alert_blocks
from bot.slack.connect import slack_gateway
from bot.statuspage import install as statuspage
from bot.store.connection import Db, db_for
from bot.store.redis_store import RedisStore
from bot.timeline.service import TimelineService
from bot.updates import install as updates
from bot.updates.install import build_watch
from bot.web import install as web_app
from bot.webhooks import install as webhooks
from bot.worker import PeriodicJob

# In this order: it is the order of each change's follow-up steps (the incident's own
# first), and a feature may use the services of those before it.
__all__ = [  # what the processes, `export` and the demo get from here
    "FEATURES", "Bot", "admin_check", "build_bot", "build_postmortems",
    "build_scanner", "build_watch", "build_worker_jobs", "compose", "slack_gateway",
]
FEATURES: list[Install] = [
    lifecycle.install,  # the channel, the announcement, the lifecycle
    calls.install,  # MEETING_URL, ZOOM_…, GOOGLE_CALENDAR_ID: a call link on declare
    postmortem.install,
    patterns.install,
    metric_checks.install,  # PROMETHEUS_URL
    updates.install,
    integrations.install,  # paging and tracking
    publishing.install,  # CONFLUENCE_…, NOTION_…, GDRIVE_FOLDER_ID: postmortems published
    web_app.install,  # SLACK_CLIENT_ID, …: the web app (always: it says what it needs)
    insights.install,  # /insights and /api/v1/insights on the web app
    statuspage.install,  # STATUS_PAGE_COMPONENTS
    webhooks.install,
]


def compose(
    settings: Settings, *, clock: Clock = system_clock, db: Db | None = None
) -> Composition:
    """The services with every feature installed (the HTTP app, Socket Mode and the worker
    each compose their own)."""
    store = RedisStore(db or db_for(settings.redis_config()))
    chat = slack_gateway(settings, store)
    is_admin = admin_check(chat, settings.admin_usergroup)
    incident_service = IncidentService(
        store=store, chat=chat, clock=clock,
        incidents_channel=settings.incidents_channel, is_admin=is_admin,
    )
    flows = IncidentFlows(incidents=incident_service)
    actions = ActionItemService(
        store=store, actions_store=store.actions, chat=chat, clock=clock,
        settings=ActionSettings.from_settings(settings), is_admin=is_admin,
        access=incident_service.access,
    )

    async def post_alert(text: str, blocks: list[dict[str, object]]) -> str:
        return await chat.broadcast(settings.incidents_channel, text, blocks)

    alert_service = AlertService(
        store=store, flows=flows, post=post_alert, clock=clock, render=alert_blocks,
        actor=chat.bot_user_id,  # auto-declared incidents are declared by the bot itself
        auto_declare=settings.alertmanager_auto_declare,
    )
    services = Services(
        settings=settings, clock=clock, store=store, chat=chat, incidents=incident_service,
        flows=flows, timeline=TimelineService(store=store, clock=clock), alerts=alert_service,
        actions=actions,
    )
    ctx = InstallContext(settings, clock, store, chat, flows, services, is_admin)
    return Composition(services=services, features=install_all(ctx, FEATURES))


def build_worker_jobs(
    settings: Settings, *, clock: Clock = system_clock, db: Db | None = None
) -> list[PeriodicJob]:
    """The features' own worker jobs (e.g. the incident watch, the relapse watch)."""
    return compose(settings, clock=clock, db=db).jobs


def build_scanner(
    settings: Settings, *, clock: Clock = system_clock, db: Db | None = None
) -> ReminderScanner:
    """The worker's collaborators: Redis, the Slack gateway, the reminder scanner."""
    store = RedisStore(db or db_for(settings.redis_config()))
    chat = slack_gateway(settings, store)
    return ReminderScanner(
        actions_store=store.actions, store=store, chat=chat, clock=clock,
        settings=ActionSettings.from_settings(settings), render=reminder_blocks,
        channel_resolver=chat.channel_id,
    )


@dataclass
class Bot:
    services: Services
    app: AsyncApp
    web_app: web.Application
    observability: BotMetrics | None = None
    features: list[Installed] = field(default_factory=list)


def build_bot(settings: Settings, *, clock: Clock = system_clock, db: Db | None = None) -> Bot:
    composed = compose(settings, clock=clock, db=db)
    services = composed.services
    observability = BotMetrics()
    services.observe = observability.count
    observability.watch_gateway(services.chat)
    install_logging(settings.secret_values())  # every credential, never logged
    app = build_app(services, composed.listeners)
    web_app = build_web_app(app, services, composed.routes, observability)
    for setup in composed.web_setup:
        setup(web_app)
    return Bot(services, app, web_app, observability, composed.features)
