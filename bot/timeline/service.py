"""Keeping the timeline from what people say in incident channels."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.clock import Clock
from bot.errors import UsageError
from bot.store.redis_store import RedisStore
from bot.timeline.models import EventKind, TimelineEntry, TimelineEvent

PAGE_SIZE = 25
MAX_MESSAGE_TEXT = 4000


def ts_to_datetime(ts: str) -> datetime:
    return datetime.fromtimestamp(float(ts), UTC)


class TimelineService:
    def __init__(self, *, store: RedisStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        # a channel's incident never changes once set, so positive lookups are cached
        self._incident_of_channel: dict[str, str] = {}

    async def _incident_id(self, channel_id: str) -> str | None:
        cached = self._incident_of_channel.get(channel_id)
        if cached is not None:
            return cached
        incident_id = await self.store.incident_id_for_channel(channel_id)
        if incident_id is not None:
            if len(self._incident_of_channel) > 10_000:
                self._incident_of_channel.clear()
            self._incident_of_channel[channel_id] = incident_id
        return incident_id

    async def record_message(self, channel_id: str, user_id: str, text: str, ts: str) -> bool:
        """Store a human message in an incident channel; once per message, whatever retries."""
        incident_id = await self._incident_id(channel_id)
        if incident_id is None:
            return False
        event = TimelineEvent(
            kind=EventKind.MESSAGE,
            at=ts_to_datetime(ts),
            actor=user_id,
            text=text[:MAX_MESSAGE_TEXT],
            message_ts=ts,
        )
        return await self.store.record_message(incident_id, event)

    async def _follow(
        self, channel_id: str, kind: EventKind, ts: str, actor: str | None, text: str = "",
        event_id: str | None = None,
    ) -> bool:
        """An event about a stored message (edit, delete, pin): appended only if the message
        is on the timeline, once per Slack event id — one round trip to Redis."""
        incident_id = await self._incident_id(channel_id)
        if incident_id is None:
            return False
        event = TimelineEvent(
            kind=kind, at=self.clock(), actor=actor, text=text[:MAX_MESSAGE_TEXT], message_ts=ts
        )
        return await self.store.append_once(
            incident_id, event, event_id=event_id, about_message=ts
        )

    async def record_edit(
        self, channel_id: str, ts: str, new_text: str, user_id: str | None,
        event_id: str | None = None,
    ) -> bool:
        return await self._follow(
            channel_id, EventKind.MESSAGE_EDITED, ts, user_id, new_text, event_id
        )

    async def record_delete(self, channel_id: str, ts: str, event_id: str | None = None) -> bool:
        return await self._follow(channel_id, EventKind.MESSAGE_DELETED, ts, None, "", event_id)

    async def record_system(
        self, channel_id: str, actor: str | None, text: str, ts: str,
        event_id: str | None = None,
    ) -> bool:
        """A change to an incident channel itself (topic, name, archive): a system event,
        once per Slack event id."""
        incident_id = await self._incident_id(channel_id)
        if incident_id is None:
            return False
        at = ts_to_datetime(ts) if ts else self.clock()
        event = TimelineEvent(
            kind=EventKind.SYSTEM, at=at, actor=actor, text=text[:MAX_MESSAGE_TEXT]
        )
        return await self.store.append_once(
            incident_id, event, event_id=event_id, about_message=None
        )

    async def mark_key(
        self, channel_id: str, ts: str, actor: str, how: str, event_id: str | None = None
    ) -> bool:
        return await self._follow(channel_id, EventKind.KEY_MARKED, ts, actor, how, event_id)

    async def record(self, incident_id: str, event: TimelineEvent) -> None:
        await self.store.append_event(incident_id, event)

    async def page(
        self, incident_id: str, *, everything: bool, page: int = 1
    ) -> tuple[list[TimelineEntry], int]:
        """One page of the timeline (key events unless `everything`) and the page count."""
        entries = await self.store.timeline(incident_id)
        if not everything:
            entries = [e for e in entries if e.is_key]
        pages = max(1, -(-len(entries) // PAGE_SIZE))
        if page < 1 or page > pages:
            raise UsageError(f"There is no page {page}; the timeline has {pages}.")
        start = (page - 1) * PAGE_SIZE
        return entries[start : start + PAGE_SIZE], pages
