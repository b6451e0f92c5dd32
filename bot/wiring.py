"""The composition root: settings → adapters → services → flows (with every feature's
follow-up steps and guards) → the Bolt app and web server. The HTTP server, Socket Mode,
the worker, the CLI, `export` and the demo all get what they need from here; nothing else
constructs a service."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

import structlog
from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot.actions.models import ActionSettings
from bot.actions.reminders import ReminderScanner
from bot.actions.service import ActionItemService
from bot.alerts import AlertService, alertmanager_routes
from bot.app import build_app, build_web_app
from bot.clock import Clock, system_clock
from bot.errors import ChatError, ConfirmationNeeded, IncidentBotError
from bot.incidents.flows import Change, ChangeRequest, IncidentFlows, Outcome
from bot.incidents.follow_ups import add_standard_steps
from bot.incidents.lifecycle import LifecycleService
from bot.incidents.lifecycle_steps import add_lifecycle_steps
from bot.incidents.service import AdminCheck, IncidentService, nobody_is_admin
from bot.integrations.factory import build_integrations, worker_jobs
from bot.integrations.follow_ups import add_paging_steps
from bot.integrations.tracking import EmailOf
from bot.integrations.webhooks import PagerEvents, opsgenie_routes, pagerduty_routes
from bot.metrics import MetricsService, PrometheusSource, load_config
from bot.metrics.channel_report import post_check
from bot.metrics.incident_checks import (
    RELAPSE_CHECK_SECONDS,
    RelapseWatcher,
    offer_impact_start,
    still_bad,
    watch_until,
)
from bot.observability import BotMetrics, install_logging
from bot.patterns.service import PatternService
from bot.ports import ChatGateway
from bot.postmortem.llm import make_drafter
from bot.postmortem.service import PostmortemService
from bot.runbooks import RunbookLibrary
from bot.services import Services
from bot.settings import Settings
from bot.slack.access import SlackAccess
from bot.slack.action_blocks import reminder_blocks
from bot.slack.alert_blocks import alert_blocks
from bot.slack.blocks import impact_start_blocks, relapse_blocks
from bot.slack.gateway import SlackGateway, build_client
from bot.slack.update_blocks import (
    cadence_prompt_blocks,
    close_nudge_blocks,
    postmortem_nudge_blocks,
    stale_nudge_blocks,
)
from bot.store.connection import Db, db_for
from bot.store.redis_store import RedisStore
from bot.timeline.service import TimelineService
from bot.updates.exec_summary import make_exec_writer
from bot.updates.models import CadenceSettings, NudgeSettings
from bot.updates.service import UpdateService
from bot.updates.watch import IncidentWatch, WatchRender
from bot.worker import PeriodicJob

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


def slack_gateway(settings: Settings, store: RedisStore | None = None) -> SlackGateway:
    """The Web API gateway; with `store`, a lost access (uninstall, revoked token) is shared
    with every process through Redis (bot/slack/access.py)."""
    access = SlackAccess(store.slack_access if store else None, settings.slack_bot_token)
    return SlackGateway(build_client(settings.slack_bot_token, settings.slack_api_base), access)


def build_flows(
    *,
    settings: Settings,
    clock: Clock,
    incidents: IncidentService,
    chat: SlackGateway,
    timeline: TimelineService,
    patterns: PatternService | None,
    metrics: MetricsService | None,
    actions: ActionItemService | None = None,
    store: RedisStore | None = None,
) -> IncidentFlows:
    """Every change's follow-up steps and guards, in the order they run."""
    lifecycle = LifecycleService(
        incidents=incidents, move_open_items=actions.move_open_items if actions else None
    )
    flows = IncidentFlows(incidents=incidents, lifecycle=lifecycle)
    add_standard_steps(
        flows, incidents=incidents, chat=chat, incidents_channel=settings.incidents_channel
    )
    add_lifecycle_steps(flows, incidents=incidents, chat=chat)
    if patterns is not None:
        found = patterns

        async def find_similar(outcome: Outcome) -> None:
            """Reads only Redis: runs while declare's Slack calls are on their way."""
            await found.index.add(outcome.incident)
            matches = await found.similar(outcome.incident)
            if matches:
                outcome.data["similar incidents"] = await found.render_matches(matches)

        async def post_similar(outcome: Outcome) -> None:
            """After the header, so the channel reads in order."""
            text = outcome.data.get("similar incidents")
            if isinstance(text, str):
                await chat.post(outcome.incident.channel_id, text)

        async def recurrence(outcome: Outcome) -> None:
            outcome.data["recurrence"] = await found.on_resolve(outcome.incident)

        flows.after(Change.DECLARED, "find similar incidents", find_similar, concurrent=True)
        flows.after(Change.DECLARED, "similar incidents", post_similar)
        flows.after(Change.RESOLVED, "recurrence", recurrence)
    if metrics is not None and settings.snapshot_on_declare:
        checks = metrics

        async def metrics_snapshot(outcome: Outcome) -> None:
            """The channel opens with the current state (SNAPSHOT_ON_DECLARE=false: off)."""
            inc = outcome.incident
            report = await checks.check(first=inc.services)
            await post_check(chat=chat, timeline=timeline, clock=clock, incident=inc, report=report)

        flows.after(
            Change.DECLARED,
            "metrics snapshot",
            metrics_snapshot,
            warning="could not post the metrics snapshot",
        )
    if metrics is not None:
        add_metric_checks(flows, settings=settings, metrics=metrics, chat=chat, store=store)
    return flows


