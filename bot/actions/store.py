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

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from bot.actions.models import ACTION_ITEM_SCHEMA_VERSION, ActionItem
from bot.errors import NotFound
from bot.store import codec, keys
from bot.store.redis_store import guarded

SLOT_TTL_SECONDS = 90 * 24 * 3600

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class ActionItemStore:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    @guarded
    async def next_id(self) -> str:
        n = await self.redis.incr(keys.action_item_sequence())
        return f"AI-{n:04d}"

    def _index(self, pipe: aioredis.client.Pipeline, item: ActionItem) -> None:
        pipe.set(keys.action_item(item.id), codec.dumps(item))
        pipe.sadd(keys.action_items_of_incident(item.incident_id), item.id)
        pipe.sadd(keys.action_items_of_owner(item.owner), item.id)
        if item.is_open:
            pipe.sadd(keys.action_items_open(), item.id)
        else:
            pipe.srem(keys.action_items_open(), item.id)
        if item.is_open and item.next_reminder_at is not None:
            pipe.zadd(keys.action_items_due(), {item.id: item.next_reminder_at.timestamp()})
        else:
            pipe.zrem(keys.action_items_due(), item.id)

    @guarded
    async def create(self, item: ActionItem) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            self._index(pipe, item)
            await pipe.execute()

    @guarded
    async def get(self, item_id: str) -> ActionItem:
        raw = await self.redis.get(keys.action_item(item_id.upper()))
        if raw is None:
            raise NotFound(f"There is no action item `{item_id}`.")
        return codec.loads(ActionItem, raw, current=ACTION_ITEM_SCHEMA_VERSION)

    @guarded
    async def many(self, ids: list[str]) -> list[ActionItem]:
        if not ids:
            return []
        raws = await self.redis.mget([keys.action_item(i) for i in ids])
        items = [
            codec.loads(ActionItem, raw, current=ACTION_ITEM_SCHEMA_VERSION)
            for raw in raws
            if raw is not None
        ]
        return sorted(items, key=lambda i: i.id)

    @guarded
    async def update(self, item_id: str, change: Callable[[ActionItem], None]) -> ActionItem:
        """Apply `change` (mutates the item or raises) under optimistic locking and
        re-index the item (owner, open set, due time) in the same transaction."""
        key = keys.action_item(item_id.upper())
        while True:
            async with self.redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    if raw is None:
                        raise NotFound(f"There is no action item `{item_id}`.")
                    item = codec.loads(ActionItem, raw, current=ACTION_ITEM_SCHEMA_VERSION)
                    old_owner = item.owner
                    change(item)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    if item.owner != old_owner:
                        pipe.srem(keys.action_items_of_owner(old_owner), item.id)
                    self._index(pipe, item)
                    await pipe.execute()
                    return item
                except WatchError:
                    continue

    async def _members(self, key: str) -> list[str]:
        members = await cast(Awaitable[set[str]], self.redis.smembers(key))
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
        ids = await self.redis.zrangebyscore(
            keys.action_items_due(), "-inf", now.timestamp(), start=0, num=limit
        )
        return [str(i) for i in ids]

    @guarded
    async def claim(self, item_id: str, token: str, ttl: timedelta) -> bool:
        """Atomically take the item for one worker; the claim expires on its own so a
        worker killed mid-send never blocks the item for longer than `ttl`."""
        ms = max(1, int(ttl.total_seconds() * 1000))
        return bool(await self.redis.set(keys.action_item_claim(item_id), token, nx=True, px=ms))

    @guarded
    async def release(self, item_id: str, token: str) -> None:
        """Drop our claim only if it is still ours."""
        await cast(
            Awaitable[int],
            self.redis.eval(_RELEASE, 1, keys.action_item_claim(item_id), token),
        )

    @guarded
    async def slot_sent(self, item_id: str, slot: str) -> bool:
        return bool(await self.redis.exists(keys.reminder_sent(item_id, slot)))

    @guarded
    async def mark_slot(self, item_id: str, slot: str) -> bool:
        """Record that the message for `slot` went out; False when it already was."""
        return bool(
            await self.redis.set(
                keys.reminder_sent(item_id, slot), "1", nx=True, ex=SLOT_TTL_SECONDS
            )
        )

    @guarded
    async def first_time(self, key: str, ttl_seconds: int) -> bool:
        return bool(await self.redis.set(key, "1", nx=True, ex=ttl_seconds))

    @guarded
    async def forget(self, key: str) -> None:
        await self.redis.delete(key)
