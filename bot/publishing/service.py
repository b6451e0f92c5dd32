"""Publishing the postmortem: `/incident postmortem publish [confluence|notion|gdocs]`, and
with POSTMORTEM_PUBLISH=auto every new version, to each configured place. One document per
incident and place: a new version updates it (Confluence: the next page version; Notion:
the page's children replaced; Google Docs: the same file). The link goes in the channel,
on the timeline and in the record (`Incident.links`, which the web page shows).

A private incident is published only when a person confirms it and names the place
(`place:<parent page or folder id>`); its document is titled by its label; auto never
publishes it. A store that is down or slow warns once and the worker retries from the
outbox ("publish"); a refusal (credentials, a bad place) is said plainly and not retried.
Two publishes of one incident to one place never run at once (a lease), so a second
document is never made."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

import structlog

from bot.clock import Clock
from bot.errors import IntegrationError, UsageError
from bot.incidents.models import ExternalLink, Incident
from bot.mrkdwn import escape
from bot.ports import ChatGateway
from bot.postmortem.models import Postmortem
from bot.postmortem.service import PostmortemService
from bot.publishing.document import Document, build_document
from bot.publishing.port import DocumentStore, Published
from bot.store.integrations import IntegrationStore, RetryJob
from bot.store.redis_store import RedisStore
from bot.timeline.models import EventKind, TimelineEvent

log = structlog.get_logger(__name__)

OUTBOX = "publish"
RETRY_BACKOFF = timedelta(minutes=2)
MAX_ATTEMPTS = 10
LEASE = timedelta(minutes=2)
Chart = Callable[[Incident], Awaitable[tuple[bytes | None, str]]]


async def no_chart(incident: Incident) -> tuple[bytes | None, str]:
    return None, "No metric chart: Prometheus is not configured."


@dataclass
class PublishOutcome:
    published: list[tuple[str, str]] = field(default_factory=list)  # (label, url)
    problems: list[str] = field(default_factory=list)


class PublishService:
    def __init__(
        self,
        *,
        stores: list[DocumentStore],
        postmortems: PostmortemService,
        store: RedisStore,
        integrations: IntegrationStore,
        chat: ChatGateway,
        clock: Clock,
        auto: bool = False,
        web_base_url: str | None = None,
        chart: Chart = no_chart,
    ) -> None:
        self.stores = {s.name: s for s in stores}
        self.postmortems = postmortems
        self.store = store
        self.integrations = integrations
        self.chat = chat
        self.clock = clock
        self.auto = auto
        self.web_base_url = web_base_url
        self.chart = chart
        self._running: set[asyncio.Task[None]] = set()

    def resolve_targets(self, names: list[str]) -> list[DocumentStore]:
        if not names:
            return list(self.stores.values())
        unknown = [n for n in names if n not in self.stores]
        if unknown:
            where = ", ".join(f"`{n}`" for n in self.stores)
            raise UsageError(f"`{escape(unknown[0])}` is not configured here; publish to {where}.")
        return [self.stores[n] for n in names]

    async def publish(
        self, incident_id: str, targets: list[DocumentStore], *, actor: str | None,
        place: str | None = None, confirmed: bool = False, attempt: int = 1,
    ) -> PublishOutcome:
        """Publish the latest postmortem version to each target. A private incident needs
        `confirmed` (and, for a first document, a `place`); the command asks for both."""
        incident = await self.store.get_incident(incident_id)
        if incident.private and not confirmed:
            raise UsageError(f"{incident.id} is private: it is published only when you confirm.")
        pm = await self.postmortems.latest(incident.id)
        if pm is None:
            raise UsageError(f"{incident.id} has no postmortem draft yet: run "
                             "`/incident postmortem` first.")
        outcome = PublishOutcome()
        document = None
        for target in targets:
            existing = incident.link("postmortem", target.name)
            if incident.private and existing is None and not place:
                outcome.problems.append(f"name the place in {target.label} for a private "
                                        "incident (`place:<parent page or folder id>`)")
                continue
            if existing is not None and existing.source_version == pm.version:
                outcome.published.append((target.label, existing.url))
                continue
            if document is None:
                png, note = await self.chart(incident)
                document = build_document(
                    incident, await self.postmortems.markdown(pm), pm.version,
                    web_base_url=self.web_base_url, chart_png=png, chart_note=note)
            await self._one(incident, target, document, existing, place, confirmed, actor,
                            attempt, outcome)
        return outcome

    async def _one(self, incident: Incident, target: DocumentStore, document: Document,
                   existing: ExternalLink | None, place: str | None, confirmed: bool,
                   actor: str | None, attempt: int, outcome: PublishOutcome) -> None:
        lease_name = f"publish:{incident.id}:{target.name}"
        async with self.store.leases.hold(lease_name, LEASE) as lease:
            if lease is None:  # another replica is publishing it right now: after it
                await self._retry_later(incident, target, place, confirmed, attempt)
                outcome.problems.append(f"{target.label} is being updated already; the "
                                        "newest version follows")
                return
            # what the last holder recorded, read again under the lease: a publish that read
            # the record before another one made the document updates it, never makes a second
            current = (await self.store.get_incident(incident.id)).link(
                "postmortem", target.name)
            if current is not None:
                existing = current
                if current.source_version >= document.version:
                    outcome.published.append((target.label, current.url))
                    return
            try:
                published: Published | None = None
                if existing is not None:
                    published = await target.update(document, existing.ref)
                if published is None:  # first, or deleted there: made again where it was
                    published = await target.create(
                        document, place or (existing.place if existing else "") or None)
            except IntegrationError as exc:
                log.warning("publish_failed", incident=incident.id, store=target.name,
                            error=exc.message, retryable=exc.retryable)
                if exc.retryable and attempt < MAX_ATTEMPTS:
                    await self._retry_later(incident, target, place, confirmed, attempt)
                    outcome.problems.append(f"could not publish to {target.label} yet "
                                            f"({target.label} is not answering); I will keep "
                                            "trying")
                else:
                    outcome.problems.append(f"could not publish to {target.label}: "
                                            f"{exc.message}")
                return
            link = ExternalLink(kind="postmortem", provider=target.name, url=published.url,
                                ref=published.ref, version=published.version,
                                source_version=document.version,
                                place=place or (existing.place if existing else ""),
                                at=self.clock())
            await self._record(incident.id, target, link, actor)  # before the lease is let go
        outcome.published.append((target.label, published.url))
        await self.chat.post(
            incident.channel_id,
            f":page_facing_up: Postmortem v{document.version} "
            + ("updated" if existing else "published") + f" in {target.label}: "
            f"<{published.url}|{escape(document.title)}>",
        )

    async def _record(self, incident_id: str, target: DocumentStore, link: ExternalLink,
                      actor: str | None) -> None:
        def add(inc: Incident) -> list[TimelineEvent]:
            inc.set_link(link)
            return [TimelineEvent(
                kind=EventKind.LINK, at=self.clock(), actor=actor,
                text=f"Postmortem v{link.source_version} published in {target.label}: "
                f"{link.url}",
                data={"kind": "postmortem", "provider": target.name, "url": link.url,
                      "version": str(link.source_version)},
            )]

        await self.store.update_incident(incident_id, add)

    async def _retry_later(self, incident: Incident, target: DocumentStore,
                           place: str | None, confirmed: bool, attempt: int) -> None:
        await self.integrations.enqueue(
            RetryJob(op="publish", incident_id=incident.id, target=target.name,
                     attempt=attempt + 1, args={"place": place or "", "confirmed": confirmed}),
            self.clock() + RETRY_BACKOFF * attempt, queue=OUTBOX,
        )

    # --- every version (POSTMORTEM_PUBLISH=auto) ----------------------------------------

    async def on_version(self, pm: Postmortem) -> None:
        """A new postmortem version: published in the background (the draft's reply never
        waits on it); a private incident only says how to publish it."""
        if not self.auto or not self.stores:
            return
        incident = await self.store.get_incident(pm.incident_id)
        if incident.private:
            await self.chat.post(incident.channel_id, ":lock: This incident is private, so "
                                 "its postmortem is not published by itself: "
                                 "`/incident postmortem publish <place> place:<id>` asks you "
                                 "to confirm.")
            return
        task = asyncio.create_task(self._auto(incident.id))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _auto(self, incident_id: str) -> None:
        # the worker's copy first: a process that dies mid-publish loses nothing
        promises = [RetryJob(op="publish", incident_id=incident_id, target=name,
                             args={"place": "", "confirmed": False}) for name in self.stores]
        for job in promises:
            await self.integrations.enqueue(job, self.clock() + RETRY_BACKOFF, queue=OUTBOX)
        try:
            outcome = await self.publish(incident_id, list(self.stores.values()), actor=None)
        except Exception:
            log.exception("publish_auto_failed", incident=incident_id)
            return  # the promises stay: the worker tries again
        for job in promises:  # done here (or re-queued by publish itself when it failed)
            await self.integrations.remove(job, queue=OUTBOX)
        if outcome.problems:
            incident = await self.store.get_incident(incident_id)
            await self.chat.post(incident.channel_id, ":warning: I "
                                 + "; ".join(outcome.problems) + ".")

    async def settle(self) -> None:
        """Wait for the background publishes (tests, the demo, shutdown)."""
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)

    # --- the worker ------------------------------------------------------------------------

    async def retry_due(self) -> int:
        done = 0
        for job in await self.integrations.claim_due(self.clock(), queue=OUTBOX):
            target = self.stores.get(job.target)
            if target is None:
                continue
            try:
                outcome = await self.publish(
                    job.incident_id, [target], actor=None, attempt=job.attempt,
                    place=str(job.args.get("place") or "") or None,
                    confirmed=bool(job.args.get("confirmed")),
                )
            except Exception:  # one job's failure never stops the others
                log.exception("publish_retry_failed", incident=job.incident_id)
                continue
            done += 1 if outcome.published else 0
        return done

    async def aclose(self) -> None:
        await self.settle()
        for target in self.stores.values():
            await target.aclose()