def add_metric_checks(
    flows: IncidentFlows,
    *,
    settings: Settings,
    metrics: MetricsService,
    chat: ChatGateway,
    store: RedisStore | None,
) -> None:
    """Verify before resolve (a guard on every way of resolving), impact start from the
    metrics (offered on declare), and the relapse watch (registered on resolve, ended by a
    reopen; the worker re-checks, see build_relapse_watcher)."""

    async def metrics_still_bad(request: ChangeRequest) -> None:
        bad = await still_bad(metrics, request.incident)
        if bad is None:
            return
        lines = "\n".join(f"• {f}" for f in bad.findings[:8])
        more = f"\n• and {len(bad.findings) - 8} more" if len(bad.findings) > 8 else ""
        raise ConfirmationNeeded(
            f"The metrics of {request.incident.id} are still bad:\n{lines}{more}\n"
            "Resolve anyway?",
            confirm_label="Resolve anyway",
        )

    flows.guard(Change.RESOLVED, "metrics still bad", metrics_still_bad)

    if store is None:
        return
    seen = store

    async def impact_from_metrics(outcome: Outcome) -> None:
        await offer_impact_start(metrics, chat, outcome.incident, impact_start_blocks, seen)

    flows.after(Change.DECLARED, "impact start from metrics", impact_from_metrics)
    watch = settings.relapse_watch
    relapse = store.relapse

    async def relapse_watch(outcome: Outcome) -> None:
        until = watch_until(outcome.incident, watch)
        if until is not None and watch > timedelta(0):
            await relapse.watch(outcome.incident.id, until)

    async def end_relapse_watch(outcome: Outcome) -> None:
        await relapse.unwatch(outcome.incident.id)

    flows.after(Change.RESOLVED, "relapse watch", relapse_watch)
    flows.after(Change.REOPENED, "end relapse watch", end_relapse_watch)


def build_relapse_watcher(
    settings: Settings, *, store: RedisStore, chat: SlackGateway, clock: Clock = system_clock
) -> RelapseWatcher | None:
    """The worker's relapse watch; None without Prometheus."""
    if settings.prometheus_url is None:
        return None
    metrics = MetricsService(
        source=PrometheusSource(str(settings.prometheus_url)),
        config=load_config(settings.metrics_config),
        clock=clock,
        discovery_ttl=settings.metrics_discovery_ttl,
    )
    return RelapseWatcher(
        metrics=metrics,
        store=store,
        chat=chat,
        clock=clock,
        incidents_channel=settings.incidents_channel,
        render=relapse_blocks,
    )


