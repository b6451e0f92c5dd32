"""Action items in Redis.

* `ib:action:<id>`            the item, versioned JSON
* per-incident / per-owner sets, and the set of open items
* `ib:actions:due`            sorted set: open item id -> next reminder time (epoch seconds);
                              a scan reads only the due range (ZRANGEBYSCORE), so its cost
                              grows with what is due, not with how many items exist
* `ib:claim:action:<id>`      a worker's claim on an item (SET NX PX, released by token)
* `ib:sent:reminder:<id>:<slot>`  set once the reminder for that slot was sent
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import cast

from bot.actions.models import ACTION_ITEM_SCHEMA_VERSION, ActionItem
from bot.errors import NotFound
from bot.store import atomic, codec, keys
from bot.store.atomic import ABSENT, Write
from bot.store.base import StoreBase
from bot.store.connection import Client, Db, guarded
from bot.store.leases import Lease, Leases

SLOT_TTL_SECONDS = 90 * 24 * 3600
# an id in the due index whose item is missing: kept this long (its record may be being
# written right now: indexes are written before records), then dropped
MISSING_GRACE = timedelta(hours=1)


class ActionItemStore(StoreBase):
    """The item record is its own atomic unit (`ib:action:<id>`); the incident, owner, open
    and due indexes are written around it: additions before the record, removals after."""

    def __init__(self, db: Db | Client) -> None:
        super().__init__(db)
        self.leases = Leases(self.db)

    @guarded
    async def next_id(self) -> str:
        n = await self.db.client.incr(keys.action_item_sequence())
        return f"AI-{n:04d}"

    async def _add_to_indexes(self, item: ActionItem) -> None:
        async with self.db.client.pipeline(transaction=False) as pipe:
            pipe.sadd(keys.action_items_of_incident(item.incident_id), item.id)
            # the incident has items: insights read its set only then (bot/store/insights.py)
            firsts = keys.incident_firsts(item.incident_id)
            pipe.zadd(firsts, {"items": item.created_at.timestamp()}, lt=True)
            pipe.sadd(keys.action_items_of_owner(item.owner), item.id)
            if item.is_open:
                pipe.sadd(keys.action_items_open(), item.id)
            if item.is_open and item.next_reminder_at is not None:
                pipe.zadd(keys.action_items_due(), {item.id: item.next_reminder_at.timestamp()})
            await pipe.execute()

    async def _remove_from_indexes(self, item: ActionItem, old_owner: str) -> None:
        async with self.db.client.pipeline(transaction=False) as pipe:
            if item.owner != old_owner:
                pipe.srem(keys.action_items_of_owner(old_owner), item.id)
            if not item.is_open:
                pipe.srem(keys.action_items_open(), item.id)
            if not item.is_open or item.next_reminder_at is None:
                pipe.zrem(keys.action_items_due(), item.id)
            await pipe.execute()

    @guarded
    async def create(self, item: ActionItem) -> None:
        await self._add_to_indexes(item)
        key = keys.action_item(item.id)
        await atomic.apply(
            self.db, [Write("SET", key, (codec.dumps(item),))], guard=key, expect=ABSENT
        )

    @guarded
    async def get(self, item_id: str) -> ActionItem:
        raw = await self.db.client.get(keys.action_item(item_id.upper()))
        if raw is None:
            raise NotFound(f"There is no action item `{item_id}`.")
        return codec.loads(ActionItem, raw, current=ACTION_ITEM_SCHEMA_VERSION)

    @guarded
    async def many(self, ids: list[str]) -> list[ActionItem]:
        raws = await self.get_many([keys.action_item(i) for i in ids])
        items = [
            codec.loads(ActionItem, raw, current=ACTION_ITEM_SCHEMA_VERSION)
            for raw in raws
            if raw is not None
        ]
        return sorted(items, key=lambda i: i.id)

    @guarded
    async def update(self, item_id: str, change: Callable[[ActionItem], None]) -> ActionItem:
        """Apply `change` (mutates the item or raises) optimistically and re-index the item
        (owner, open set, due time)."""
        key = keys.action_item(item_id.upper())
        result: list[tuple[ActionItem, str]] = []

        async def decide(raw: str | None) -> list[Write]:
            if raw is None:
                raise NotFound(f"There is no action item `{item_id}`.")
            item = codec.loads(ActionItem, raw, current=ACTION_ITEM_SCHEMA_VERSION)
            old_owner = item.owner
            change(item)
            await self._add_to_indexes(item)
            result[:] = [(item, old_owner)]
            return [Write("SET", key, (codec.dumps(item),))]

        await atomic.update(self.db, key, decide)
        item, old_owner = result[0]
        await self._remove_from_indexes(item, old_owner)
        return item

    @guarded
    async def move_to_incident(self, item_id: str, incident_id: str) -> ActionItem:
        """The item now belongs to another incident (a merge moves open items)."""
        moved_from: list[str] = []

        def change(item: ActionItem) -> None:
            moved_from.append(item.incident_id)
            item.incident_id = incident_id

        item = await self.update(item_id, change)
        if moved_from and moved_from[-1] != incident_id:  # removals after the record
            await cast(
                Awaitable[int],
                self.db.client.srem(keys.action_items_of_incident(moved_from[-1]), item.id),
            )
        return item

    @guarded
    async def unschedule(self, item_id: str) -> None:
        """No more reminders for the item (its incident was declined as a false alarm)."""
        await self.db.client.zrem(keys.action_items_due(), item_id)

    async def _members(self, key: str) -> list[str]:
        members = await cast(Awaitable[set[str]], self.db.client.smembers(key))
        return sorted(str(m) for m in members)

    @guarded
    async def ids_of_incident(self, incident_id: str) -> list[str]:
        return await self._members(keys.action_items_of_incident(incident_id))

    @guarded
    async def ids_of_owner(self, user_id: str) -> list[str]:
        return await self._members(keys.action_items_of_owner(user_id))

    @guarded
    async def open_ids(self) -> list[str]:
        return await self._members(keys.action_items_open())

    # --- reminders -------------------------------------------------------------------

    @guarded
    async def due_ids(self, now: datetime, limit: int) -> list[str]:
        """Ids whose next reminder is at or before `now`, earliest first (reads only those)."""
        ids = await self.db.client.zrangebyscore(
            keys.action_items_due(), "-inf", now.timestamp(), start=0, num=limit
        )
        return [str(i) for i in ids]

    @guarded
    async def due_backlog(self, now: datetime) -> tuple[int, datetime | None]:
        """How many items are due at `now`, and the earliest due time among them."""
        key = keys.action_items_due()
        async with self.db.client.pipeline(transaction=False) as pipe:
            pipe.zcount(key, "-inf", now.timestamp())
            pipe.zrange(key, 0, 0, withscores=True)
            due, first = await pipe.execute()
        if not due or not first:
            return 0, None
        return int(due), datetime.fromtimestamp(float(first[0][1]), tz=now.tzinfo)

    @guarded
    async def drop_missing(self, item_id: str, now: datetime) -> None:
        """The due index names an item with no record: drop it once it has been missing
        longer than MISSING_GRACE, else look again then."""
        key = keys.action_items_due()
        score = await self.db.client.zscore(key, item_id)
        if score is None:
            return
        if score < (now - MISSING_GRACE).timestamp():
            await self.db.client.zrem(key, item_id)
        else:
            await self.db.client.zadd(key, {item_id: (now + MISSING_GRACE).timestamp()})

    async def claim(self, item_id: str, token: str, ttl: timedelta) -> bool:
        """Take the item for one worker (a lease, bot/store/leases.py): it expires on its
        own, so a worker killed mid-send never blocks the item for longer than `ttl`."""
        lease = await self.leases.acquire(
            item_id, ttl, key=keys.action_item_claim(item_id), token=token
        )
        return lease is not None

    async def release(self, item_id: str, token: str) -> None:
        """Drop our claim only if it is still ours."""
        await self.leases.release(Lease(keys.action_item_claim(item_id), token))

    @guarded
    async def slot_sent(self, item_id: str, slot: str) -> bool:
        return bool(await self.db.client.exists(keys.reminder_sent(item_id, slot)))

    @guarded
    async def mark_slot(self, item_id: str, slot: str) -> bool:
        """Record that the message for `slot` went out; False when it already was."""
        return bool(
            await self.db.client.set(
                keys.reminder_sent(item_id, slot), "1", nx=True, ex=SLOT_TTL_SECONDS
            )
        )

    @guarded
    async def first_time(self, key: str, ttl_seconds: int) -> bool:
        return bool(await self.db.client.set(key, "1", nx=True, ex=ttl_seconds))

    @guarded
    async def exists(self, key: str) -> bool:
        return bool(await self.db.client.exists(key))

    @guarded
    async def forget(self, key: str) -> None:
        await self.db.client.delete(key)
