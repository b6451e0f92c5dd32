"""The status updates feature: `/incident update`, the update cadence and the nudges.

* follow-up steps: resolving tells the followers and stops the cadence, a new severity
  moves the next update to its cadence, a reopen restarts it;
* the worker's `incident_watch` job (bot/updates/watch.py): update prompts, stale, postmortem
  and close nudges, each message once across workers (a lease);
* the worker's `update_fanout` job (bot/updates/fanout.py): the followers' DMs an update, a
  resolve or a reopen queued, each follower once across workers (a lease per job, a claim
  per follower), polled twice a second; the poll starts the jobs it takes and returns.
"""

from __future__ import annotations

import structlog

from bot.clock import Clock, system_clock
from bot.features import InstallContext, Installed
from bot.incidents.flows import Change, Outcome
from bot.settings import Settings
from bot.slack.connect import slack_gateway
from bot.slack.gateway import SlackGateway
from bot.slack.update_blocks import (
    cadence_prompt_blocks,
    close_nudge_blocks,
    postmortem_nudge_blocks,
    stale_nudge_blocks,
)
from bot.store.connection import db_for
from bot.store.redis_store import RedisStore
from bot.updates.exec_summary import make_exec_writer
from bot.updates.fanout import POLL_SECONDS as FANOUT_POLL_SECONDS
from bot.updates.fanout import FanOutDrain
from bot.updates.models import CadenceSettings, NudgeSettings
from bot.updates.service import UpdateService
from bot.updates.watch import IncidentWatch, WatchRender
from bot.worker import PeriodicJob

log = structlog.get_logger(__name__)


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


def install(ctx: InstallContext) -> Installed:
    settings, flows, every = ctx.settings, ctx.flows, ctx.settings.reminder_scan_interval
    updates = UpdateService(
        store=ctx.store,
        chat=ctx.chat,
        changes=flows,  # a status or severity given with an update goes through the flows
        clock=ctx.clock,
        cadence=CadenceSettings.from_settings(settings),
        is_admin=ctx.is_admin,
        writer=make_exec_writer(settings),
        private_use_ai=settings.private_incidents_use_ai,
        access=ctx.services.incidents.access,
    )

    async def tell_followers(outcome: Outcome) -> None:
        await updates.on_resolved(outcome.incident, outcome.actor)

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
        await updates.on_reopened(outcome.incident, outcome.actor)

    flows.after(
        Change.REOPENED,
        "cadence",
        restart_cadence,
        warning="could not restart the update cadence or tell the followers",
    )

    watch = build_watch(settings, clock=ctx.clock, store=ctx.store, chat=ctx.chat)

    async def watch_incidents() -> None:
        result = await watch.scan()
        if result.sent or result.failed:
            log.info("incident_watch", sent=result.sent, failed=result.failed)

    fanout = FanOutDrain(
        store=ctx.store, chat=ctx.chat, clock=ctx.clock, access=ctx.services.incidents.access
    )
    return Installed(
        "updates",
        provides={"updates": updates},
        jobs=[
            # update cadence and nudges; each message once, by lease
            PeriodicJob("incident_watch", watch_incidents, every=every),
            # the followers' DMs from the outbox
            PeriodicJob("update_fanout", fanout.start_due, every=FANOUT_POLL_SECONDS),
        ],
    )