def build_services(
    settings: Settings, *, clock: Clock = system_clock, db: Db | None = None
) -> Services:
    store = RedisStore(db or db_for(settings.redis_config()))
    chat = slack_gateway(settings, store)
    is_admin = admin_check(chat, settings.admin_usergroup)
    runbooks = RunbookLibrary.from_folder(settings.runbooks_dir)
    incidents = IncidentService(
        store=store,
        chat=chat,
        clock=clock,
        incidents_channel=settings.incidents_channel,
        is_admin=is_admin,
    )
    timeline = TimelineService(store=store, clock=clock)
    actions = ActionItemService(
        store=store,
        actions_store=store.actions,
        chat=chat,
        clock=clock,
        settings=ActionSettings.from_settings(settings),
        is_admin=is_admin,
        access=incidents.access,
    )
    metrics = None
    if settings.prometheus_url is not None:
        metrics = MetricsService(
            source=PrometheusSource(str(settings.prometheus_url)),
            config=load_config(settings.metrics_config),
            clock=clock,
            runbooks=runbooks,
            discovery_ttl=settings.metrics_discovery_ttl,
        )
    postmortems = build_postmortems(settings, store=store, chat=chat, clock=clock, actions=actions)
    patterns = PatternService(
        store=store, chat=chat, clock=clock, actions=actions, postmortems=postmortems
    )
    flows = build_flows(
        settings=settings,
        clock=clock,
        incidents=incidents,
        chat=chat,
        timeline=timeline,
        patterns=patterns,
        metrics=metrics,
        actions=actions,
        store=store,
    )

    updates = build_updates(
        settings, store=store, chat=chat, flows=flows, clock=clock, is_admin=is_admin
    )
    integrations = build_integrations(
        settings, store=store, items=store.actions, clock=clock, email_of=email_lookup(chat)
    )
    if integrations.paging is not None:
        add_paging_steps(flows, integrations.paging)
    if integrations.tracking is not None:
        actions.followers.append(integrations.tracking)

    async def post_alert(text: str, blocks: list[dict[str, object]]) -> str:
        return await chat.broadcast(settings.incidents_channel, text, blocks)

    alerts = AlertService(
        store=store,
        flows=flows,
        post=post_alert,
        clock=clock,
        render=alert_blocks,
        actor=chat.bot_user_id,  # auto-declared incidents are declared by the bot itself
        auto_declare=settings.alertmanager_auto_declare,
    )
    return Services(
        settings=settings,
        clock=clock,
        store=store,
        chat=chat,
        incidents=incidents,
        flows=flows,
        timeline=timeline,
        alerts=alerts,
        metrics=metrics,
        actions=actions,
        postmortems=postmortems,
        patterns=patterns,
        updates=updates,
        paging=integrations.paging,
        tracking=integrations.tracking,
    )


def email_lookup(chat: ChatGateway) -> EmailOf:
    """A person's email (for the tracker's assignee), or None when Slack does not say."""

    async def email_of(user_id: str) -> str | None:
        try:
            return (await chat.user(user_id)).email or None
        except IncidentBotError:
            return None

    return email_of


def build_worker_jobs(
    settings: Settings, *, clock: Clock = system_clock, db: Db | None = None
) -> list[PeriodicJob]:
    """The features' own worker jobs (integration retries, tracker sync, the incident
    watch, the relapse watch)."""
    store = RedisStore(db or db_for(settings.redis_config()))
    integrations = build_integrations(
        settings, store=store, items=store.actions, clock=clock,
        email_of=email_lookup(slack_gateway(settings, store)),
    )
    watch = build_watch(settings, clock=clock, store=store)

    async def watch_incidents() -> None:
        result = await watch.scan()
        if result.sent or result.failed:
            log.info("incident_watch", sent=result.sent, failed=result.failed)

    jobs = [
        *worker_jobs(
            integrations,
            clock=clock,
            leases=store.leases,
            sync_every=settings.tracker_sync_interval,
        ),
        # update cadence and nudges (bot/updates/watch.py); each message once, by lease
        PeriodicJob("incident_watch", watch_incidents, every=settings.reminder_scan_interval),
    ]
    chat = slack_gateway(settings, store)
    relapse = build_relapse_watcher(settings, store=store, chat=chat, clock=clock)
    if relapse is not None:  # re-checks resolved incidents; each relapse posted once (claim)
        jobs.append(PeriodicJob("relapse_watch", relapse.scan, every=RELAPSE_CHECK_SECONDS))
    return jobs


