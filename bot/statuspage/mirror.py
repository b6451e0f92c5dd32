"""The optional mirror to Atlassian Statuspage (STATUSPAGE_API_KEY, STATUSPAGE_PAGE_ID; the
component mapping is `statuspage_id` in the components file). A publish never waits on it:
it only queues the public incident (or maintenance window) in the integrations' outbox; the
worker then creates it there, posts each update not yet mirrored, and sets the mapped
components' statuses through the incident. A Statuspage that is down or throttling is tried
again later; a refusal is logged and dropped. Components without a mapping stay ours."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Protocol

import structlog

from bot.clock import Clock
from bot.errors import IntegrationError
from bot.statuspage.components import Components
from bot.statuspage.models import Maintenance, PublicIncident, PublicUpdate
from bot.store.integrations import IntegrationStore, RetryJob
from bot.store.statuspage import StatusPageStore

log = structlog.get_logger(__name__)
QUEUE = "statuspage"
BACKOFF = timedelta(minutes=1)
MAX_ATTEMPTS = 10


class StatuspagePort(Protocol):
    async def create_incident(self, incident: dict[str, Any]) -> str: ...

    async def update_incident(self, remote_id: str, incident: dict[str, Any]) -> None: ...


class Mirror:
    def __init__(self, *, api: StatuspagePort, pages: StatusPageStore,
                 outbox: IntegrationStore, components: Components, clock: Clock) -> None:
        self.api = api
        self.pages = pages
        self.outbox = outbox
        self.components = components
        self.clock = clock

    def _ids(self, statuses: dict[str, str]) -> dict[str, str]:
        """Our component names -> their ids, for the mapped ones."""
        out = {}
        for name, status in statuses.items():
            spec = self.components.find(name)
            if spec is not None and spec.statuspage_id and not spec.internal:
                out[spec.statuspage_id] = status
        return out

    async def follow(self, subject: PublicIncident | Maintenance, update: PublicUpdate) -> None:
        """A follower of every publish: queue the subject, never call out here."""
        if subject.internal:
            return
        kind = "incident" if isinstance(subject, PublicIncident) else "maintenance"
        await self.outbox.enqueue(
            RetryJob(op=f"statuspage_{kind}", incident_id=subject.id), self.clock(), queue=QUEUE)

    async def run_due(self) -> int:
        """The worker's job: mirror what is queued; returns how many went through."""
        done = 0
        for job in await self.outbox.claim_due(self.clock(), queue=QUEUE):
            try:
                await self._mirror(job)
                done += 1
            except IntegrationError as exc:
                again = exc.retryable and job.attempt < MAX_ATTEMPTS
                log.warning("statuspage_mirror_failed", subject=job.incident_id,
                            error=exc.message, again=again)
                if again:
                    await self.outbox.enqueue(
                        job.model_copy(update={"attempt": job.attempt + 1}),
                        self.clock() + BACKOFF * job.attempt, queue=QUEUE)
        return done

    async def _mirror(self, job: RetryJob) -> None:
        subject: PublicIncident | Maintenance | None
        if job.op == "statuspage_incident":
            subject = await self.pages.public_incident(job.incident_id)
        else:
            subject = await self.pages.maintenance(job.incident_id)
        if subject is None:
            return
        state = await self.pages.mirror_state(subject.id)
        remote, last = state.get("remote_id"), state.get("last_update", "")
        updates = sorted(subject.updates, key=lambda u: u.at)
        if remote is None:
            first = updates[-1]  # what it says now
            remote = await self.api.create_incident(self._create(subject, first))
            await self.pages.set_mirror_state(subject.id, remote_id=remote,
                                              last_update=first.id)
            return
        seen = [u.id for u in updates]
        pending = updates[seen.index(last) + 1:] if last in seen else updates[-1:]
        for update in pending:
            body: dict[str, Any] = {"status": update.status, "body": update.body,
                                    "name": subject.name}
            ids = self._ids({n: s.value for n, s in update.components.items()})
            if ids:
                body["components"] = ids
                body["component_ids"] = sorted(ids)
            await self.api.update_incident(remote, body)
            await self.pages.set_mirror_state(subject.id, last_update=update.id)

    def _create(self, subject: PublicIncident | Maintenance, update: PublicUpdate
                ) -> dict[str, Any]:
        body: dict[str, Any] = {"name": subject.name, "status": update.status,
                                "body": update.body, "deliver_notifications": True}
        if isinstance(subject, PublicIncident):
            ids = self._ids({n: s.value for n, s in subject.components.items()})
            if ids:
                body["components"] = ids
                body["component_ids"] = sorted(ids)
            return body
        ids = self._ids({n: "under_maintenance" for n in subject.components})
        body.update(
            scheduled_for=subject.scheduled_for.isoformat(),
            scheduled_until=subject.scheduled_until.isoformat(),
            scheduled_auto_in_progress=False, scheduled_auto_completed=False,
            component_ids=sorted(ids),
        )
        return body
