"""Paging and tracking, the outside systems an incident reaches (absent when none is
configured):

* paging (PagerDuty, Opsgenie): the on-call paged on declare and when the severity is
  raised past PAGE_MIN_SEVERITY, the pages resolved on resolve (follow_ups.py);
* tracking (Jira, GitHub, Linear): action items filed as issues (TRACK_ACTIONS) and their
  state synced back by the worker's `tracker_sync` job;
* both share one outbox: a call that failed is retried by the worker's
  `integration_retries` job, which is why they install together.
"""

from __future__ import annotations

from bot.errors import IncidentBotError
from bot.features import InstallContext, Installed
from bot.integrations.factory import build_integrations, worker_jobs
from bot.integrations.follow_ups import add_paging_steps
from bot.integrations.tracking import EmailOf
from bot.ports import ChatGateway


def email_lookup(chat: ChatGateway) -> EmailOf:
    """A person's email (for the tracker's assignee), or None when Slack does not say."""

    async def email_of(user_id: str) -> str | None:
        try:
            return (await chat.user(user_id)).email or None
        except IncidentBotError:
            return None

    return email_of


def install(ctx: InstallContext) -> Installed | None:
    settings, store = ctx.settings, ctx.store
    integrations = build_integrations(
        settings, store=store, items=store.actions, clock=ctx.clock,
        email_of=email_lookup(ctx.chat), access=ctx.services.incidents.access,
    )
    paging, tracking = integrations.paging, integrations.tracking
    if paging is None and tracking is None:
        return None
    provides: dict[str, object] = {}
    if paging is not None:
        add_paging_steps(ctx.flows, paging)
        provides["paging"] = paging
    if tracking is not None:
        if ctx.services.actions is not None:
            ctx.services.actions.followers.append(tracking)
        provides["tracking"] = tracking
    every = settings.tracker_sync_interval
    jobs = worker_jobs(integrations, clock=ctx.clock, leases=store.leases, sync_every=every)
    return Installed("integrations", provides=provides, jobs=jobs)
