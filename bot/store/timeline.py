"""Timeline streams: one append-only Stream per incident plus its message-ts index, both in
the incident's `{INC-…}` slot. Appends wait for replicas when the store is durable: these
are the writes acknowledged to Slack."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, cast

from bot.store import atomic, codec, keys
from bot.store.atomic import Write
from bot.store.connection import guarded
from bot.store.search_index import SearchIndex, event_index_commands
from bot.timeline.models import (
    ACKNOWLEDGING_KINDS,
    EVENT_SCHEMA_VERSION,
    EventKind,
    TimelineEntry,
    TimelineEvent,
)

# KEYS[1] message-ts -> stream-id hash, KEYS[2] timeline stream, KEYS[3] the first times;
# ARGV ts, event json, and the author's first-action member and score ('' when none)
RECORD_MESSAGE_LUA = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
local id = redis.call('XADD', KEYS[2], '*', 'v', ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], id)
if ARGV[3] ~= '' then redis.call('ZADD', KEYS[3], 'LT', ARGV[4], ARGV[3]) end
return 1
"""


def first_act(event: TimelineEvent) -> tuple[str, float] | None:
    """The `acted:<user>` member and score an event sets in the incident's first times."""
    if event.actor is None or event.kind not in ACKNOWLEDGING_KINDS:
        return None
    return f"acted:{event.actor}", event.at.timestamp()


def event_writes(incident_id: str, event: TimelineEvent) -> list[Write]:
    """Appending an event: the stream entry, and its author's first action (kept as the
    earliest with ZADD LT, so a merge's older copied events move it back)."""
    writes = [Write("XADD", keys.timeline(incident_id), ("*", "v", codec.dumps(event)))]
    act = first_act(event)
    if act is not None:
        writes.append(Write("ZADD", keys.incident_firsts(incident_id), ("LT", act[1], act[0])))
    return writes


# KEYS[1] the event's marker, KEYS[2] message-ts -> stream-id hash, KEYS[3] timeline stream,
# KEYS[4] the first times; ARGV marker TTL (0: no marker), message ts ('' : not about a
# message), event json, the author's first-action member and score ('' when none).
# 0: a retry (marked before), 2: about a message not on the timeline, 1: appended.
APPEND_ONCE_LUA = """
local marked = ARGV[1] ~= '0'
if marked and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local result = 2
if ARGV[2] == '' or redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then
  redis.call('XADD', KEYS[3], '*', 'v', ARGV[3])
  if ARGV[4] ~= '' then redis.call('ZADD', KEYS[4], 'LT', ARGV[5], ARGV[4]) end
  result = 1
end
if marked then redis.call('SET', KEYS[1], '1', 'EX', ARGV[1]) end
return result
"""
SEEN_TTL_SECONDS = 24 * 3600


class TimelineStore(SearchIndex):
    @guarded
    async def append_event(self, incident_id: str, event: TimelineEvent) -> str:
        replies = await atomic.apply(  # the search index first, in the same round trip
            self.db, event_writes(incident_id, event),
            first=event_index_commands(incident_id, [event]),
        )
        assert replies is not None
        return str(replies[0])

    @guarded
    async def append_events(self, incident_id: str, events: list[TimelineEvent]) -> None:
        """Several events at once, in order, in one atomic write (a merge's copied timeline)."""
        if not events:
            return
        await atomic.apply(
            self.db, [w for e in events for w in event_writes(incident_id, e)],
            first=event_index_commands(incident_id, events),
        )

    @guarded
    async def record_message(self, incident_id: str, event: TimelineEvent) -> bool:
        """Store a channel message once per message ts; False when it was already stored.
        One atomic script: a failure can never leave a message marked but unstored."""
        assert event.message_ts is not None
        member, score = first_act(event) or ("", 0.0)
        stored = await atomic.run_script(  # the search index first, in the same round trip
            self.db,
            RECORD_MESSAGE_LUA,
            [
                keys.timeline_messages(incident_id),
                keys.timeline(incident_id),
                keys.incident_firsts(incident_id),
            ],
            [event.message_ts, codec.dumps(event), member, score],
            first=event_index_commands(incident_id, [event]),
        )
        return bool(stored)

    @guarded
    async def append_once(
        self, incident_id: str, event: TimelineEvent, *, event_id: str | None,
        about_message: str | None,
    ) -> bool:
        """Append `event` once per Slack `event_id` (a retry is dropped) and, when it is
        about a message (`about_message`, its ts), only if that message is on the timeline.
        One script, one round trip: the check, the append and the event's marker happen
        together or not at all (a failure leaves the event unmarked, so Slack's retry
        records it). True when appended."""
        marker = keys.timeline_event_seen(incident_id, event_id or "-")
        member, score = first_act(event) or ("", 0.0)
        stored = await atomic.run_script(  # the search index first, in the same round trip
            self.db,
            APPEND_ONCE_LUA,
            [marker, keys.timeline_messages(incident_id), keys.timeline(incident_id),
             keys.incident_firsts(incident_id)],
            [SEEN_TTL_SECONDS if event_id else 0, about_message or "", codec.dumps(event),
             member, score],
            first=event_index_commands(incident_id, [event]),
        )
        return int(stored) == 1

    @guarded
    async def has_message(self, incident_id: str, message_ts: str) -> bool:
        key = keys.timeline_messages(incident_id)
        return bool(await cast(Awaitable[bool], self.db.client.hexists(key, message_ts)))

    @guarded
    async def events(self, incident_id: str) -> list[tuple[str, TimelineEvent]]:
        rows: list[tuple[str, dict[str, Any]]] = await self.db.client.xrange(
            keys.timeline(incident_id)
        )
        return [
            (str(sid), codec.loads(TimelineEvent, fields["v"], current=EVENT_SCHEMA_VERSION))
            for sid, fields in rows
        ]

    @guarded
    async def events_after(self, incident_id: str, after: str, count: int = 100
                           ) -> list[tuple[str, TimelineEvent]]:
        """Events appended after stream id `after` ("0" for all), oldest first (the web
        page's live timeline polls this)."""
        rows: list[tuple[str, dict[str, Any]]] = await self.db.client.xrange(
            keys.timeline(incident_id), f"({after}" if after != "0" else "-", "+", count=count
        )
        return [
            (str(sid), codec.loads(TimelineEvent, fields["v"], current=EVENT_SCHEMA_VERSION))
            for sid, fields in rows
        ]

    @guarded
    async def last_event_id(self, incident_id: str) -> str:
        """The stream id of the newest event ("0" when there is none)."""
        rows = await self.db.client.xrevrange(keys.timeline(incident_id), count=1)
        return str(rows[0][0]) if rows else "0"

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
