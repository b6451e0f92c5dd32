"""The reminder scan and the weekly digest, run by the worker process.

Exactly-once, and why it holds
------------------------------
For each item in the due range of the sorted set a worker:

1. claims the item: ``SET ib:claim:action:<id> <token> NX PX <claim_ttl>``. A second
   worker scanning at the same time fails the SET and skips the item. The claim expires
   by itself, so a worker killed at any point blocks the item for at most ``claim_ttl``.
2. re-reads the item (another worker may just have handled and rescheduled it) and works
   out the reminder *slot*: ``g<generation>:before_due``, ``g<generation>:overdue:<n>`` or
   ``g<generation>:escalation`` -- a name unique to that one reminder.
3. if ``ib:sent:reminder:<id>:<slot>`` already exists the message went out before (a worker
   died after sending but before recording): nothing is sent, only recorded (step 5).
4. otherwise sends, and only after Slack accepted it sets the slot key (send-then-mark).
   A send failure (ChatError, e.g. 429 after the client's own retries) sets nothing and
   leaves the item in the due range, so the next scan retries it: not lost, not doubled.
5. records the reminder on the item (``reminders_sent``, ``last_reminded_at``,
   ``overdue_reminders_count``, ``escalated_at``) and reschedules it in one optimistic
   transaction, then releases the claim (compare-and-delete on the token).

The slot key is set only after a successful send, so a worker killed between claim and
send loses nothing: once its claim expires a later scan sends the reminder, once. The only
window for a duplicate is a worker dying in the instant between Slack's reply and the
``SET`` of the slot key (one Redis round trip); we chose that over marking before sending,
which would instead silently lose the reminder when a worker dies mid-send. ``claim_ttl``
(default 120 s) must exceed the longest send including the client's 429 retries.
An escalation is two messages (incident channel, DM to the IC); each has a sub-slot so a
retry after a partial failure sends only the missing one.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import structlog

from bot.actions.models import ActionItem, ActionSettings, ReminderKind, SentReminder
from bot.actions.schedule import next_reminder_at, next_working_start, reminder_kind, slot_for
from bot.actions.store import ActionItemStore
from bot.clock import Clock
from bot.errors import ChatError, NotFound
from bot.incidents.access import IncidentAccess
from bot.incidents.models import Incident, Role
from bot.mrkdwn import escape, mention, when
from bot.ports import ChatUser
from bot.store import keys
from bot.store.redis_store import RedisStore

log = structlog.get_logger(__name__)

MAX_SENT_RECORDS = 50
Blocks = list[dict[str, object]]
Render = Callable[[ActionItem, ReminderKind, str], Blocks]


class ReminderChat(Protocol):
    async def user(self, user_id: str) -> ChatUser: ...

    async def post(self, channel_id: str, text: str) -> str: ...

    async def post_blocks(self, channel_id: str, text: str, blocks: Blocks) -> str: ...

    async def direct_message(self, user_id: str, text: str) -> None: ...

    async def channel_members(self, channel_id: str) -> list[str]: ...


@dataclass
class ScanResult:
    sent: list[tuple[str, str]] = field(default_factory=list)  # (item id, slot)
    deferred: list[str] = field(default_factory=list)  # outside working hours
    failed: list[str] = field(default_factory=list)  # send failed, retried next scan
    failed_kinds: list[ReminderKind] = field(default_factory=list)  # one per failed send
    skipped: int = 0  # claimed by another worker


def reminder_text(item: ActionItem, kind: ReminderKind) -> str:
    what = f"*{item.id}* ({item.priority.value}, {item.incident_id}): {escape(item.text)}"
    if kind is ReminderKind.UNDATED or item.due is None:
        return (
            f":spiral_calendar_pad: {what} has no due date yet. Pick one below so it gets "
            "done, or mark it done."
        )
    if kind is ReminderKind.BEFORE_DUE:
        return f":alarm_clock: Reminder: {what} is due {when(item.due)}."
    return f":warning: Overdue: {what} was due {when(item.due)}. Please finish or snooze it."


class ReminderScanner:
    def __init__(
        self,
        *,
        actions_store: ActionItemStore,
        store: RedisStore,
        chat: ReminderChat,
        clock: Clock,
        settings: ActionSettings | None = None,
        render: Render | None = None,
        channel_resolver: Callable[[str], Awaitable[str]] | None = None,
        worker_id: str | None = None,
        access: IncidentAccess | None = None,
    ) -> None:
        self.items = actions_store
        self.store = store
        self.chat = chat
        self.clock = clock
        self.cfg = settings or ActionSettings()
        self.render = render
        self.channel_resolver = channel_resolver
        self.worker_id = worker_id or uuid.uuid4().hex[:8]
        # who may read an item's incident (without admins unless given: the label, safely)
        self.access = access or IncidentAccess(members=chat)

    # --- the scan ----------------------------------------------------------------------

    async def scan(self) -> ScanResult:
        """One pass over the items whose next reminder is due now."""
        now = self.clock()
        result = ScanResult()
        tz_cache: dict[str, str] = {}
        for item_id in await self.items.due_ids(now, self.cfg.scan_limit):
            try:
                await self._one(item_id, now, tz_cache, result)
            except ChatError as exc:
                log.warning("reminder_send_failed", item=item_id, error=exc.code)
                result.failed.append(item_id)
        return result

    async def _tz(self, user_id: str, cache: dict[str, str]) -> str:
        if user_id not in cache:
            try:
                cache[user_id] = (await self.chat.user(user_id)).tz
            except NotFound:
                cache[user_id] = "UTC"
        return cache[user_id]

    async def _one(
        self, item_id: str, now: datetime, tz_cache: dict[str, str], result: ScanResult
    ) -> None:
        token = f"{self.worker_id}:{uuid.uuid4().hex}"
        if not await self.items.claim(item_id, token, self.cfg.claim_ttl):
            result.skipped += 1
            return
        try:
            try:
                item = await self.items.get(item_id)
            except NotFound:
                await self.items.drop_missing(item_id, now)
                return
            if not item.is_open or item.next_reminder_at is None or item.next_reminder_at > now:
                await self.items.update(item_id, lambda it: None)  # re-index a stale entry
                return
            incident = await self._incident(item.incident_id)
            if incident is not None and incident.is_declined:
                # a false alarm's items are not chased (declined incidents stay searchable)
                await self.items.unschedule(item_id)
                return
            kind = reminder_kind(item, now, self.cfg)
            slot = slot_for(item, kind)
            recipient = item.owner
            if kind is ReminderKind.ESCALATION:
                recipient = (incident.roles.get(Role.IC) if incident else None) or item.owner
            if not await self.items.slot_sent(item_id, slot):
                later = next_working_start(now, await self._tz(recipient, tz_cache), self.cfg)
                if later is not None:
                    await self._defer(item, later)
                    result.deferred.append(item_id)
                    return
                try:
                    await self._send(item, kind, slot, incident)
                except ChatError:
                    result.failed_kinds.append(kind)
                    raise
                await self.items.mark_slot(item_id, slot)
            await self._record(item, kind, slot, recipient, now)
            result.sent.append((item_id, slot))
            log.info("reminder_sent", item=item_id, slot=slot, worker=self.worker_id)
        finally:
            await self.items.release(item_id, token)

    async def _incident(self, incident_id: str) -> Incident | None:
        try:
            return await self.store.get_incident(incident_id)
        except NotFound:
            return None

    async def _defer(self, item: ActionItem, later: datetime) -> None:
        generation = item.generation

        def change(it: ActionItem) -> None:
            if it.generation == generation and it.is_open:
                it.next_reminder_at = later

        await self.items.update(item.id, change)

    async def _dm(self, user_id: str, item: ActionItem, kind: ReminderKind, text: str) -> None:
        if self.render is None:
            await self.chat.direct_message(user_id, text)
        else:
            # chat.postMessage with a user id as channel posts in the app's DM with them
            await self.chat.post_blocks(user_id, text, self.render(item, kind, text))

    async def _send(
        self, item: ActionItem, kind: ReminderKind, slot: str, incident: Incident | None
    ) -> None:
        if kind is not ReminderKind.ESCALATION:
            if incident is not None and not await self.access.can_read(incident, item.owner):
                item = item.model_copy(update={"text": incident.public_label})
            await self._dm(item.owner, item, kind, reminder_text(item, kind))
            return
        assert item.due is not None
        ic = incident.roles.get(Role.IC) if incident else None
        ic_text = f"{mention(ic)} (IC)" if ic else "the incident has no IC"
        text = (
            f":rotating_light: Action item *{item.id}* ({item.priority.value}) owned by "
            f"{mention(item.owner)} is overdue since {when(item.due)} and "
            f"{item.overdue_reminders_count} reminders went unanswered: {escape(item.text)}. "
            f"{ic_text}, please follow up."
        )
        if incident is not None and not await self.items.slot_sent(item.id, f"{slot}:channel"):
            try:
                await self.chat.post(incident.channel_id, text)
            except ChatError as exc:
                if exc.code not in ("is_archived", "channel_not_found"):
                    raise
            await self.items.mark_slot(item.id, f"{slot}:channel")
        if ic and not await self.items.slot_sent(item.id, f"{slot}:ic"):
            await self.chat.direct_message(ic, text)
            await self.items.mark_slot(item.id, f"{slot}:ic")

    async def _record(
        self, item: ActionItem, kind: ReminderKind, slot: str, to: str, now: datetime
    ) -> None:
        generation = item.generation

        def change(it: ActionItem) -> None:
            if any(r.slot == slot for r in it.reminders_sent):
                return
            it.reminders_sent = [
                *it.reminders_sent,
                SentReminder(slot=slot, kind=kind, at=now, to=to),
            ][-MAX_SENT_RECORDS:]
            it.last_reminded_at = now
            if it.generation != generation:
                return  # snoozed / reassigned / done meanwhile: that change rescheduled it
            if kind is ReminderKind.OVERDUE:
                it.overdue_reminders_count += 1
            if kind is ReminderKind.ESCALATION:
                it.escalated_at = now
            it.next_reminder_at = next_reminder_at(it, self.cfg)

        await self.items.update(item.id, change)

    async def schedule_undated(self) -> int:
        """Put open items with no due date and no next reminder (stored before undated
        items were reminded) on the reminder schedule; how many were scheduled."""
        scheduled = 0
        for item in await self.items.many(await self.items.open_ids()):
            if item.due is not None or item.next_reminder_at is not None:
                continue

            def change(it: ActionItem) -> None:
                if it.is_open and it.due is None and it.next_reminder_at is None:
                    it.next_reminder_at = next_reminder_at(it, self.cfg)

            await self.items.update(item.id, change)
            scheduled += 1
        return scheduled

    # --- the weekly digest ---------------------------------------------------------------

    async def digest(self) -> bool:
        """Post the weekly digest of open and overdue items; once per ISO week across workers."""
        now = self.clock()
        week = now.strftime("%G-W%V")
        claim_id = f"digest:{week}"
        token = f"{self.worker_id}:{uuid.uuid4().hex}"
        sent_key = keys.action_digest_sent(week)
        if not await self.items.claim(claim_id, token, self.cfg.claim_ttl):
            return False
        try:
            if await self.items.exists(sent_key):
                return False
            items = await self.items.many(await self.items.open_ids())
            incidents = {
                i.id: i
                for i in await self.store.incidents(sorted({it.incident_id for it in items}))
            }
            items = [
                public_item(it, incidents.get(it.incident_id))
                for it in items
                if not (it.incident_id in incidents and incidents[it.incident_id].is_declined)
            ]
            channel = self.cfg.digest_channel
            if self.channel_resolver is not None:
                channel = await self.channel_resolver(channel)
            await self.chat.post(channel, digest_text(items, now))
            await self.items.first_time(sent_key, 30 * 24 * 3600)
            return True
        finally:
            await self.items.release(claim_id, token)


def public_item(item: ActionItem, incident: Incident | None) -> ActionItem:
    """The item as a public channel may show it: a private incident's is only its label."""
    if incident is None or not incident.private:
        return item
    return item.model_copy(update={"text": incident.public_label})


def digest_text(items: list[ActionItem], now: datetime, limit: int = 25) -> str:
    open_items = [i for i in items if i.is_open]
    overdue = sorted((i for i in open_items if i.is_overdue(now)), key=lambda i: i.due or now)
    lines = [f":clipboard: *Weekly action items*: {len(open_items)} open, {len(overdue)} overdue."]
    if not open_items:
        lines.append("Nothing open. :tada:")
        return "\n".join(lines)
    rest = sorted(
        (i for i in open_items if not i.is_overdue(now)),
        key=lambda i: (i.priority.value, i.due or datetime.max.replace(tzinfo=now.tzinfo)),
    )
    shown = 0
    for title, group in (("Overdue", overdue), ("Open", rest)):
        if not group:
            continue
        lines.append(f"*{title}*")
        for i in group:
            if shown >= limit:
                break
            due = f" due {when(i.due)}" if i.due else ""
            lines.append(
                f"• *{i.id}* {i.priority.value} {mention(i.owner)}{due} ({i.incident_id}): "
                f"{escape(i.text, limit=120)}"
            )
            shown += 1
    if len(open_items) > shown:
        lines.append(f"…and {len(open_items) - shown} more (`/incident action list all`).")
    return "\n".join(lines)
