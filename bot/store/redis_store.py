"""Incidents, the channel index and the timeline in Redis (redis.asyncio)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, ParamSpec, TypeVar, cast

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError

from bot.errors import NotFound, StoreUnavailable
from bot.incidents.models import INCIDENT_SCHEMA_VERSION, Incident
from bot.store import codec, keys
from bot.timeline.models import EVENT_SCHEMA_VERSION, EventKind, TimelineEntry, TimelineEvent

P = ParamSpec("P")
T = TypeVar("T")

SEEN_TTL_SECONDS = 24 * 3600
# KEYS[1] message-ts -> stream-id hash, KEYS[2] timeline stream; ARGV ts, event json
RECORD_MESSAGE_LUA = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
local id = redis.call('XADD', KEYS[2], '*', 'v', ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], id)
return 1
"""


def guarded(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Turn a lost Redis connection into a clear 'try again' error."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await fn(*args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            raise StoreUnavailable(
                "The incident store (Redis) is unreachable, so nothing was changed. "
                "Try again in a moment."
            ) from exc

    return wrapper


def connect(url: str) -> aioredis.Redis:
    return aioredis.Redis.from_url(  # type: ignore[no-any-return]
        url,
        decode_responses=True,
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=10,
        retry_on_timeout=False,
    )


class RedisStore:
    """Incidents and their timelines. Writes that touch one incident are atomic."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self._record_message_script = redis.register_script(RECORD_MESSAGE_LUA)

    @guarded
    async def ping(self) -> None:
        await self.redis.ping()

    # --- incidents -------------------------------------------------------------

    @guarded
    async def next_incident_id(self, when: datetime) -> str:
        day = when.strftime("%Y%m%d")
        n = await self.redis.incr(keys.incident_sequence(day))
        return f"INC-{day}-{n:04d}"

    @guarded
    async def create_incident(self, incident: Incident, first_event: TimelineEvent) -> None:
        score = incident.declared_at.timestamp()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(keys.incident(incident.id), codec.dumps(incident))
            pipe.set(keys.channel_index(incident.channel_id), incident.id)
            pipe.zadd(keys.incidents_open(), {incident.id: score})
            pipe.zadd(keys.incidents_all(), {incident.id: score})
            pipe.xadd(keys.timeline(incident.id), {"v": codec.dumps(first_event)})
            await pipe.execute()

    @guarded
    async def get_incident(self, incident_id: str) -> Incident:
        raw = await self.redis.get(keys.incident(incident_id))
        if raw is None:
            raise NotFound(f"There is no incident `{incident_id}`.")
        return codec.loads(Incident, raw, current=INCIDENT_SCHEMA_VERSION)

    @guarded
    async def incident_id_for_channel(self, channel_id: str) -> str | None:
        value = await self.redis.get(keys.channel_index(channel_id))
        return None if value is None else str(value)

    @guarded
    async def update_incident(
        self,
        incident_id: str,
        change: Callable[[Incident], list[TimelineEvent]],
    ) -> tuple[Incident, list[TimelineEvent]]:
        """Apply `change` (which mutates the incident and returns the events it caused)
        under optimistic locking, storing the incident and its events in one transaction."""
        key = keys.incident(incident_id)
        while True:
            async with self.redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    if raw is None:
                        raise NotFound(f"There is no incident `{incident_id}`.")
                    incident = codec.loads(Incident, raw, current=INCIDENT_SCHEMA_VERSION)
                    events = change(incident)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.set(key, codec.dumps(incident))
                    if incident.is_active:
                        pipe.zadd(
                            keys.incidents_open(), {incident.id: incident.declared_at.timestamp()}
                        )
                    else:
                        pipe.zrem(keys.incidents_open(), incident.id)
                    for event in events:
                        pipe.xadd(keys.timeline(incident_id), {"v": codec.dumps(event)})
                    await pipe.execute()
                    return incident, events
                except WatchError:
                    continue

    @guarded
    async def list_incident_ids(self, *, open_only: bool, limit: int = 50) -> list[str]:
        key = keys.incidents_open() if open_only else keys.incidents_all()
        ids = await self.redis.zrevrange(key, 0, limit - 1)
        return [str(i) for i in ids]

    @guarded
    async def incidents(self, ids: list[str]) -> list[Incident]:
        if not ids:
            return []
        raws = await self.redis.mget([keys.incident(i) for i in ids])
        return [
            codec.loads(Incident, raw, current=INCIDENT_SCHEMA_VERSION)
            for raw in raws
            if raw is not None
        ]

    # --- timeline ---------------------------------------------------------------

    @guarded
    async def append_event(self, incident_id: str, event: TimelineEvent) -> str:
        stream_id = await self.redis.xadd(keys.timeline(incident_id), {"v": codec.dumps(event)})
        return str(stream_id)

    @guarded
    async def record_message(self, incident_id: str, event: TimelineEvent) -> bool:
        """Store a channel message once per message ts; False when it was already stored.
        One atomic script: a failure can never leave a message marked but unstored."""
        assert event.message_ts is not None
        stored = await self._record_message_script(
            keys=[keys.timeline_messages(incident_id), keys.timeline(incident_id)],
            args=[event.message_ts, codec.dumps(event)],
        )
        return bool(stored)

    @guarded
    async def has_message(self, incident_id: str, message_ts: str) -> bool:
        key = keys.timeline_messages(incident_id)
        return bool(await cast(Awaitable[bool], self.redis.hexists(key, message_ts)))

    @guarded
    async def events(self, incident_id: str) -> list[tuple[str, TimelineEvent]]:
        rows: list[tuple[str, dict[str, Any]]] = await self.redis.xrange(keys.timeline(incident_id))
        return [
            (str(sid), codec.loads(TimelineEvent, fields["v"], current=EVENT_SCHEMA_VERSION))
            for sid, fields in rows
        ]

    async def timeline(self, incident_id: str) -> list[TimelineEntry]:
        """The timeline as shown: edits replace text, deletes hide, pins mark key."""
        entries: dict[str, TimelineEntry] = {}
        order: list[str] = []
        by_ts: dict[str, str] = {}
        for sid, event in await self.events(incident_id):
            if event.kind is EventKind.MESSAGE and event.message_ts:
                by_ts.setdefault(event.message_ts, sid)
            target = by_ts.get(event.message_ts or "") if event.message_ts else None
            if event.kind is EventKind.MESSAGE_EDITED and target in entries:
                entry = entries[target]
                entry.event = entry.event.model_copy(update={"text": event.text})
                entry.edited = True
                continue
            if event.kind is EventKind.MESSAGE_DELETED and target in entries:
                entries[target].deleted = True
                continue
            if event.kind is EventKind.KEY_MARKED and target in entries:
                entry = entries[target]
                entry.event = entry.event.model_copy(update={"key": True})
                continue
            if event.kind in (
                EventKind.MESSAGE_EDITED,
                EventKind.MESSAGE_DELETED,
                EventKind.KEY_MARKED,
            ):
                continue  # about a message from before the bot knew the channel
            entries[sid] = TimelineEntry(event=event, stream_id=sid)
            order.append(sid)
        return [entries[sid] for sid in order if not entries[sid].deleted]

    # --- idempotency ---------------------------------------------------------------

    @guarded
    async def exists(self, key: str) -> bool:
        return bool(await self.redis.exists(key))

    @guarded
    async def first_time(self, key: str, ttl_seconds: int = SEEN_TTL_SECONDS) -> bool:
        """True exactly once per key (Slack event retries, double clicks)."""
        return bool(await self.redis.set(key, "1", nx=True, ex=ttl_seconds))
