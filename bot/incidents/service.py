"""The incident domain: declaring (channel and record), roles, severity, status, notes,
resolution and permissions (finding an incident: reads.py). What follows each change lives
in bot/incidents/flows.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from bot.clock import Clock
from bot.errors import (
    ChatError,
    IncidentBotError,
    InvalidTransition,
    PermissionDenied,
    UsageError,
)
from bot.incidents.access import IncidentAccess
from bot.incidents.channel import create_channel
from bot.incidents.models import Incident, Reopening, Role, Severity, Status
from bot.incidents.reads import IncidentReads
from bot.mrkdwn import escape, mention
from bot.ports import ChatGateway
from bot.store.redis_store import RedisStore
from bot.timeline.models import EventKind, TimelineEvent

log = structlog.get_logger(__name__)

STATUS_ORDER = [
    Status.INVESTIGATING,
    Status.IDENTIFIED,
    Status.MONITORING,
    Status.RESOLVED,
    Status.CLOSED,
]
AdminCheck = Callable[[str], Awaitable[bool]]
# the incident after a change, and the timeline events recorded with it
Updated = tuple[Incident, list[TimelineEvent]]


async def nobody_is_admin(user_id: str) -> bool:
    return False


@dataclass
class DeclareResult:
    incident: Incident


class IncidentService(IncidentReads):
    def __init__(
        self,
        *,
        store: RedisStore,
        chat: ChatGateway,
        clock: Clock,
        incidents_channel: str,
        is_admin: AdminCheck = nobody_is_admin,
        access: IncidentAccess | None = None,
    ) -> None:
        self.store = store
        self.chat = chat
        self.clock = clock
        self.incidents_channel = incidents_channel
        self.is_admin = is_admin
        # the one read rule (bot/incidents/access.py): every entry point asks it
        self.access = access or IncidentAccess(members=chat, is_admin=is_admin)

    # --- declare -------------------------------------------------------------------

    async def declare(
        self,
        *,
        title: str,
        declared_by: str,
        severity: Severity = Severity.SEV3,
        services: list[str] | None = None,
        tags: list[str] | None = None,
        description: str = "",
        started_ago: timedelta | None = None,
        private: bool = False,
    ) -> DeclareResult:
        title = " ".join(title.split())
        if not title:
            raise UsageError("An incident needs a title.")
        if len(title) > 150:
            raise UsageError(f"The title is too long ({len(title)} characters; at most 150).")
        await self.store.ping()  # fail before creating a channel we could not record
        now = self.clock()
        channel = await create_channel(self.chat, title, now, private=private)
        incident = Incident(
            id=await self._allocate_id(channel.id, now),
            title=title,
            description=description.strip(),
            severity=severity,
            services=services or [],
            tags=tags or [],
            channel_id=channel.id,
            channel_name=channel.name,
            roles={Role.IC: declared_by},
            declared_by=declared_by,
            declared_at=now,
            impact_started_at=now - started_ago if started_ago else None,
            detected_at=now,
            private=private,
        )
        declared = TimelineEvent(
            kind=EventKind.DECLARED,
            at=now,
            actor=declared_by,
            text=(
                f"Incident declared: {escape(title)} ({severity.label}); IC {mention(declared_by)}"
            ),
            data={"severity": severity.label, **({"private": "yes"} if private else {})},
        )
        try:
            await self.store.create_incident(incident, declared)
        except IncidentBotError:
            await self._quietly(self.chat.archive_channel(channel.id), "archive")
            raise
        return DeclareResult(incident=incident)

    async def _allocate_id(self, channel_id: str, now: datetime) -> str:
        try:
            return await self.store.next_incident_id(now)
        except IncidentBotError:
            await self._quietly(self.chat.archive_channel(channel_id), "archive")
            raise

    async def remember_header(self, incident_id: str, header_ts: str) -> Incident:
        """Keep the ts of the header message, so later changes can edit it."""

        def remember(inc: Incident) -> list[TimelineEvent]:
            inc.header_ts = header_ts
            return []

        incident, _ = await self.store.update_incident(incident_id, remember)
        return incident

    async def remember_announcement(self, incident_id: str, channel_id: str, ts: str) -> Incident:
        """Keep where the declaration was announced, so status updates can reply in its
        thread and edit it."""

        def remember(inc: Incident) -> list[TimelineEvent]:
            inc.announcement_channel_id, inc.announcement_ts = channel_id, ts
            return []

        incident, _ = await self.store.update_incident(incident_id, remember)
        return incident

    async def _quietly(self, step: Awaitable[object], what: str) -> bool:
        try:
            await step
        except ChatError as exc:
            log.warning("chat_step_failed", step=what, error=exc.code)
            return False
        return True

    # --- changes: each checks, then updates the record and its timeline in one transaction;
    # what follows a change (topic, header, posts, announcements) is in bot/incidents/flows.py

    async def _may_command(self, incident: Incident, actor: str, what: str) -> None:
        if incident.roles.get(Role.IC) == actor or await self.is_admin(actor):
            return
        raise PermissionDenied(
            f"Only the incident commander ({mention(incident.roles.get(Role.IC))}) or an "
            f"admin may {what}."
        )

    async def assign_role(
        self, incident: Incident, role: Role, user_id: str, actor: str
    ) -> Updated:
        user = await self.chat.user(user_id)
        if user.is_bot:
            raise UsageError(f"{mention(user_id)} is a bot; roles go to people.")
        if role is Role.IC and incident.roles.get(Role.IC) not in (None, actor):
            await self._may_command(incident, actor, "hand over the IC role")
        if incident.status is Status.CLOSED:
            raise InvalidTransition(f"{incident.id} is closed; roles can no longer change.")
        now = self.clock()

        def change(inc: Incident) -> list[TimelineEvent]:
            previous = inc.roles.get(role)
            inc.roles[role] = user_id
            handoff = f" (from {mention(previous)})" if previous and previous != user_id else ""
            return [
                TimelineEvent(
                    kind=EventKind.ROLE,
                    at=now,
                    actor=actor,
                    text=f"{role.display_name}: {mention(user_id)}{handoff}",
                    data={"role": role.value, "user": user_id, "previous": previous or ""},
                )
            ]

        return await self.store.update_incident(incident.id, change)

    async def set_severity(self, incident: Incident, severity: Severity, actor: str) -> Updated:
        if not incident.is_active:
            await self._may_command(incident, actor, "change the severity of a resolved incident")
        if incident.severity == severity:
            raise UsageError(f"{incident.id} is already {severity.label}.")
        now = self.clock()

        def change(inc: Incident) -> list[TimelineEvent]:
            before = inc.severity
            inc.severity = severity
            return [
                TimelineEvent(
                    kind=EventKind.SEVERITY,
                    at=now,
                    actor=actor,
                    text=f"Severity {before.label} → {severity.label}",
                    data={"from": before.label, "to": severity.label},
                )
            ]

        return await self.store.update_incident(incident.id, change)

    async def check_status(self, incident: Incident, status: Status, actor: str) -> None:
        """Raise when `actor` may not move `incident` to `status` (resolved and closed have
        their own checks)."""
        if incident.status is Status.CLOSED:
            raise InvalidTransition(f"{incident.id} is closed; its status can no longer change.")
        if incident.status == status:
            raise UsageError(f"{incident.id} is already {status.value}.")
        if incident.status is Status.RESOLVED:
            await self._may_command(incident, actor, "reopen a resolved incident")

    async def set_status(self, incident: Incident, status: Status, actor: str) -> Updated:
        """Investigating, identified or monitoring (resolve and close are their own changes)."""
        if status in (Status.RESOLVED, Status.CLOSED):
            raise InvalidTransition(f"Use resolve or close to make {incident.id} {status.value}.")
        await self.check_status(incident, status, actor)
        now = self.clock()

        def change(inc: Incident) -> list[TimelineEvent]:
            before = inc.status
            inc.status = status
            if status is Status.IDENTIFIED and inc.identified_at is None:
                inc.identified_at = now
            if status is Status.MONITORING and inc.mitigated_at is None:
                inc.mitigated_at = now
            if before is Status.RESOLVED and inc.resolved_at is not None:
                # a status change out of resolved is a reopening: keep the first period
                inc.reopenings.append(
                    Reopening(at=now, by=actor, reason="", resolved_at=inc.resolved_at)
                )
                inc.resolved_at = None
            return [
                TimelineEvent(
                    kind=EventKind.STATUS,
                    at=now,
                    actor=actor,
                    text=f"Status {before.value} → {status.value}",
                    data={"from": before.value, "to": status.value},
                )
            ]

        return await self.store.update_incident(incident.id, change)

    async def set_labels(
        self, incident: Incident, *, field_name: str, values: list[str], actor: str
    ) -> Updated:
        now = self.clock()
        kind = EventKind.SERVICES if field_name == "services" else EventKind.TAGS

        def change(inc: Incident) -> list[TimelineEvent]:
            setattr(inc, field_name, values)
            return [
                TimelineEvent(
                    kind=kind,
                    at=now,
                    actor=actor,
                    text=f"{field_name.capitalize()}: {', '.join(values)}",
                )
            ]

        return await self.store.update_incident(incident.id, change)

    async def add_note(self, incident: Incident, text: str, actor: str) -> TimelineEvent:
        text = text.strip()
        if not text:
            raise UsageError("A note needs some text.")
        event = TimelineEvent(
            kind=EventKind.NOTE, at=self.clock(), actor=actor, text=text, key=True
        )
        await self.store.append_event(incident.id, event)
        return event

    async def check_resolve(self, incident: Incident, actor: str) -> None:
        """Raise when `actor` may not resolve `incident` (now)."""
        await self._may_command(incident, actor, "resolve the incident")
        if incident.status in (Status.RESOLVED, Status.CLOSED):
            raise InvalidTransition(f"{incident.id} is already {incident.status.value}.")

    async def resolve(self, incident: Incident, actor: str, summary: str | None) -> Updated:
        await self.check_resolve(incident, actor)
        now = self.clock()

        def change(inc: Incident) -> list[TimelineEvent]:
            inc.status = Status.RESOLVED
            inc.resolved_at = now
            inc.mitigated_at = inc.mitigated_at or now
            inc.identified_at = inc.identified_at or now
            if summary:
                inc.resolution_summary = summary.strip()
            return [
                TimelineEvent(
                    kind=EventKind.RESOLVED,
                    at=now,
                    actor=actor,
                    text="Resolved" + (f": {escape(summary.strip())}" if summary else ""),
                )
            ]

        return await self.store.update_incident(incident.id, change)

    async def record_impact_start(
        self, incident: Incident, at: datetime, actor: str, *, why: str
    ) -> Updated:
        """Record when impact began (earlier than the declaration, e.g. when the metrics
        first crossed their thresholds); it becomes the start TTD/TTM/TTR count from."""
        await self._may_command(incident, actor, "change when the impact started")
        if incident.status is Status.CLOSED:
            raise InvalidTransition(f"{incident.id} is closed; its times can no longer change.")
        if at > incident.declared_at:
            raise UsageError("The impact start must be at or before the declaration.")
        now = self.clock()

        def change(inc: Incident) -> list[TimelineEvent]:
            before = inc.impact_started_at
            inc.impact_started_at = at
            return [
                TimelineEvent(
                    kind=EventKind.METRICS,
                    at=now,
                    actor=actor,
                    text=f"Impact start recorded as {at:%Y-%m-%d %H:%M:%S} UTC ({why})",
                    data={
                        "impact_started_at": at.isoformat(),
                        "before": before.isoformat() if before else "",
                    },
                )
            ]

        return await self.store.update_incident(incident.id, change)

    async def check_close(self, incident: Incident, actor: str) -> None:
        """Raise when `actor` may not close `incident` (now)."""
        await self._may_command(incident, actor, "close the incident")
        if incident.status is not Status.RESOLVED:
            raise InvalidTransition(
                f"{incident.id} is {incident.status.value}; resolve it before closing it."
            )

    async def close(self, incident: Incident, actor: str) -> Updated:
        await self.check_close(incident, actor)
        now = self.clock()

        def change(inc: Incident) -> list[TimelineEvent]:
            inc.status = Status.CLOSED
            inc.closed_at = now
            return [TimelineEvent(kind=EventKind.CLOSED, at=now, actor=actor, text="Closed")]

        return await self.store.update_incident(incident.id, change)
