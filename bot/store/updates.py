"""Status updates and their followers, in Redis.

The updates of an incident are a list in its `{INC-…}` slot, numbered atomically by one
script. Followers are a set per incident (and, for App Home, a set of followed incidents per
user). The DMs to followers go through the outbox in bot/store/fanout.py.
Once-only worker messages (cadence prompts, nudges) use `store.leases.run_once`.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Any, cast

from bot.store import codec, keys
from bot.store.atomic import run_script
from bot.store.base import StoreBase
from bot.store.connection import guarded
from bot.timeline.models import EVENT_SCHEMA_VERSION, TimelineEvent
from bot.updates.models import STATUS_UPDATE_SCHEMA_VERSION, StatusUpdate

# KEYS[1] the updates list; ARGV[1] the update's JSON with "seq":0 -> numbered atomically
APPEND_UPDATE_LUA = """
local n = redis.call('LLEN', KEYS[1]) + 1
local doc = string.gsub(ARGV[1], '"seq":0', '"seq":' .. n, 1)
redis.call('RPUSH', KEYS[1], doc)
return n
"""


class UpdateStore(StoreBase):
    # --- updates -------------------------------------------------------------------------

    @guarded
    async def append(self, update: StatusUpdate) -> StatusUpdate:
        """Store the update with the next number of its incident; returns it numbered."""
        draft = update.model_copy(update={"seq": 0})
        seq = await run_script(
            self.db, APPEND_UPDATE_LUA, [keys.status_updates(update.incident_id)],
            [codec.dumps(draft)],
        )
        return update.model_copy(update={"seq": int(seq)})

    @guarded
    async def updates(self, incident_id: str) -> list[StatusUpdate]:
        raws = await cast(
            Awaitable[list[str]], self.db.client.lrange(keys.status_updates(incident_id), 0, -1)
        )
        return [self._load(raw) for raw in raws]

    @guarded
    async def latest(self, incident_id: str) -> StatusUpdate | None:
        raw = await cast(
            Awaitable[str | None], self.db.client.lindex(keys.status_updates(incident_id), -1)
        )
        return None if raw is None else self._load(raw)

    @staticmethod
    def _load(raw: str) -> StatusUpdate:
        return codec.loads(StatusUpdate, raw, current=STATUS_UPDATE_SCHEMA_VERSION)

    # --- followers -----------------------------------------------------------------------

    @guarded
    async def subscribe(self, incident_id: str, user_id: str) -> bool:
        """True when the user was not following yet. The per-user index is written first
        (it only feeds App Home, which re-checks the incident's own set)."""
        client = self.db.client
        await cast(Awaitable[int], client.sadd(keys.following(user_id), incident_id))
        added = await cast(Awaitable[int], client.sadd(keys.subscribers(incident_id), user_id))
        return bool(added)

    @guarded
    async def unsubscribe(self, incident_id: str, user_id: str) -> bool:
        """True when the user was following."""
        client = self.db.client
        removed = await cast(Awaitable[int], client.srem(keys.subscribers(incident_id), user_id))
        await cast(Awaitable[int], client.srem(keys.following(user_id), incident_id))
        return bool(removed)

    @guarded
    async def subscribers(self, incident_id: str) -> set[str]:
        members = await cast(
            Awaitable[set[str]], self.db.client.smembers(keys.subscribers(incident_id))
        )
        return {str(m) for m in members}

    @guarded
    async def followed(self, user_id: str) -> list[str]:
        """Incidents the user follows (checked against each incident's own set)."""
        ids = await cast(Awaitable[set[str]], self.db.client.smembers(keys.following(user_id)))
        out = []
        for incident_id in sorted(str(i) for i in ids):
            key = keys.subscribers(incident_id)
            if await cast(Awaitable[int], self.db.client.sismember(key, user_id)):
                out.append(incident_id)
        return out

    # --- what the worker reads -------------------------------------------------------------

    @guarded
    async def last_activity(self, incident_id: str) -> datetime | None:
        """When the newest timeline event happened (a message, a note, a bot event)."""
        rows: list[tuple[str, dict[str, Any]]] = await self.db.client.xrevrange(
            keys.timeline(incident_id), count=1
        )
        if not rows:
            return None
        event = codec.loads(TimelineEvent, rows[0][1]["v"], current=EVENT_SCHEMA_VERSION)
        return event.at
