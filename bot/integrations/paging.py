"""Paging the on-call through PagerDuty and/or Opsgenie: on declare at or above
PAGE_MIN_SEVERITY, on a severity raised above the bar, and by hand (`/incident page`); the
pages are resolved when the incident is. Every page's dedup key is `<incident id>:<target>`,
so a retried declare never pages twice. A pager that is down never blocks the flow: the
user is told, and the worker retries from the outbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import structlog

from bot.clock import Clock
from bot.errors import IntegrationError
from bot.incidents.access import IncidentAccess
from bot.incidents.models import Incident
from bot.integrations.pagers.base import ALL_TARGETS, Page, Pager
from bot.mrkdwn import escape
from bot.store.integrations import IntegrationStore, RetryJob
from bot.store.redis_store import RedisStore
from bot.timeline.models import EventKind, TimelineEvent

log = structlog.get_logger(__name__)

RETRY_BACKOFF = timedelta(minutes=1)
MAX_ATTEMPTS = 10


def dedup_key(incident_id: str, target: str) -> str:
    return f"{incident_id}:{target}"


@dataclass
class PageOutcome:
    paged: list[str] = field(default_factory=list)  # "checkout via PagerDuty"
    problems: list[str] = field(default_factory=list)  # plain words for the user


class PagingService:
    def __init__(
        self,
        *,
        pagers: list[Pager],
        store: RedisStore,
        integrations: IntegrationStore,
        clock: Clock,
        min_severity: int = 1,
        link: str = "",
        access: IncidentAccess | None = None,
    ) -> None:
        self.pagers = pagers
        # who may page for an incident by hand (the read rule); the worker only retries
        self.access = access
        self.store = store
        self.integrations = integrations
        self.clock = clock
        self.min_severity = min_severity
        self.link = link  # e.g. "https://slack.com/app_redirect?channel={channel}"

    @property
    def configured(self) -> bool:
        return bool(self.pagers)

    def _pays(self, incident: Incident) -> bool:
        return int(incident.severity) <= self.min_severity

    def targets(self, incident: Incident) -> list[str]:
        return list(incident.services) or [ALL_TARGETS]

    def _page(self, incident: Incident, target: str, message: str) -> Page:
        if incident.private:  # the pager is outside the channel: the label and nothing else
            summary = incident.public_label
        else:
            summary = f"[{incident.severity.label}] {incident.id}: {incident.title}"
            if message:
                summary += f" — {message}"
        return Page(
            dedup_key=dedup_key(incident.id, target),
            target=target,
            summary=summary,
            severity=int(incident.severity),
            details={
                "incident": incident.id,
                "severity": incident.severity.label,
                "status": incident.status.value,
                # a private channel's name is made from the title
                **({} if incident.private else {"channel": f"#{incident.channel_name}"}),
            },
            link=self.link.format(channel=incident.channel_id) if self.link else None,
        )

    async def on_declare(self, incident: Incident) -> PageOutcome:
        if not self.configured or not self._pays(incident):
            return PageOutcome()
        return await self.page(incident, self.targets(incident), actor=incident.declared_by)

    async def on_severity(self, incident: Incident, before: int) -> PageOutcome:
        """A severity raised over the bar pages, once per target (the dedup key holds it)."""
        if not self.configured or not self._pays(incident) or before <= self.min_severity:
            return PageOutcome()
        return await self.page(incident, self.targets(incident), actor=None)

    async def page(
        self, incident: Incident, targets: list[str], *, actor: str | None, message: str = ""
    ) -> PageOutcome:
        """Page `targets` for `incident`; `actor` None is the bot itself (a raised severity)."""
        if actor is not None and self.access is not None:
            await self.access.require_change(incident, actor)
        outcome = PageOutcome()
        for target in targets:
            pagers = [p for p in self.pagers if p.can_page(target)]
            if not pagers:
                outcome.problems.append(f"no pager knows where to page `{escape(target)}`")
                continue
            for pager in pagers:
                await self._send(incident, target, pager, message, actor, outcome)
        return outcome

    async def _send(
        self,
        incident: Incident,
        target: str,
        pager: Pager,
        message: str,
        actor: str | None,
        outcome: PageOutcome,
        attempt: int = 1,
    ) -> bool:
        page = self._page(incident, target, message)
        try:
            await pager.trigger(page)
        except IntegrationError as exc:
            log.warning("page_failed", incident=incident.id, pager=pager.name, error=exc.message)
            if exc.retryable and attempt < MAX_ATTEMPTS:
                await self.integrations.enqueue(
                    RetryJob(op="page", incident_id=incident.id, target=target, text=message,
                             attempt=attempt + 1, args={"pager": pager.name}),
                    self.clock() + RETRY_BACKOFF * attempt,
                )
                outcome.problems.append(
                    f"could not page `{escape(target)}` through {pager.name} yet "
                    "(it is not answering); I will keep trying"
                )
            else:
                outcome.problems.append(
                    f"{pager.name} refused the page for `{escape(target)}`: {exc.message}"
                )
            return False
        await self.integrations.remember_page(incident.id, target, pager.name, page.dedup_key)
        outcome.paged.append(f"{target} via {pager.name}")
        await self.store.append_event(
            incident.id,
            TimelineEvent(
                kind=EventKind.PAGE,
                at=self.clock(),
                actor=actor,
                text=f"Paged the on-call for {escape(target)} through {pager.name}",
                data={"target": target, "pager": pager.name, "action": "trigger"},
            ),
        )
        return True

    async def on_resolve(self, incident: Incident) -> PageOutcome:
        outcome = PageOutcome()
        if not self.configured:
            return outcome
        by_name = {p.name: p for p in self.pagers}
        for target, (name, dedup) in (await self.integrations.pages(incident.id)).items():
            pager = by_name.get(name)
            if pager is None:
                continue
            await self._resolve(incident.id, target, pager, dedup, outcome)
        return outcome

    async def _resolve(
        self, incident_id: str, target: str, pager: Pager, dedup: str, outcome: PageOutcome,
        attempt: int = 1,
    ) -> bool:
        try:
            await pager.resolve(dedup, target)
        except IntegrationError as exc:
            log.warning("page_resolve_failed", incident=incident_id, pager=pager.name,
                        error=exc.message)
            if exc.retryable and attempt < MAX_ATTEMPTS:
                await self.integrations.enqueue(
                    RetryJob(op="resolve_page", incident_id=incident_id, target=target,
                             attempt=attempt + 1, args={"pager": pager.name, "dedup": dedup}),
                    self.clock() + RETRY_BACKOFF * attempt,
                )
                outcome.problems.append(
                    f"could not resolve the {pager.name} page for `{escape(target)}` yet; "
                    "I will keep trying"
                )
            else:
                outcome.problems.append(f"{pager.name} refused to resolve the page: {exc.message}")
            return False
        outcome.paged.append(f"{target} via {pager.name}")
        return True

    async def retry(self, job: RetryJob) -> bool:
        """Run one outbox job again (the worker calls this); True when it went through."""
        pager = next((p for p in self.pagers if p.name == job.args.get("pager")), None)
        if pager is None:
            return True  # the pager is no longer configured: nothing left to do
        outcome = PageOutcome()
        if job.op == "resolve_page":
            return await self._resolve(
                job.incident_id, job.target, pager, str(job.args["dedup"]), outcome, job.attempt
            )
        incident = await self.store.get_incident(job.incident_id)
        if not incident.is_active:
            return True  # resolved meanwhile: no page for a finished incident
        return await self._send(
            incident, job.target, pager, job.text, None, outcome, attempt=job.attempt
        )
