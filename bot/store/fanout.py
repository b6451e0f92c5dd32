"""The follower outbox: DMs to an incident's followers, queued by the process that took the
update and drained by the workers (bot/updates/fanout.py).

* the queue: one sorted set of `<incident>|<what>` by when the job is due (its own slot);
* a job: one JSON document in the incident's `{INC-…}` slot — the texts and the followers
  to DM, fixed when it was queued;
* per follower: a claim (a key holding its sender's token, expiring by itself, so a sender
  killed mid-send blocks that follower for at most the claim's ttl) and, once Slack took
  the DM, membership in the update's `delivered` set (the done marker a retried or second
  sender checks first). Both live in the incident's slot, so claiming and finishing are
  single scripts.

The queue entry is written before the job and removed after it (as every index here): a
crash in between leaves an entry without a job, which the drain drops."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime, timedelta
from enum import Enum
from typing import cast

from bot.store import keys
from bot.store.atomic import run_script
from bot.store.base import StoreBase
from bot.store.connection import guarded

# KEYS[1] delivered set, KEYS[2] the follower's claim; ARGV[1] user, ARGV[2] token, ARGV[3] ms
_CLAIM = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 'delivered' end
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then return 'claimed' end
return 'held'
"""
# KEYS[1] delivered set, KEYS[2] the claim; ARGV[1] user
_DELIVERED = """
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
return 1
"""
# KEYS[1] the claim; ARGV[1] token
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Claim(Enum):
    CLAIMED = "claimed"  # ours to send now
    DELIVERED = "delivered"  # Slack took it before
    HELD = "held"  # another sender is on it (or died on it: its claim expires)


def member(incident_id: str, what: str) -> str:
    return f"{incident_id}|{what}"


def split(entry: str) -> tuple[str, str]:
    incident_id, _, what = entry.partition("|")
    return incident_id, what


def _follower_keys(incident_id: str, what: str, user_id: str) -> list[str]:
    return [keys.update_delivered(incident_id, what), keys.fanout_claim(incident_id, what, user_id)]


class FanOutStore(StoreBase):
    @guarded
    async def enqueue(self, incident_id: str, what: str, document: str, due: datetime) -> bool:
        """Queue a job once: False when the same job is already queued (a retried update)."""
        entry = {member(incident_id, what): due.timestamp()}
        await self.db.client.zadd(keys.fanout_queue(), entry, nx=True)
        return bool(await self.db.client.set(keys.fanout(incident_id, what), document, nx=True))

    @guarded
    async def due(self, now: datetime, limit: int = 50) -> list[tuple[str, float]]:
        """(entry, due epoch) of jobs due by `now`, oldest first."""
        rows = await self.db.client.zrangebyscore(
            keys.fanout_queue(), "-inf", now.timestamp(), start=0, num=limit, withscores=True
        )
        return [(str(entry), float(score)) for entry, score in rows]

    @guarded
    async def waiting(self) -> int:
        return int(await self.db.client.zcard(keys.fanout_queue()))

    @guarded
    async def document(self, incident_id: str, what: str) -> str | None:
        raw = await self.db.client.get(keys.fanout(incident_id, what))
        return None if raw is None else str(raw)

    @guarded
    async def reschedule(self, incident_id: str, what: str, document: str, due: datetime) -> None:
        await self.db.client.set(keys.fanout(incident_id, what), document)
        await self.db.client.zadd(keys.fanout_queue(), {member(incident_id, what): due.timestamp()})

    @guarded
    async def finish(self, incident_id: str, what: str) -> None:
        await self.db.client.delete(keys.fanout(incident_id, what))
        await self.db.client.zrem(keys.fanout_queue(), member(incident_id, what))

    @guarded
    async def drop(self, entry: str) -> None:
        """A queue entry whose job is gone (a crash between the two writes)."""
        await self.db.client.zrem(keys.fanout_queue(), entry)

    @guarded
    async def undelivered(self, incident_id: str, what: str, users: list[str]) -> list[str]:
        if not users:
            return []
        seen = await cast(
            Awaitable[list[int]],
            self.db.client.smismember(keys.update_delivered(incident_id, what), users),
        )
        return [u for u, done in zip(users, seen, strict=True) if not done]

    @guarded
    async def claim(
        self, incident_id: str, what: str, user_id: str, token: str, ttl: timedelta
    ) -> Claim:
        verdict = await run_script(
            self.db, _CLAIM, _follower_keys(incident_id, what, user_id),
            [user_id, token, max(1, int(ttl.total_seconds() * 1000))],
        )
        return Claim(verdict.decode() if isinstance(verdict, bytes) else str(verdict))

    @guarded
    async def delivered(self, incident_id: str, what: str, user_id: str) -> None:
        await run_script(self.db, _DELIVERED, _follower_keys(incident_id, what, user_id), [user_id])

    @guarded
    async def release(self, incident_id: str, what: str, user_id: str, token: str) -> None:
        await run_script(
            self.db, _RELEASE, [keys.fanout_claim(incident_id, what, user_id)], [token]
        )
