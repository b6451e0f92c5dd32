"""Incident records, their ids, the channel → incident index and the open/all indexes.

The record and its first timeline event are one atomic unit (`{INC-…}` slot). The indexes
live in other slots: additions are written before the record and removals after it, so a
crash in between leaves an index entry whose record is missing or closed, which every
reader skips — never a record no index finds.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.errors import NotFound
from bot.incidents.models import INCIDENT_SCHEMA_VERSION, Incident
from bot.store import atomic, codec, keys
from bot.store.atomic import ABSENT, Write
from bot.store.connection import guarded
from bot.store.insights import record_facts
from bot.store.search_index import SearchIndex
from bot.store.timeline import event_writes
from bot.timeline.models import TimelineEvent

# the first-times set is kept on write from this version on (bot/store/insights.py)
FIRSTS_KEPT = ("ZADD", "0", "v1")


class IncidentStore(SearchIndex):
    @guarded
    async def ping(self) -> None:
        await self.db.client.ping()

    @guarded
    async def next_incident_id(self, when: datetime) -> str:
        day = when.strftime("%Y%m%d")
        n = await self.db.client.incr(keys.incident_sequence(day))
        return f"INC-{day}-{n:04d}"

    async def _index(self, incident: Incident, previous: Incident | None = None) -> None:
        await self.index_incident(incident, previous, phase="add")
        score = incident.declared_at.timestamp()
        async with self.db.client.pipeline(transaction=False) as pipe:
            pipe.set(keys.channel_index(incident.channel_id), incident.id)
            pipe.zadd(keys.incidents_all(), {incident.id: score})
            if incident.is_active:
                pipe.zadd(keys.incidents_open(), {incident.id: score})
            await pipe.execute()

    @guarded
    async def create_incident(self, incident: Incident, first_event: TimelineEvent) -> None:
        await self._index(incident)
        await self.index_events(incident.id, [first_event])
        stored = await atomic.apply(
            self.db,
            [
                Write("SET", keys.incident(incident.id), (codec.dumps(incident),)),
                Write("SET", keys.incident_facts(incident.id), (record_facts(incident),)),
                Write(FIRSTS_KEPT[0], keys.incident_firsts(incident.id), FIRSTS_KEPT[1:]),
                *event_writes(incident.id, first_event),
            ],
            guard=keys.incident(incident.id),
            expect=ABSENT,
        )
        if stored is None:
            raise RuntimeError(f"incident id {incident.id} is already taken")

    @guarded
    async def get_incident(self, incident_id: str) -> Incident:
        raw = await self.db.client.get(keys.incident(incident_id))
        if raw is None:
            raise NotFound(f"There is no incident `{incident_id}`.")
        return codec.loads(Incident, raw, current=INCIDENT_SCHEMA_VERSION)

    @guarded
    async def incident_id_for_channel(self, channel_id: str) -> str | None:
        value = await self.db.client.get(keys.channel_index(channel_id))
        return None if value is None else str(value)

    @guarded
    async def index_channel(self, channel_id: str, incident_id: str) -> None:
        """Another channel now belongs to the incident (a private conversion's new channel)."""
        await self.db.client.set(keys.channel_index(channel_id), incident_id)

    @guarded
    async def update_incident(
        self,
        incident_id: str,
        change: Callable[[Incident], list[TimelineEvent]],
    ) -> tuple[Incident, list[TimelineEvent]]:
        """Apply `change` (which mutates the incident and returns the events it caused)
        optimistically, storing the incident and its events in one atomic write."""
        key = keys.incident(incident_id)
        result: list[tuple[Incident, list[TimelineEvent], Incident]] = []

        async def decide(raw: str | None) -> list[Write]:
            if raw is None:
                raise NotFound(f"There is no incident `{incident_id}`.")
            incident = codec.loads(Incident, raw, current=INCIDENT_SCHEMA_VERSION)
            previous = incident.model_copy(deep=True)
            events = change(incident)
            if incident.is_active:
                await self._index(incident, previous)  # additions before the record
            else:
                await self.index_incident(incident, previous, phase="add")
            await self.index_events(incident.id, events)
            result[:] = [(incident, events, previous)]
            facts = Write("SET", keys.incident_facts(incident_id), (record_facts(incident),))
            return [Write("SET", key, (codec.dumps(incident),)), facts] + [
                w for e in events for w in event_writes(incident_id, e)
            ]

        await atomic.update(self.db, key, decide)
        incident, events, previous = result[0]
        if not incident.is_active:
            await self.db.client.zrem(keys.incidents_open(), incident.id)  # removals after
        await self.index_incident(incident, previous, phase="remove")
        return incident, events

    @guarded
    async def list_incident_ids(self, *, open_only: bool, limit: int = 50) -> list[str]:
        key = keys.incidents_open() if open_only else keys.incidents_all()
        ids = await self.db.client.zrevrange(key, 0, limit - 1)
        return [str(i) for i in ids]

    @guarded
    async def incident_ids_declared(
        self, start: float | str = "-inf", end: float | str = "+inf"
    ) -> list[str]:
        """Ids of every incident declared in [start, end] (epoch seconds), oldest first."""
        ids = await self.db.client.zrangebyscore(keys.incidents_all(), start, end)
        return [str(i) for i in ids]

    @guarded
    async def incident_ids_page(self, start: int, count: int) -> list[str]:
        """A page of every incident id, oldest first (for re-indexing in batches)."""
        ids = await self.db.client.zrange(keys.incidents_all(), start, start + count - 1)
        return [str(i) for i in ids]

    @guarded
    async def open_incident_count(self) -> int:
        return int(await self.db.client.zcard(keys.incidents_open()))

    @guarded
    async def incidents(self, ids: list[str]) -> list[Incident]:
        raws = await self.get_many([keys.incident(i) for i in ids])
        return [
            codec.loads(Incident, raw, current=INCIDENT_SCHEMA_VERSION)
            for raw in raws
            if raw is not None
        ]
