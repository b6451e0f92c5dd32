"""Picks the integration adapters from the settings (the composition root calls this). An
integration whose settings are absent is simply not built: the UI never offers it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.actions.models import ActionSettings
from bot.actions.store import ActionItemStore
from bot.clock import Clock
from bot.incidents.access import IncidentAccess
from bot.integrations.pagers.base import Pager
from bot.integrations.pagers.opsgenie import OpsgeniePager
from bot.integrations.pagers.pagerduty import PagerDutyPager, parse_routing_keys
from bot.integrations.paging import PagingService
from bot.integrations.settings import parse_github_users
from bot.integrations.trackers.base import IssueTracker
from bot.integrations.trackers.github import GitHubTracker
from bot.integrations.trackers.jira import JiraTracker
from bot.integrations.trackers.linear import LinearTracker
from bot.integrations.tracking import EmailOf, LoginOf, TrackerService, no_email
from bot.settings import Settings
from bot.store.integrations import IntegrationStore
from bot.store.leases import Leases
from bot.store.redis_store import RedisStore
from bot.worker import PeriodicJob

RETRY_EVERY = 30.0
SLACK_CHANNEL_LINK = "https://slack.com/app_redirect?channel={channel}"


@dataclass
class Integrations:
    tracking: TrackerService | None
    paging: PagingService | None
    store: IntegrationStore

    async def aclose(self) -> None:
        if self.tracking is not None:
            await self.tracking.tracker.aclose()
        if self.paging is not None:
            for pager in self.paging.pagers:
                await pager.aclose()


def build_tracker(settings: Settings) -> IssueTracker | None:
    s = settings
    if s.jira_url and s.jira_email and s.jira_api_token and s.jira_project:
        return JiraTracker(
            url=str(s.jira_url), email=s.jira_email, api_token=s.jira_api_token,
            project=s.jira_project, issue_type=s.jira_issue_type,
        )
    if s.github_token and s.github_repo:
        return GitHubTracker(token=s.github_token, repo=s.github_repo,
                             api_url=str(s.github_api_url))
    if s.linear_api_key and s.linear_team:
        return LinearTracker(api_key=s.linear_api_key, team=s.linear_team,
                             api_url=str(s.linear_api_url))
    return None


def build_pagers(settings: Settings) -> list[Pager]:
    pagers: list[Pager] = []
    routing = parse_routing_keys(settings.pagerduty_routing_keys)
    if settings.pagerduty_routing_key or routing:
        pagers.append(PagerDutyPager(
            routing_key=settings.pagerduty_routing_key, routing_keys=routing,
            events_url=str(settings.pagerduty_events_url),
        ))
    if settings.opsgenie_api_key:
        pagers.append(OpsgeniePager(api_key=settings.opsgenie_api_key,
                                    api_url=str(settings.opsgenie_api_url)))
    return pagers


def github_logins(settings: Settings, integrations: IntegrationStore) -> LoginOf:
    """A Slack user's GitHub login: what they said (`/incident me github`), else
    GITHUB_USERS; None without a GitHub tracker."""
    if not settings.github_token:
        return no_email
    configured = parse_github_users(settings.github_users)

    async def login_of(user_id: str) -> str | None:
        return await integrations.github_login(user_id) or configured.get(user_id)

    return login_of


def build_integrations(
    settings: Settings,
    *,
    store: RedisStore,
    items: ActionItemStore,
    clock: Clock,
    email_of: EmailOf = no_email,
    access: IncidentAccess | None = None,
) -> Integrations:
    integrations = store.integrations
    tracker = build_tracker(settings)
    pagers = build_pagers(settings)
    return Integrations(
        tracking=None if tracker is None else TrackerService(
            tracker=tracker, store=store, items=items, integrations=integrations, clock=clock,
            email_of=email_of, auto=settings.track_actions == "auto",
            channel_link=SLACK_CHANNEL_LINK, login_of=github_logins(settings, integrations),
            reminders=ActionSettings.from_settings(settings),
        ),
        paging=None if not pagers else PagingService(
            pagers=pagers, store=store, integrations=integrations, clock=clock,
            min_severity=settings.page_min_severity, link=SLACK_CHANNEL_LINK, access=access,
        ),
        store=integrations,
    )


async def retry_due(integrations: Integrations, now: datetime) -> int:
    """Run the outbox jobs that are due (each claimed by one worker); returns how many went
    through. A job that fails again was re-queued by the service with a longer wait."""
    done = 0
    for job in await integrations.store.claim_due(now):
        service: PagingService | TrackerService | None = (
            integrations.paging if job.op in ("page", "resolve_page") else integrations.tracking
        )
        if service is None:
            continue
        if await service.retry(job):
            done += 1
    return done


def worker_jobs(integrations: Integrations, *, clock: Clock, leases: Leases,
                sync_every: float) -> list[PeriodicJob]:
    """The worker's integration jobs: the retry outbox every 30 s; tracker status sync every
    TRACKER_SYNC_INTERVAL, by one worker at a time (a lease)."""
    if integrations.paging is None and integrations.tracking is None:
        return []

    async def retries() -> int:
        return await retry_due(integrations, clock())

    jobs = [PeriodicJob(name="integration_retries", run=retries, every=RETRY_EVERY)]
    tracking = integrations.tracking
    if tracking is not None:
        async def sync() -> None:
            async with leases.hold("tracker-sync", timedelta(seconds=sync_every)) as lease:
                if lease is not None:
                    await tracking.sync()

        jobs.append(PeriodicJob(name="tracker_sync", run=sync, every=sync_every))
    return jobs
