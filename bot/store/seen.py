"""Idempotency markers: a Slack event already recorded, a button already applied, an alert
already posted. Single keys set only if absent, so any replica can check them."""

from __future__ import annotations

from bot.store import keys
from bot.store.base import StoreBase
from bot.store.connection import guarded

SEEN_TTL_SECONDS = 24 * 3600


class SeenStore(StoreBase):
    @guarded
    async def exists(self, key: str) -> bool:
        return bool(await self.db.client.exists(key))

    @guarded
    async def first_time(self, key: str, ttl_seconds: int = SEEN_TTL_SECONDS) -> bool:
        """True exactly once per key (Slack event retries, double clicks)."""
        return bool(await self.db.client.set(key, "1", nx=True, ex=ttl_seconds))

    @guarded
    async def forget(self, key: str) -> None:
        """Drop a marker so a retry may do the work again (the work failed)."""
        await self.db.client.delete(key)

    async def event_seen(self, event_id: str) -> bool:
        """A Slack event already recorded (its retry is dropped)."""
        return await self.exists(keys.seen_event(event_id))

    async def first_event(self, event_id: str) -> bool:
        """Mark a Slack event recorded; True the first time."""
        return await self.first_time(keys.seen_event(event_id))

    async def first_click(self, key: str, ttl_seconds: int) -> bool:
        """Mark a button click applied; False for a double click within `ttl_seconds`."""
        return await self.first_time(keys.seen_action(key), ttl_seconds)
