"""The recurring-pattern inverted index: one sorted set per service, tag, root-cause
category and title word (incident ids by declared time), plus per incident the set of keys
it is in. Each index key is its own slot: new keys are written first, the incident's key
set next (atomically, one key), stale keys last; a crash leaves extra candidates, which
scoring re-checks against the incident records."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable
from datetime import datetime
from typing import cast

from bot.incidents.models import Incident
from bot.patterns.matcher import MatchConfig, index_keys
from bot.store import atomic, keys
from bot.store.atomic import Write
from bot.store.base import StoreBase
from bot.store.connection import Client, Db, guarded


class PatternIndex(StoreBase):
    def __init__(self, db: Db | Client, config: MatchConfig | None = None) -> None:
        super().__init__(db)
        self.config = config or MatchConfig()

    @guarded
    async def add(self, incident: Incident) -> None:
        """(Re-)index an incident by its current services, tags, category and title."""
        members_key = keys.pattern_indexed(incident.id)
        old = await cast(Awaitable[set[str]], self.db.client.smembers(members_key))
        new = index_keys(incident, incident.root_cause_category, self.config.max_title_words)
        score = incident.declared_at.timestamp()
        async with self.db.client.pipeline(transaction=False) as pipe:
            for key in new:
                pipe.zadd(key, {incident.id: score})
            await pipe.execute()
        writes = [Write("DEL", members_key)]
        if new:
            writes.append(Write("SADD", members_key, tuple(new)))
        await atomic.apply(self.db, writes)
        stale = set(old) - set(new)
        if stale:
            async with self.db.client.pipeline(transaction=False) as pipe:
                for key in stale:
                    pipe.zrem(key, incident.id)
                await pipe.execute()

    @guarded
    async def candidates(
        self, incident: Incident, category: str | None, start: datetime, end: datetime
    ) -> list[str]:
        """Ids in [start, end) sharing index keys with the incident, most shared first."""
        index = index_keys(incident, category, self.config.max_title_words)
        if not index:
            return []
        async with self.db.client.pipeline(transaction=False) as pipe:
            for key in index:
                pipe.zrevrangebyscore(
                    key,
                    f"({end.timestamp()}",
                    start.timestamp(),
                    start=0,
                    num=self.config.per_key_limit,
                )
            rows: list[list[str]] = await pipe.execute()
        counts: Counter[str] = Counter()
        for row in rows:
            counts.update(str(i) for i in row)
        counts.pop(incident.id, None)
        return [i for i, _ in counts.most_common(self.config.max_candidates)]

    @guarded
    async def in_category(self, category: str, start: datetime, end: datetime) -> list[str]:
        """Every indexed incident of the category declared in [start, end), oldest first."""
        ids = await self.db.client.zrangebyscore(
            keys.pattern("cat", category), start.timestamp(), f"({end.timestamp()}"
        )
        return [str(i) for i in ids]
