"""Adding, listing and finishing action items. Every change lands on the incident's timeline."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Literal, Protocol

import structlog

from bot.actions.models import (
    ActionItem,
    ActionSettings,
    ItemType,
    Priority,
)
from bot.actions.schedule import next_reminder_at
from bot.actions.store import ActionItemStore
from bot.clock import Clock
from bot.errors import NotFound, PermissionDenied, UsageError
from bot.incidents.access import IncidentAccess
from bot.incidents.models import Incident, Role
from bot.mrkdwn import escape, mention, when
from bot.parsing import parse_due
from bot.ports import ChatUser
from bot.store.redis_store import RedisStore
from bot.timeline.models import EventKind, TimelineEvent

log = structlog.get_logger(__name__)

AdminCheck = Callable[[str], Awaitable[bool]]
Scope = Literal["mine", "overdue", "all"]
TICKET = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,19}-\d{1,9}$|^https?://\S{1,300}$")
MAX_ITEM_TEXT = 500


class UserLookup(Protocol):
    async def user(self, user_id: str) -> ChatUser: ...


async def nobody_is_admin(user_id: str) -> bool:
    return False


def parse_priority(value: str) -> Priority:
    v = value.strip().upper()
    if not v.startswith("P"):
        v = "P" + v
    try:
        return Priority(v)
    except ValueError:
        raise UsageError(f"`{escape(value)}` is not a priority; use P0, P1, P2 or P3.") from None


def parse_type(value: str) -> ItemType:
    try:
        return ItemType(value.strip().lower())
    except ValueError:
        raise UsageError(
            f"`{escape(value)}` is not a type; use prevent, detect, mitigate or process."
        ) from None


def parse_ticket(value: str) -> str:
    if not TICKET.match(value.strip()):
        raise UsageError(f"`{escape(value)}` is not a ticket; use a key like OPS-123 or a URL.")
    return value.strip()


class ActionFollower(Protocol):
    """Something that follows action items elsewhere (an issue tracker): told after an item
    is added or finished, it answers with what it could not do, in plain words."""

    async def on_item_added(self, item: ActionItem) -> list[str]: ...

    async def on_item_done(self, item: ActionItem) -> list[str]: ...


class ActionItemService:
    def __init__(
        self,
        *,
        store: RedisStore,
        actions_store: ActionItemStore,
        chat: UserLookup,
        clock: Clock,
        access: IncidentAccess,
        settings: ActionSettings | None = None,
        is_admin: AdminCheck = nobody_is_admin,
    ) -> None:
        self.store = store
        self.access = access  # an item is its incident's: the incident's read rule applies
        self.items = actions_store
        self.chat = chat
        self.clock = clock
        self.cfg = settings or ActionSettings()
        self.is_admin = is_admin
        # told after every add and done, whichever entry point made it (bot/integrations)
        self.followers: list[ActionFollower] = []

    async def _tell_followers(self, item: ActionItem, added: bool) -> ActionItem:
        """Each follower in turn, failure-isolated; what they could not do goes on
        `item.notes` for the entry point to tell the user. The change itself stands."""
        for follower in self.followers:
            try:
                notes = await (
                    follower.on_item_added(item) if added else follower.on_item_done(item)
                )
            except Exception as exc:
                log.warning("action_follower_failed", item=item.id, error=repr(exc))
                notes = ["could not update the issue tracker"]
            item.notes.extend(notes)
        return item

    async def _owner(self, user_id: str) -> ChatUser:
        try:
            user = await self.chat.user(user_id)
        except NotFound as exc:
            raise UsageError(
                f"{mention(user_id)} is not a user here, so nobody can own it."
            ) from exc
        if user.is_bot:
            raise UsageError(f"{mention(user_id)} is a bot; give the item to a person.")
        return user

    async def _event(self, item: ActionItem, actor: str, text: str, action: str) -> None:
        await self.store.append_event(
            item.incident_id,
            TimelineEvent(
                kind=EventKind.ACTION_ITEM,
                at=self.clock(),
                actor=actor,
                text=text,
                data={"item": item.id, "action": action, "owner": item.owner},
            ),
        )

    async def add(
        self,
        incident: Incident,
        *,
        owner: str,
        text: str,
        actor: str,
        due: str | None = None,
        priority: str | None = None,
        type: str | None = None,
        ticket: str | None = None,
    ) -> ActionItem:
        """Validate everything first; nothing is stored when any part is wrong. A private
        incident's outsiders add nothing to it (bot/incidents/access.py)."""
        await self.access.require_change(incident, actor)
        text = text.strip()
        if not text:
            raise UsageError("An action item needs a description.")
        if len(text) > MAX_ITEM_TEXT:
            raise UsageError(f"That description is too long (at most {MAX_ITEM_TEXT} characters).")
        now = self.clock()
        due_at = parse_due(due, now) if due else None
        if due_at is not None and due_at <= now:
            raise UsageError(f"`due:{escape(due or '')}` is in the past.")
        prio = parse_priority(priority) if priority else Priority.P2
        kind = parse_type(type) if type else None
        ticket_key = parse_ticket(ticket) if ticket else None
        await self._owner(owner)
        item = ActionItem(
            id=await self.items.next_id(),
            incident_id=incident.id,
            text=text,
            owner=owner,
            created_by=actor,
            created_at=now,
            due=due_at,
            priority=prio,
            type=kind,
            ticket=ticket_key,
        )
        item.next_reminder_at = next_reminder_at(item, self.cfg)
        await self.items.create(item)
        await self._event(
            item, actor, f"Action item {item.id} for {mention(owner)}: {escape(text)}", "added"
        )
        return await self._tell_followers(item, added=True)

    async def get(self, item_id: str) -> ActionItem:
        return await self.items.get(item_id)

    async def readable(self, item_id: str, reader: str) -> ActionItem:
        """The item, when `reader` may read its incident; else PrivateIncident."""
        item = await self.items.get(item_id)
        await self.access.require_read(await self.store.get_incident(item.incident_id), reader)
        return item

    async def list_items(
        self, scope: Scope, *, user_id: str, incident_id: str | None = None
    ) -> list[ActionItem]:
        """mine: your open items anywhere; overdue: open and past due (in the incident when
        given); all: every item of the incident, or every open item outside one."""
        now = self.clock()
        if scope == "mine":
            items = await self.items.many(await self.items.ids_of_owner(user_id))
            return [i for i in items if i.is_open and i.owner == user_id]
        if incident_id is not None:
            items = await self.items.many(await self.items.ids_of_incident(incident_id))
        else:
            items = await self.items.many(await self.items.open_ids())
        if scope == "overdue":
            return [i for i in items if i.is_overdue(now)]
        return items

    async def may_change(self, item: ActionItem, actor: str, what: str) -> None:
        """Its incident's rule first (a private incident's outsiders change nothing, its
        items' owners included), then the owner, the IC or an admin."""
        try:
            incident: Incident | None = await self.store.get_incident(item.incident_id)
        except NotFound:
            incident = None
        if incident is not None:
            await self.access.require_change(incident, actor)
        if actor == item.owner:
            return
        ic = incident.roles.get(Role.IC) if incident is not None else None
        if actor == ic or await self.is_admin(actor):
            return
        raise PermissionDenied(
            f"Only the owner ({mention(item.owner)}), the incident's IC or an admin may "
            f"{what} {item.id}."
        )

    async def done(self, item_id: str, actor: str) -> tuple[ActionItem, bool]:
        """Mark done; returns (item, changed). Done twice is not an error, it changes once."""
        item = await self.items.get(item_id)
        await self.may_change(item, actor, "finish")
        changed = False
        now = self.clock()

        def change(it: ActionItem) -> None:
            nonlocal changed
            changed = it.finish(now, actor)

        item = await self.items.update(item.id, change)
        if changed:
            await self._event(
                item, actor, f"Action item {item.id} done: {escape(item.text)}", "done"
            )
            item = await self._tell_followers(item, added=False)
        return item, changed

    async def snooze(
        self, item_id: str, actor: str, duration: timedelta | None = None
    ) -> ActionItem:
        item = await self.items.get(item_id)
        await self.may_change(item, actor, "snooze")
        if not item.is_open:
            raise UsageError(f"{item.id} is already done.")
        until = self.clock() + (duration or self.cfg.default_snooze)

        def change(it: ActionItem) -> None:
            it.snoozed_until = until
            self._restart_reminders(it)

        item = await self.items.update(item.id, change)
        await self._event(
            item, actor, f"Action item {item.id} snoozed until {when(until)}", "snoozed"
        )
        return item

    async def set_due(self, item_id: str, due: str, actor: str) -> ActionItem:
        """Give an item a due date (or move it): `YYYY-MM-DD`, `tomorrow`, `3d`…; the
        reminder cycle starts over from the new date."""
        item = await self.items.get(item_id)
        await self.may_change(item, actor, "set the due date of")
        if not item.is_open:
            raise UsageError(f"{item.id} is already done.")
        now = self.clock()
        due_at = parse_due(due, now)
        if due_at <= now:
            raise UsageError(f"`{escape(due)}` is in the past.")

        def change(it: ActionItem) -> None:
            it.due = due_at
            it.snoozed_until = None
            self._restart_reminders(it)

        item = await self.items.update(item.id, change)
        await self._event(
            item, actor, f"Action item {item.id} is due {when(due_at)}", "due_set"
        )
        return item

    async def reassign(self, item_id: str, new_owner: str, actor: str) -> ActionItem:
        item = await self.items.get(item_id)
        await self.may_change(item, actor, "reassign")
        await self._owner(new_owner)

        def change(it: ActionItem) -> None:
            it.owner = new_owner
            self._restart_reminders(it)

        item = await self.items.update(item.id, change)
        await self._event(
            item, actor, f"Action item {item.id} reassigned to {mention(new_owner)}", "reassigned"
        )
        return item

    async def move_open_items(self, source_id: str, target_id: str) -> list[ActionItem]:
        """A merge moves the duplicate's open items to the incident it duplicates."""
        items = await self.items.many(await self.items.ids_of_incident(source_id))
        moved = [await self.items.move_to_incident(i.id, target_id) for i in items if i.is_open]
        for item in moved:
            await self._event(
                item,
                item.owner,
                f"Action item {item.id} moved from {source_id}: {escape(item.text, limit=120)}",
                "moved",
            )
        return moved

    def _restart_reminders(self, it: ActionItem) -> None:
        """A snooze or a new owner starts the reminder cycle over (a new generation)."""
        it.generation += 1
        it.overdue_reminders_count = 0
        it.escalated_at = None
        it.next_reminder_at = next_reminder_at(it, self.cfg)

    def is_overdue(self, item: ActionItem, now: datetime | None = None) -> bool:
        return item.is_overdue(now or self.clock())
