"""One call per incident: made on declare at CALL_MIN_SEVERITY or worse (and when the
severity is raised to it), or by `/incident call`; kept in the record (`links`), shown in
the channel's header and topic and on the timeline. A provider that is down or slow only
warns: the fixed bridge (MEETING_URL), when there is one beside Zoom or Meet, stands in at
once, else the worker tries again from the outbox. A private incident's meeting is named
by its label only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import structlog

from bot.clock import Clock
from bot.conferencing.port import Conference, FixedBridge, Meeting
from bot.errors import IntegrationError
from bot.incidents.follow_ups import topic_for
from bot.incidents.models import ExternalLink, Incident
from bot.ports import ChatGateway
from bot.store.integrations import IntegrationStore, RetryJob
from bot.store.redis_store import RedisStore
from bot.timeline.models import EventKind, TimelineEvent

log = structlog.get_logger(__name__)

RETRY_BACKOFF = timedelta(minutes=1)
MAX_ATTEMPTS = 10
OUTBOX = "calls"


@dataclass
class CallOutcome:
    url: str | None = None
    made: bool = False  # a new link (False: the incident already had one)
    problems: list[str] = field(default_factory=list)


def meeting_topic(incident: Incident) -> str:
    if incident.private:  # the provider is outside the channel: the label and nothing else
        return incident.public_label
    return f"{incident.id} ({incident.severity.label}): {incident.title}"


class CallService:
    def __init__(
        self,
        *,
        conference: Conference,
        store: RedisStore,
        integrations: IntegrationStore,
        chat: ChatGateway,
        clock: Clock,
        min_severity: int = 2,
        fallback: Conference | None = None,
    ) -> None:
        self.conference = conference
        self.fallback = fallback
        self.store = store
        self.integrations = integrations
        self.chat = chat
        self.clock = clock
        self.min_severity = min_severity

    def wanted(self, incident: Incident) -> bool:
        return int(incident.severity) <= self.min_severity and incident.is_active

    @property
    def instant(self) -> bool:
        """A fixed bridge: the link is known without asking anyone."""
        return self.conference.name == "bridge"

    def link_for(self, provider: Conference, meeting: Meeting) -> ExternalLink:
        return ExternalLink(kind="call", provider=provider.name, url=meeting.url,
                            ref=meeting.ref, at=self.clock())

    def bridge_link(self) -> ExternalLink:
        """The fixed bridge's link, known without a call (see `instant`)."""
        assert isinstance(self.conference, FixedBridge)
        return self.link_for(self.conference, Meeting(url=self.conference.url))

    async def record(self, incident_id: str, link: ExternalLink, actor: str | None) -> Incident:
        label = {"zoom": "Zoom", "meet": "Google Meet"}.get(link.provider, "bridge")

        def add(inc: Incident) -> list[TimelineEvent]:
            if inc.call_url:
                return []  # another replica or the worker was first: keep that one
            inc.set_link(link)
            return [TimelineEvent(
                kind=EventKind.LINK, at=self.clock(), actor=actor,
                text=f"Call link ({label}): {link.url}",
                data={"kind": "call", "provider": link.provider, "url": link.url},
            )]

        incident, _ = await self.store.update_incident(incident_id, add)
        return incident

    async def show(self, incident: Incident) -> None:
        """The channel's topic and header follow the record."""
        await self.chat.set_topic(incident.channel_id, topic_for(incident))
        if incident.header_ts:
            await self.chat.update_header(incident)

    async def start(
        self, incident: Incident, *, actor: str | None, attempt: int = 1, show: bool = True
    ) -> CallOutcome:
        """The incident's call link: the one it has, else a new one (never two)."""
        if incident.call_url:
            return CallOutcome(url=incident.call_url)
        outcome = CallOutcome()
        provider: Conference = self.conference
        try:
            meeting = await provider.create(meeting_topic(incident), request_id=incident.id)
        except IntegrationError as exc:
            log.warning("call_failed", incident=incident.id, provider=provider.name,
                        error=exc.message, retryable=exc.retryable)
            if self.fallback is None:
                if exc.retryable and attempt < MAX_ATTEMPTS:
                    await self.integrations.enqueue(
                        RetryJob(op="call", incident_id=incident.id, attempt=attempt + 1),
                        self.clock() + RETRY_BACKOFF * attempt, queue=OUTBOX,
                    )
                    outcome.problems.append(
                        f"could not make the {provider.label} call yet ({provider.label} is "
                        "not answering); I will keep trying"
                    )
                else:
                    outcome.problems.append(f"could not make the call link: {exc.message}")
                return outcome
            provider = self.fallback
            meeting = await provider.create(meeting_topic(incident), request_id=incident.id)
            outcome.problems.append(
                f"{self.conference.label} did not make a call ({exc.message}); "
                f"use {provider.label} instead"
            )
        recorded = await self.record(incident.id, self.link_for(provider, meeting), actor)
        outcome.url, outcome.made = recorded.call_url, True
        if show:
            await self.show(recorded)
        return outcome

    async def retry(self, job: RetryJob) -> bool:
        """The worker's try at a call that failed on declare; True when done."""
        incident = await self.store.get_incident(job.incident_id)
        if not incident.is_active or incident.call_url:
            return True
        result = await self.start(incident, actor=None, attempt=job.attempt)
        if result.made:
            await self.chat.post(incident.channel_id, f":telephone_receiver: Call link: "
                                 f"{result.url}")
        return result.url is not None

    async def retry_due(self) -> int:
        done = 0
        for job in await self.integrations.claim_due(self.clock(), queue=OUTBOX):
            try:
                if await self.retry(job):
                    done += 1
            except Exception:  # one job's failure never stops the others
                log.exception("call_retry_failed", incident=job.incident_id)
        return done

    async def aclose(self) -> None:
        await self.conference.aclose()
        if self.fallback is not None:
            await self.fallback.aclose()
