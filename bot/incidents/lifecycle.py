"""The incident's life beyond declare and resolve — the changes themselves: make private,
reopen, merge, decline and corrected key times. Each `check_*` refuses before anything
changes; each change is one optimistic Redis update with its timeline events. What follows
them (topic, header, channel line, announcement, pointers, archiving) are follow-up steps in
bot/incidents/lifecycle_steps.py, run by the flows (bot/incidents/flows.py), so every entry
point — command, button, modal — gives the same result."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from bot.actions.models import ActionItem
from bot.errors import ChatError, IncidentBotError, InvalidTransition, UsageError
from bot.incidents.models import Incident, Reopening, Role, Status
from bot.incidents.service import IncidentService, Updated
from bot.incidents.times import TimeCorrection, apply_corrections, plan_corrections
from bot.mrkdwn import escape, mention, when
from bot.ports import ChannelRef, ChatGateway
from bot.store.redis_store import RedisStore
from bot.timeline.models import EventKind, TimelineEvent

log = structlog.get_logger(__name__)
MoveOpenItems = Callable[[str, str], Awaitable[list[ActionItem]]]


def closed_reason(incident: Incident) -> str:
    if incident.merged_into:
        return f"{incident.id} was merged into {incident.merged_into}"
    if incident.is_declined:
        return f"{incident.id} was declined as a false alarm"
    return f"{incident.id} is {incident.status.value}"


@dataclass
class Conversion:
    """What a private conversion did before the record changed (the follow-ups need it)."""

    public_channel: str
    public_header_ts: str | None
    members: list[str]
    renamed: bool


@dataclass
class Merge:
    """What a merge did to the target (the follow-ups announce it)."""

    target: Incident
    events_copied: int = 0
    items_moved: list[ActionItem] = field(default_factory=list)


class LifecycleService:
    def __init__(
        self, *, incidents: IncidentService, move_open_items: MoveOpenItems | None = None
    ) -> None:
        self.incidents = incidents
        self.move_open_items = move_open_items

    # the incident service's collaborators, read when used (nothing happens at build time)
    @property
    def store(self) -> RedisStore:
        return self.incidents.store

    @property
    def chat(self) -> ChatGateway:
        return self.incidents.chat

    def clock(self) -> datetime:
        return self.incidents.clock()

    async def _may_command(self, incident: Incident, actor: str, what: str) -> None:
        await self.incidents._may_command(incident, actor, what)

    # --- reopen ----------------------------------------------------------------------

    async def check_reopen(self, incident: Incident, actor: str) -> None:
        await self._may_command(incident, actor, "reopen the incident")
        if incident.status is Status.CLOSED:
            raise InvalidTransition(
                f"{closed_reason(incident)}; a closed incident cannot be reopened. "
                "Declare a new one."
            )
        if incident.status is not Status.RESOLVED:
            raise InvalidTransition(
                f"{incident.id} is still open ({incident.status.value}); only a resolved "
                "incident can be reopened."
            )

    async def reopen(self, incident: Incident, actor: str, reason: str = "") -> Updated:
        """A resolved incident back to investigating. Its first resolution is kept on the
        Reopening, so time to resolve counts both periods and not the quiet gap."""
        reason = " ".join(reason.split())
        now = self.clock()

        def change(inc: Incident) -> list[TimelineEvent]:
            if inc.status is not Status.RESOLVED or inc.resolved_at is None:
                raise InvalidTransition(f"{inc.id} is no longer resolved.")
            inc.reopenings.append(
                Reopening(at=now, by=actor, reason=reason, resolved_at=inc.resolved_at)
            )
            inc.status = Status.INVESTIGATING
            inc.resolved_at = None
            return [
                TimelineEvent(
                    kind=EventKind.REOPENED,
                    at=now,
                    actor=actor,
                    text="Reopened" + (f": {escape(reason)}" if reason else ""),
                    data={"reopening": str(len(inc.reopenings)), "reason": reason},
                )
            ]

        return await self.store.update_incident(incident.id, change)

    # --- decline ---------------------------------------------------------------------

    async def check_decline(self, incident: Incident, actor: str) -> None:
        await self._may_command(incident, actor, "decline the incident")
        if incident.status is Status.CLOSED:
            raise InvalidTransition(f"{closed_reason(incident)}; there is nothing to decline.")

    async def decline(self, incident: Incident, actor: str, reason: str = "") -> Updated:
        """Close a false alarm without a postmortem; it stays listed (`/incident list all`)
        but patterns, durations and reminders leave it out."""
        reason = " ".join(reason.split())
        now = self.clock()

        def change(inc: Incident) -> list[TimelineEvent]:
            if inc.status is Status.CLOSED:
                raise InvalidTransition(f"{closed_reason(inc)}.")
            inc.status = Status.CLOSED
            inc.declined_at = now
            inc.closed_at = now
            inc.decline_reason = reason or None
            return [
                TimelineEvent(
                    kind=EventKind.DECLINED,
                    at=now,
                    actor=actor,
                    text="Declined as a false alarm" + (f": {escape(reason)}" if reason else ""),
                )
            ]

        return await self.store.update_incident(incident.id, change)

    # --- corrected times -------------------------------------------------------------

    async def timezone_of_ic(self, incident: Incident) -> str:
        ic = incident.roles.get(Role.IC)
        if ic is None:
            return "UTC"
        try:
            return (await self.chat.user(ic)).tz
        except Exception:  # an unknown or unreachable user: UTC, which the hints name
            return "UTC"

    async def check_times(self, incident: Incident, actor: str, new: dict[str, datetime]) -> None:
        await self._may_command(incident, actor, "correct the incident's times")
        plan_corrections(incident, new)

    async def correct_times(
        self, incident: Incident, actor: str, new: dict[str, datetime]
    ) -> tuple[Incident, list[TimelineEvent], list[TimeCorrection]]:
        """Edit started / identified / mitigated / resolved; each edit is audited on the
        timeline (who, old, new). The order is checked again against the stored record."""
        now = self.clock()
        made: list[TimeCorrection] = []

        def change(inc: Incident) -> list[TimelineEvent]:
            made[:] = plan_corrections(inc, new)
            apply_corrections(inc, made)
            return [
                TimelineEvent(
                    kind=EventKind.TIMES,
                    at=now,
                    actor=actor,
                    text=(
                        f"{c.name.capitalize()} time corrected by {mention(actor)}: "
                        f"{when(c.old) if c.old else 'unset'} → {when(c.new)}"
                    ),
                    data={
                        "field": c.name,
                        "old": c.old.isoformat() if c.old else "",
                        "new": c.new.isoformat(),
                    },
                )
                for c in made
            ]

        updated, events = await self.store.update_incident(incident.id, change)
        return updated, events, made

    # --- private ---------------------------------------------------------------------

    async def check_private(self, incident: Incident, actor: str) -> None:
        await self._may_command(incident, actor, "make the incident private")
        if incident.private:
            raise InvalidTransition(
                f"{incident.id} is already private; a private incident never goes back."
            )
        if incident.status is Status.CLOSED:
            raise InvalidTransition(f"{closed_reason(incident)}; it can no longer be changed.")

    async def make_private(
        self, incident: Incident, actor: str
    ) -> tuple[Incident, list[TimelineEvent], Conversion]:
        """Slack gives apps no way to turn a public channel private (only Enterprise Grid's
        admin API can), so the incident moves to a new private channel and the record points
        at it. Nothing changes unless that channel could be created (and it is archived again
        if the record cannot be written). The follow-ups invite the members, post the header,
        reduce the announcement to the label, rename the public channel (its name carries
        the title), and leave a pointer there before archiving it."""
        me = await self.chat.bot_user_id()
        members = [m for m in await self.chat.channel_members(incident.channel_id) if m != me]
        conversion = Conversion(
            public_channel=incident.channel_id,
            public_header_ts=incident.header_ts,
            members=members,
            renamed=False,
        )
        channel = await self._private_channel(incident)
        now = self.clock()

        def change(inc: Incident) -> list[TimelineEvent]:
            if inc.private:
                raise InvalidTransition(f"{inc.id} is already private.")
            inc.private = True
            inc.channel_id = channel.id
            inc.channel_name = channel.name
            inc.header_ts = None
            return [
                TimelineEvent(
                    kind=EventKind.PRIVATE,
                    at=now,
                    actor=actor,
                    text=f"Made private by {mention(actor)}; moved to a private channel",
                    data={"public_channel": conversion.public_channel},
                )
            ]

        try:
            await self.store.index_channel(channel.id, incident.id)
            updated, events = await self.store.update_incident(incident.id, change)
        except IncidentBotError:
            try:
                await self.chat.archive_channel(channel.id)
            except ChatError as exc:
                log.warning("archive_unused_private_channel_failed", error=exc.code)
            raise
        return updated, events, conversion

    async def _private_channel(self, incident: Incident) -> ChannelRef:
        suffix = "-private"
        names = [f"{incident.channel_name[: 80 - len(suffix)]}{suffix}"]
        names.append(f"{incident.id.lower()}{suffix}")
        for name in names:
            try:
                return await self.chat.create_channel(name, private=True)
            except ChatError as exc:
                if exc.code != "name_taken":
                    raise ChatError(
                        f"Could not create the private channel: {exc.message}. "
                        f"{incident.id} is unchanged and still public.",
                        code=exc.code,
                    ) from exc
        raise ChatError(
            f"Could not create the private channel: the names {', '.join(names)} are taken. "
            f"{incident.id} is unchanged and still public.",
            code="name_taken",
        )

    # --- merge -----------------------------------------------------------------------

    async def check_merge(self, source: Incident, target_id: str, actor: str) -> Incident:
        """The target, or a refusal: itself, a closed target or source, or a private one
        with a public one (either way round)."""
        target_id = target_id.strip().upper()
        if not target_id:
            raise UsageError("Say which incident this one duplicates, e.g. `merge INC-…`.")
        if target_id == source.id:
            raise UsageError(f"{source.id} cannot be merged into itself.")
        await self._may_command(source, actor, "merge the incident")
        if source.status is Status.CLOSED:
            raise InvalidTransition(f"{closed_reason(source)}; it cannot be merged.")
        target = await self.store.get_incident(target_id)
        # a private target's outsiders learn only its label (bot/incidents/access.py)
        await self.incidents.access.require_change(target, actor)
        if target.status is Status.CLOSED:
            raise InvalidTransition(
                f"{closed_reason(target)}; merge into an incident that is not closed."
            )
        if target.private != source.private:
            which = "private" if target.private else "public"
            this = "private" if source.private else "public"
            raise InvalidTransition(
                f"{target.id} is {which} and {source.id} is {this}; merging would move "
                "content across that line, so it is refused."
            )
        return target

    async def merge(
        self, source: Incident, target: Incident, actor: str
    ) -> tuple[Incident, list[TimelineEvent], Merge]:
        """Mark `source` a duplicate of `target`, copy its timeline into the target with a
        "merged from" marker and move its open action items. The duplicate no longer counts
        in durations and patterns, so the pair counts once."""
        now = self.clock()

        def mark_duplicate(inc: Incident) -> list[TimelineEvent]:
            if inc.status is Status.CLOSED:
                raise InvalidTransition(f"{closed_reason(inc)}.")
            inc.status = Status.CLOSED
            inc.closed_at = now
            inc.merged_into = target.id
            return [
                TimelineEvent(
                    kind=EventKind.MERGED,
                    at=now,
                    actor=actor,
                    text=f"Merged into {target.id} by {mention(actor)}",
                    data={"into": target.id},
                )
            ]

        updated, events = await self.store.update_incident(source.id, mark_duplicate)
        merge = Merge(target=target)
        copied = [
            entry.event.model_copy(
                update={
                    "text": f"[from {source.id}] {entry.event.text}",
                    "message_ts": None,
                    "data": {**entry.event.data, "merged_from": source.id},
                }
            )
            for entry in await self.store.timeline(source.id)
        ]
        if self.move_open_items is not None:
            merge.items_moved = await self.move_open_items(source.id, target.id)
        items = ", ".join(f"`{i.id}`" for i in merge.items_moved) or "none"

        def record_merge(inc: Incident) -> list[TimelineEvent]:
            if source.id not in inc.merged_from:
                inc.merged_from.append(source.id)
            return [
                TimelineEvent(
                    kind=EventKind.MERGED,
                    at=now,
                    actor=actor,
                    text=(
                        f"Merged from {source.id} by {mention(actor)}: {len(copied)} timeline "
                        f"events copied, open action items moved: {items}"
                    ),
                    data={"from": source.id},
                )
            ]

        merge.target, _ = await self.store.update_incident(target.id, record_merge)
        await self.store.append_events(target.id, copied)
        merge.events_copied = len(copied)
        return updated, events, merge
