"""Structured status updates, the per-incident cadence and subscribers.

An update goes out in this order, each Slack step on its own so one refusal never stops the
others (the caller is told which failed): the incident channel, a reply in the
announcement's thread in INCIDENTS_CHANNEL, the announcement edited to show the latest
status line and the next update. The DMs to its followers are queued in Redis before any of
that and sent by the worker, each follower once (bot/updates/fanout.py), so a process that
dies after the update loses none of them; the resolve and the reopen reach the followers the
same way. It is recorded first: a key event on the timeline and the next
update due on the incident, in one transaction. A status or severity given with the update
is changed first, through the same path as `/incident status` and `/incident severity`.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from bot.clock import Clock
from bot.errors import ChatError, InvalidTransition, PermissionDenied, UsageError
from bot.incidents.access import IncidentAccess
from bot.incidents.follow_ups import declaration
from bot.incidents.models import Incident, Role, Status, format_duration
from bot.mrkdwn import escape, mention
from bot.store.redis_store import RedisStore
from bot.timeline.models import EventKind, TimelineEvent
from bot.updates.cadence import MAX_CADENCE, MIN_CADENCE, cadence_change, sooner_due
from bot.updates.exec_summary import ExecWriter, NoModelWriter, stakeholder_summary
from bot.updates.fanout import FollowerOutbox
from bot.updates.models import (
    CadenceSettings,
    StatusUpdate,
    UpdateDraft,
    cadence_for,
    describe_cadence,
    next_update_due,
)
from bot.updates.ports import AdminCheck, IncidentChanges, UpdateChat
from bot.updates.text import public_update_text, status_line, update_text

log = structlog.get_logger(__name__)


@dataclass
class UpdateResult:
    incident: Incident
    update: StatusUpdate
    followers: int = 0  # queued for the worker to DM
    warnings: list[str] = field(default_factory=list)


class UpdateService:
    def __init__(
        self,
        *,
        store: RedisStore,
        chat: UpdateChat,
        changes: IncidentChanges,
        clock: Clock,
        cadence: CadenceSettings,
        is_admin: AdminCheck,
        access: IncidentAccess,
        writer: ExecWriter | None = None,
        private_use_ai: bool = False,
    ) -> None:
        self.private_use_ai = private_use_ai  # PRIVATE_INCIDENTS_USE_AI
        self.store = store
        self.updates = store.updates
        self.chat = chat
        self.changes = changes
        self.outbox = FollowerOutbox(store=store, clock=clock)
        self.clock = clock
        self.cadence = cadence
        self.is_admin = is_admin
        self.writer = writer or NoModelWriter()
        # the one read rule (bot/incidents/access.py): a private incident's outsiders change
        # nothing, whatever UPDATES_BY_ANYONE says
        self.access = access

    # --- who may -------------------------------------------------------------------------

    async def may_post(self, incident: Incident, actor: str, what: str = "post updates") -> None:
        await self.access.require_change(incident, actor)
        if self.cadence.updates_by_anyone or actor in incident.roles.values():
            return
        if await self.is_admin(actor):
            return
        holders = ", ".join(
            f"{role.display_name} {mention(user)}" for role, user in incident.roles.items()
        )
        raise PermissionDenied(
            f"Only the incident's roles ({holders or 'none assigned'}) or an admin may {what} "
            f"for {incident.id}. Ask one of them, or take a role with `/incident role`."
        )

    def due(self, incident: Incident) -> datetime | None:
        return next_update_due(incident, self.cadence)

    # --- posting an update -----------------------------------------------------------------

    async def post_update(self, incident: Incident, draft: UpdateDraft, actor: str) -> UpdateResult:
        if incident.status is Status.CLOSED:
            raise InvalidTransition(f"{incident.id} is closed; it takes no more updates.")
        await self.may_post(incident, actor)
        if draft.status is Status.CLOSED:
            raise UsageError("Use `/incident close` to close an incident.")
        warnings: list[str] = []
        if draft.severity is not None and draft.severity != incident.severity:
            changed = await self.changes.set_severity(incident, draft.severity, actor)
            incident, warnings = changed.incident, warnings + changed.warnings
        if draft.status is not None and draft.status != incident.status:
            changed = await self.changes.set_status(incident, draft.status, actor)
            incident, warnings = changed.incident, warnings + changed.warnings
        incident = await self.store.get_incident(incident.id)  # as the follow-ups left it
        now = self.clock()
        due: datetime | None = None
        if incident.is_active:
            every = cadence_for(incident, self.cadence)
            due = now + draft.next_in if draft.next_in else (now + every if every else None)
        update = await self.updates.append(
            StatusUpdate(
                seq=0,
                incident_id=incident.id,
                at=now,
                author=actor,
                text=draft.text.strip(),
                impact=draft.impact.strip(),
                next_steps=draft.next_steps.strip(),
                status=incident.status,
                severity=incident.severity,
                next_update_due=due,
            )
        )

        def record(inc: Incident) -> list[TimelineEvent]:
            inc.last_update_at = now
            inc.next_update_due = due
            return [
                TimelineEvent(
                    kind=EventKind.STATUS_UPDATE,
                    at=now,
                    actor=actor,
                    text=f"Status update #{update.seq}: {escape(update.text)}",
                    key=True,
                    data={"seq": str(update.seq)},
                )
            ]

        incident, _ = await self.store.update_incident(incident.id, record)
        # queued before anything is posted: the worker DMs the followers whatever happens here
        followers = await self.outbox.queue(
            incident,
            str(update.seq),
            update_text(incident, update, for_dm=True),
            about=f"update #{update.seq} of {incident.id}",
            public_text=public_update_text(incident, update),
            exclude={actor},
            author=actor,
        )
        result = UpdateResult(
            incident=incident, update=update, followers=followers, warnings=warnings
        )
        text = update_text(incident, update)
        if not await self._quietly(self.chat.post(incident.channel_id, text), "channel post"):
            result.warnings.append("could not post it in the incident channel")
        if incident.announcement_ts and incident.announcement_channel_id:
            if not await self._quietly(
                self.chat.reply_in_thread(
                    incident.announcement_channel_id,
                    incident.announcement_ts,
                    public_update_text(incident, update) if incident.private else text,
                ),
                "thread reply",
            ):
                result.warnings.append("could not reply in the announcement's thread")
            if not await self.refresh_announcement(incident, update):
                result.warnings.append("could not edit the announcement")
        return result

    async def refresh_announcement(
        self, incident: Incident, update: StatusUpdate | None = None
    ) -> bool:
        if not (incident.announcement_ts and incident.announcement_channel_id):
            return True
        if update is None:
            update = await self.updates.latest(incident.id)
        return await self._quietly(
            self.chat.update_announcement(
                incident, declaration(incident), status_line(incident, update)
            ),
            "announcement edit",
        )

    # --- followers -----------------------------------------------------------------------

    async def subscribe(self, incident: Incident, user_id: str) -> bool:
        if not incident.is_active:
            raise InvalidTransition(
                f"{incident.id} is {incident.status.value}; there will be no more updates."
            )
        return await self.updates.subscribe(incident.id, user_id)

    async def unsubscribe(self, incident: Incident, user_id: str) -> bool:
        return await self.updates.unsubscribe(incident.id, user_id)

    async def on_resolved(self, incident: Incident, actor: str | None = None) -> int:
        """Resolve: no update is due any more; the announcement says so and every follower's
        DM is queued. Returns how many followers were queued."""

        def stop_cadence(inc: Incident) -> list[TimelineEvent]:
            inc.next_update_due = None
            return []

        incident, _ = await self.store.update_incident(incident.id, stop_cadence)
        await self.refresh_announcement(incident)
        summary = f"\n>{escape(incident.resolution_summary)}" if incident.resolution_summary else ""
        text = (
            f":white_check_mark: *{incident.id}* {escape(incident.title)} is resolved "
            f"after {format_duration(incident.time_to_resolve)} "
            f"(<#{incident.channel_id}>).{summary}"
        )
        what = f"resolved:{int((incident.resolved_at or self.clock()).timestamp())}"
        return await self.outbox.queue(
            incident, what, text, about=f"the resolve of {incident.id}",
            public_text=f":lock: *{incident.public_label}* — resolved.", author=actor,
        )

    async def on_reopened(self, incident: Incident, actor: str | None = None) -> int:
        """Reopen: the cadence starts again from now, the announcement shows it, and every
        follower hears it."""
        now = self.clock()
        every = cadence_for(incident, self.cadence)

        def restart_cadence(inc: Incident) -> list[TimelineEvent]:
            inc.next_update_due = None if every is None else now + every
            return []

        incident, _ = await self.store.update_incident(incident.id, restart_cadence)
        await self.refresh_announcement(incident)
        text = (
            f":leftwards_arrow_with_hook: *{incident.id}* {escape(incident.title)} was reopened "
            f"(<#{incident.channel_id}>)."
        )
        what = f"reopened:{len(incident.reopenings)}"
        return await self.outbox.queue(
            incident, what, text, about=f"the reopen of {incident.id}",
            public_text=f":lock: *{incident.public_label}* — reopened.", author=actor,
        )

    async def on_severity(self, incident: Incident) -> Incident:
        """A severity change: when its default cadence is shorter than the update already
        promised, the next update is due one new cadence after the last one (an explicit
        `/incident cadence` stays as set)."""
        tighten = sooner_due(incident, self.cadence)
        if tighten is None:
            return incident
        incident, _ = await self.store.update_incident(incident.id, tighten)
        await self.refresh_announcement(incident)
        return incident

    # --- cadence ---------------------------------------------------------------------------

    async def set_cadence(
        self, incident: Incident, every: timedelta | None, actor: str
    ) -> Incident:
        """`every` None turns the reminders off for this incident."""
        if not incident.is_active:
            raise InvalidTransition(
                f"{incident.id} is {incident.status.value}; it has no update cadence any more."
            )
        await self.may_post(incident, actor, "change the update cadence")
        if every is not None and not MIN_CADENCE <= every <= MAX_CADENCE:
            raise UsageError("A cadence is between 5m and 24h (or `off`).")
        change = cadence_change(every, self.clock(), actor)
        updated, _ = await self.store.update_incident(incident.id, change)
        await self.refresh_announcement(updated)
        return updated

    def cadence_label(self, incident: Incident) -> str:
        return describe_cadence(cadence_for(incident, self.cadence))

    async def home(
        self, user_id: str, open_incidents: list[Incident], limit: int = 20
    ) -> tuple[list[tuple[Incident, str, datetime | None]], list[Incident]]:
        """For App Home: the open incidents where `user_id` holds a role (which, and when
        the next update is due), and the incidents they follow (open ones first)."""
        leading = [
            (inc, ", ".join(r.display_name for r, u in inc.roles.items() if u == user_id),
             self.due(inc))
            for inc in open_incidents
            if user_id in inc.roles.values()
        ][:limit]
        followed = await self.store.incidents(await self.updates.followed(user_id))
        followed.sort(key=lambda inc: (not inc.is_active, inc.declared_at), reverse=False)
        return leading, followed[:limit]

    async def exec_summary(self, incident: Incident) -> str:
        """The stakeholder summary: facts from the record; the model only rewords them,
        checked part by part (bot/updates/exec_summary.py)."""
        use_ai = self.private_use_ai or not incident.private
        latest = await self.updates.latest(incident.id)
        entries = await self.store.timeline(incident.id)
        return await stakeholder_summary(
            incident, latest, entries, self.writer,
            now=self.clock(), next_update=self.due(incident), use_ai=use_ai,
        )

    @staticmethod
    def who_updates(incident: Incident) -> str | None:
        """Whom the cadence prompt goes to: the Comms lead, else the IC."""
        return incident.roles.get(Role.COMMS) or incident.roles.get(Role.IC)

    async def _quietly(self, step: Awaitable[object], what: str) -> bool:
        try:
            await step
        except ChatError as exc:
            log.warning("update_step_failed", step=what, error=exc.code)
            return False
        return True
