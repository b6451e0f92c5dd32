"""Declaring and running an incident: channel, roles, severity, status, notes, resolution."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from bot.clock import Clock
from bot.errors import (
    ChatError,
    IncidentBotError,
    InvalidTransition,
    NotInIncidentChannel,
    PermissionDenied,
    UsageError,
)
from bot.incidents.models import Incident, Role, Severity, Status, format_duration
from bot.incidents.naming import channel_name
from bot.mrkdwn import escape, mention
from bot.ports import ChannelRef, ChatGateway
from bot.store.redis_store import RedisStore
from bot.timeline.models import EventKind, TimelineEvent

log = structlog.get_logger(__name__)

MAX_NAME_ATTEMPTS = 5
STATUS_ORDER = [
    Status.INVESTIGATING,
    Status.IDENTIFIED,
    Status.MONITORING,
    Status.RESOLVED,
    Status.CLOSED,
]
AdminCheck = Callable[[str], Awaitable[bool]]


async def nobody_is_admin(user_id: str) -> bool:
    return False


@dataclass
class DeclareResult:
    incident: Incident
    warnings: list[str] = field(default_factory=list)


def topic_for(incident: Incident) -> str:
    ic = incident.roles.get(Role.IC)
    return (
        f"{incident.severity.label} | {incident.status.value.capitalize()} | "
        f"IC: {mention(ic)} | {incident.id}"
    )


class IncidentService:
    def __init__(
        self,
        *,
        store: RedisStore,
        chat: ChatGateway,
        clock: Clock,
        incidents_channel: str,
        is_admin: AdminCheck = nobody_is_admin,
    ) -> None:
        self.store = store
        self.chat = chat
        self.clock = clock
        self.incidents_channel = incidents_channel
        self.is_admin = is_admin

    # --- finding the incident -----------------------------------------------------

    async def for_channel(self, channel_id: str) -> Incident | None:
        incident_id = await self.store.incident_id_for_channel(channel_id)
        return None if incident_id is None else await self.store.get_incident(incident_id)

    async def target(self, channel_id: str, explicit_id: str | None) -> Incident:
        """The incident a command acts on: `id:` when given, else the channel's."""
        if explicit_id:
            return await self.store.get_incident(explicit_id.upper())
        incident = await self.for_channel(channel_id)
        if incident is None:
            raise NotInIncidentChannel(
                "This is not an incident channel. Run it in the incident's channel, "
                "or add `id:INC-…`."
            )
        return incident

    async def list_open(self) -> list[Incident]:
        ids = await self.store.list_incident_ids(open_only=True)
        return [i for i in await self.store.incidents(ids) if i.is_active]

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
    ) -> DeclareResult:
        title = " ".join(title.split())
        if not title:
            raise UsageError("An incident needs a title.")
        if len(title) > 150:
            raise UsageError(f"The title is too long ({len(title)} characters; at most 150).")
        await self.store.ping()  # fail before creating a channel we could not record
        now = self.clock()
        channel = await self._create_channel(title, now)
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
        )
        declared = TimelineEvent(
            kind=EventKind.DECLARED,
            at=now,
            actor=declared_by,
            text=(
                f"Incident declared: {escape(title)} ({severity.label}); "
                f"IC {mention(declared_by)}"
            ),
            data={"severity": severity.label},
        )
        try:
            await self.store.create_incident(incident, declared)
        except IncidentBotError:
            await self._quietly(self.chat.archive_channel(channel.id), "archive")
            raise
        result = DeclareResult(incident=incident)
        await self._finish_setup(result)
        return result

    async def _allocate_id(self, channel_id: str, now: datetime) -> str:
        try:
            return await self.store.next_incident_id(now)
        except IncidentBotError:
            await self._quietly(self.chat.archive_channel(channel_id), "archive")
            raise

    async def _create_channel(self, title: str, declared_at: datetime) -> ChannelRef:
        last_error: ChatError | None = None
        for attempt in range(1, MAX_NAME_ATTEMPTS + 1):
            try:
                return await self.chat.create_channel(channel_name(title, declared_at, attempt))
            except ChatError as exc:
                if exc.code != "name_taken":
                    raise ChatError(
                        f"Could not create the incident channel: {exc.message}. "
                        "No incident was recorded.",
                        code=exc.code,
                    ) from exc
                last_error = exc
        raise ChatError(
            f"Could not create the incident channel: the names "
            f"`{channel_name(title, declared_at)}` to -{MAX_NAME_ATTEMPTS} are all taken.",
            code=last_error.code if last_error else "name_taken",
        )

    async def _finish_setup(self, result: DeclareResult) -> None:
        incident = result.incident
        steps: list[tuple[str, Awaitable[object]]] = [
            (
                "invite you to the channel",
                self.chat.invite(incident.channel_id, [incident.declared_by]),
            ),
            (
                "set the channel topic",
                self.chat.set_topic(incident.channel_id, topic_for(incident)),
            ),
        ]
        for what, step in steps:
            if not await self._quietly(step, what):
                result.warnings.append(f"could not {what}")
        try:
            header_ts = await self.chat.post_header(incident)
        except ChatError as exc:
            log.warning("header_failed", incident=incident.id, error=exc.code)
            result.warnings.append("could not post the header message")
        else:

            def remember_header(inc: Incident) -> list[TimelineEvent]:
                inc.header_ts = header_ts
                return []

            incident, _ = await self.store.update_incident(incident.id, remember_header)
            result.incident = incident
        announcement = (
            f":rotating_light: *{incident.severity.label}* {escape(incident.title)} — "
            f"declared by {mention(incident.declared_by)} in <#{incident.channel_id}>"
        )
        if not await self._quietly(
            self.chat.announce(self.incidents_channel, incident, announcement), "announce"
        ):
            result.warnings.append(f"could not announce it in #{self.incidents_channel}")

    async def _quietly(self, step: Awaitable[object], what: str) -> bool:
        try:
            await step
        except ChatError as exc:
            log.warning("chat_step_failed", step=what, error=exc.code)
            return False
        return True

    # --- changes ---------------------------------------------------------------------

    async def _may_command(self, incident: Incident, actor: str, what: str) -> None:
        if incident.roles.get(Role.IC) == actor or await self.is_admin(actor):
            return
        raise PermissionDenied(
            f"Only the incident commander ({mention(incident.roles.get(Role.IC))}) or an "
            f"admin may {what}."
        )

    async def _refresh(self, incident: Incident, announce: str | None) -> None:
        await self._quietly(self.chat.set_topic(incident.channel_id, topic_for(incident)), "topic")
        if incident.header_ts:
            await self._quietly(self.chat.update_header(incident), "header")
        if announce:
            await self._quietly(self.chat.post(incident.channel_id, announce), "post")

    async def assign_role(
        self, incident: Incident, role: Role, user_id: str, actor: str
    ) -> Incident:
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

        updated, events = await self.store.update_incident(incident.id, change)
        await self._quietly(self.chat.invite(updated.channel_id, [user_id]), "invite")
        await self._refresh(
            updated, f":busts_in_silhouette: {events[0].text} — set by {mention(actor)}"
        )
        await self._quietly(
            self.chat.direct_message(
                user_id,
                f"You are now *{role.display_name}* for *{escape(updated.title)}* "
                f"(<#{updated.channel_id}>, {updated.severity.label}).\n{role.duties}",
            ),
            "role DM",
        )
        return updated

    async def set_severity(self, incident: Incident, severity: Severity, actor: str) -> Incident:
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

        updated, events = await self.store.update_incident(incident.id, change)
        arrow = ":arrow_up:" if severity < incident.severity else ":arrow_down:"
        await self._refresh(updated, f"{arrow} {events[0].text} — by {mention(actor)}")
        return updated

    async def set_status(self, incident: Incident, status: Status, actor: str) -> Incident:
        if status is Status.RESOLVED:
            return await self.resolve(incident, actor, summary=None)
        if status is Status.CLOSED:
            return await self.close(incident, actor)
        if incident.status is Status.CLOSED:
            raise InvalidTransition(f"{incident.id} is closed; its status can no longer change.")
        if incident.status == status:
            raise UsageError(f"{incident.id} is already {status.value}.")
        if incident.status is Status.RESOLVED:
            await self._may_command(incident, actor, "reopen a resolved incident")
        now = self.clock()

        def change(inc: Incident) -> list[TimelineEvent]:
            before = inc.status
            inc.status = status
            if status is Status.IDENTIFIED and inc.identified_at is None:
                inc.identified_at = now
            if status is Status.MONITORING and inc.mitigated_at is None:
                inc.mitigated_at = now
            if before is Status.RESOLVED:
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

        updated, events = await self.store.update_incident(incident.id, change)
        await self._refresh(updated, f":large_blue_circle: {events[0].text} — by {mention(actor)}")
        return updated

    async def set_labels(
        self, incident: Incident, *, field_name: str, values: list[str], actor: str
    ) -> Incident:
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

        updated, _ = await self.store.update_incident(incident.id, change)
        await self._refresh(updated, None)
        return updated

    async def add_note(self, incident: Incident, text: str, actor: str) -> TimelineEvent:
        text = text.strip()
        if not text:
            raise UsageError("A note needs some text.")
        event = TimelineEvent(
            kind=EventKind.NOTE, at=self.clock(), actor=actor, text=text, key=True
        )
        await self.store.append_event(incident.id, event)
        return event

    async def resolve(self, incident: Incident, actor: str, summary: str | None) -> Incident:
        await self._may_command(incident, actor, "resolve the incident")
        if incident.status in (Status.RESOLVED, Status.CLOSED):
            raise InvalidTransition(f"{incident.id} is already {incident.status.value}.")
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

        updated, _ = await self.store.update_incident(incident.id, change)
        await self._refresh(
            updated,
            f":white_check_mark: Resolved by {mention(actor)} after "
            f"{format_duration(updated.time_to_resolve)}."
            + (f"\n>{escape(summary)}" if summary else ""),
        )
        await self._quietly(
            self.chat.announce(
                self.incidents_channel,
                updated,
                f":white_check_mark: *{updated.id}* {escape(updated.title)} resolved "
                f"({format_duration(updated.time_to_resolve)}) — <#{updated.channel_id}>",
            ),
            "announce",
        )
        return updated

    async def close(self, incident: Incident, actor: str) -> Incident:
        await self._may_command(incident, actor, "close the incident")
        if incident.status is not Status.RESOLVED:
            raise InvalidTransition(
                f"{incident.id} is {incident.status.value}; resolve it before closing it."
            )
        now = self.clock()

        def change(inc: Incident) -> list[TimelineEvent]:
            inc.status = Status.CLOSED
            inc.closed_at = now
            return [TimelineEvent(kind=EventKind.CLOSED, at=now, actor=actor, text="Closed")]

        updated, _ = await self.store.update_incident(incident.id, change)
        await self._refresh(updated, f":lock: Closed by {mention(actor)}.")
        return updated