def build_updates(
    settings: Settings,
    *,
    store: RedisStore,
    chat: SlackGateway,
    flows: IncidentFlows,
    clock: Clock,
    is_admin: AdminCheck,
) -> UpdateService:
    """Status updates; a status or severity given with an update goes through `flows`, and
    resolving stops the cadence and tells the followers (a follow-up step)."""
    updates = UpdateService(
        store=store,
        chat=chat,
        changes=flows,
        clock=clock,
        cadence=CadenceSettings.from_settings(settings),
        is_admin=is_admin,
        writer=make_exec_writer(settings),
        private_use_ai=settings.private_incidents_use_ai,
    )

    async def tell_followers(outcome: Outcome) -> None:
        await updates.on_resolved(outcome.incident)

    flows.after(
        Change.RESOLVED,
        "followers",
        tell_followers,
        warning="could not tell every follower it is resolved",
    )

    async def follow_severity(outcome: Outcome) -> None:
        outcome.incident = await updates.on_severity(outcome.incident)

    flows.after(
        Change.SEVERITY,
        "update cadence",
        follow_severity,
        warning="could not move the next update to the new severity's cadence",
    )

    async def restart_cadence(outcome: Outcome) -> None:
        await updates.on_reopened(outcome.incident)

    flows.after(
        Change.REOPENED,
        "cadence",
        restart_cadence,
        warning="could not restart the update cadence or tell the followers",
    )
    return updates


def build_postmortems(
    settings: Settings,
    *,
    store: RedisStore,
    chat: ChatGateway,
    clock: Clock,
    actions: ActionItemService | None = None,
) -> PostmortemService:
    return PostmortemService(
        store=store,
        chat=chat,
        drafter=make_drafter(settings),
        clock=clock,
        runbooks_dir=settings.runbooks_dir,
        actions=actions,
        private_use_ai=settings.private_incidents_use_ai,
    )


def build_scanner(
    settings: Settings, *, clock: Clock = system_clock, db: Db | None = None
) -> ReminderScanner:
    """The worker's collaborators: Redis, the Slack gateway, the reminder scanner."""
    store = RedisStore(db or db_for(settings.redis_config()))
    chat = slack_gateway(settings, store)
    return ReminderScanner(
        actions_store=store.actions,
        store=store,
        chat=chat,
        clock=clock,
        settings=ActionSettings.from_settings(settings),
        render=reminder_blocks,
        channel_resolver=chat.channel_id,
    )


def build_watch(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    store: RedisStore | None = None,
    chat: SlackGateway | None = None,
) -> IncidentWatch:
    """The worker's update cadence and nudges (its own Redis and Slack clients unless given)."""
    store = store or RedisStore(db_for(settings.redis_config()))
    return IncidentWatch(
        store=store,
        chat=chat or slack_gateway(settings, store),
        clock=clock,
        cadence=CadenceSettings.from_settings(settings),
        nudges=NudgeSettings.from_settings(settings),
        render=WatchRender(
            cadence_prompt=cadence_prompt_blocks,
            stale=stale_nudge_blocks,
            postmortem=postmortem_nudge_blocks,
            close=close_nudge_blocks,
        ),
    )


@dataclass
class Bot:
    services: Services
    app: AsyncApp
    web_app: web.Application
    observability: BotMetrics | None = None


def build_bot(settings: Settings, *, clock: Clock = system_clock, db: Db | None = None) -> Bot:
    services = build_services(settings, clock=clock, db=db)
    observability = BotMetrics()
    services.observe = observability.count
    observability.watch_gateway(services.chat)
    install_logging(
        [
            settings.slack_bot_token,
            settings.slack_signing_secret,
            settings.slack_app_token,
            settings.anthropic_api_key,
            settings.alertmanager_token,
        ]
    )
    app = build_app(services)
    pager_events = PagerEvents(alerts=services.alerts, store=services.store, clock=services.clock)
    routes = [
        *alertmanager_routes(services.alerts, settings.alertmanager_token),
        *pagerduty_routes(pager_events, settings.pagerduty_webhook_secret),
        *opsgenie_routes(pager_events, settings.opsgenie_webhook_token),
    ]
    return Bot(
        services=services,
        app=app,
        web_app=build_web_app(app, services, routes, observability),
        observability=observability,
    )
