"""Relapse watch: which resolved incidents the worker re-checks, until when, and the
once-per-resolve claim on posting a relapse (SET NX: one replica, one post, ever)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.store import keys
from bot.store.base import StoreBase
from bot.store.connection import guarded

CLAIM_KEEP = timedelta(days=7)


class RelapseStore(StoreBase):
    @guarded
    async def watch(self, incident_id: str, until: datetime) -> None:
        await self.db.client.zadd(keys.relapse_watch(), {incident_id: until.timestamp()})

    @guarded
    async def unwatch(self, incident_id: str) -> None:
        await self.db.client.zrem(keys.relapse_watch(), incident_id)

    @guarded
    async def watched(self, now: datetime) -> list[str]:
        """Incidents still under watch at `now`; the ones whose watch ended are dropped."""
        key = keys.relapse_watch()
        await self.db.client.zremrangebyscore(key, "-inf", f"({now.timestamp()}")
        ids = await self.db.client.zrange(key, 0, -1)
        return [i.decode() if isinstance(i, bytes) else str(i) for i in ids]

    @guarded
    async def claim_post(self, incident_id: str, resolved_at: datetime) -> bool:
        """True for exactly one caller per (incident, resolve), across replicas and restarts."""
        key = keys.relapse_posted(incident_id, resolved_at.isoformat())
        ttl = int(CLAIM_KEEP.total_seconds())
        return bool(await self.db.client.set(key, "1", nx=True, ex=ttl))

    @guarded
    async def release_post(self, incident_id: str, resolved_at: datetime) -> None:
        """The post failed before anyone saw it: let the next scan try again."""
        await self.db.client.delete(keys.relapse_posted(incident_id, resolved_at.isoformat()))
