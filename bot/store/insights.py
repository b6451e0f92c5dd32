"""What insights read besides the incident records, in a few pipelined round trips:

* each incident's first times (`ib:{INC-…}:firsts`, kept on write with ZADD LT by the
  timeline and postmortem stores): a person's first acknowledging event, the first
  postmortem draft. An incident recorded before the set was kept has no `v1` marker; its
  set is rebuilt once from its timeline and postmortem versions, then kept on write;
* the action items of a list of incidents (their per-incident sets, then the records);
* people's Slack time zones and names, cached for a day (`ib:user:<id>:tz`).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, cast

from bot.actions.models import ACTION_ITEM_SCHEMA_VERSION, ActionItem
from bot.postmortem.models import Postmortem
from bot.store import atomic, codec, keys
from bot.store.atomic import Write
from bot.store.base import StoreBase
from bot.store.connection import guarded
from bot.store.timeline import TimelineStore, first_act

KEPT_MARKER = "v1"
HAS_ITEMS = "items"
TZ_TTL_SECONDS = 24 * 3600


class InsightsStore(StoreBase):
    @guarded
    async def firsts(self, incident_ids: list[str]) -> list[dict[str, float]]:
        """Each incident's first times (member -> epoch seconds), in the order asked."""
        if not incident_ids:
            return []
        async with self.db.client.pipeline(transaction=False) as pipe:
            for incident_id in incident_ids:
                pipe.zrange(keys.incident_firsts(incident_id), 0, -1, withscores=True)
            rows = cast(list[list[tuple[Any, float]]], await pipe.execute())
        out = [{str(m): float(s) for m, s in row} for row in rows]
        for n, incident_id in enumerate(incident_ids):
            if KEPT_MARKER not in out[n]:
                out[n] = await self.rebuild_firsts(incident_id)
        return out

    async def rebuild_firsts(self, incident_id: str) -> dict[str, float]:
        """The first times of an incident recorded before they were kept on write."""
        found: dict[str, float] = {KEPT_MARKER: 0.0}
        for _, event in await TimelineStore(self.db).events(incident_id):
            act = first_act(event)
            if act is not None and act[1] < found.get(act[0], float("inf")):
                found[act[0]] = act[1]
        versions = keys.postmortem_versions(incident_id)
        first_draft = await cast(Awaitable[str | None], self.db.client.lindex(versions, 0))
        if first_draft is not None:
            found["postmortem"] = codec.loads(Postmortem, first_draft).generated_at.timestamp()
        items = keys.action_items_of_incident(incident_id)
        if await cast(Awaitable[int], self.db.client.scard(items)):
            found[HAS_ITEMS] = 0.0
        key = keys.incident_firsts(incident_id)
        await atomic.apply(
            self.db, [Write("ZADD", key, ("LT", score, member)) for member, score in found.items()]
        )
        return found

    @guarded
    async def action_items(self, incident_ids: list[str]) -> list[ActionItem]:
        """Every action item of these incidents (two round trips): pass those whose first
        times have `items` (the action-item store adds it before an item is recorded)."""
        if not incident_ids:
            return []
        async with self.db.client.pipeline(transaction=False) as pipe:
            for incident_id in incident_ids:
                pipe.smembers(keys.action_items_of_incident(incident_id))
            sets = cast(list[set[Any]], await pipe.execute())
        ids = sorted({str(i) for members in sets for i in members})
        raws = await self.get_many([keys.action_item(i) for i in ids])
        return [
            codec.loads(ActionItem, raw, current=ACTION_ITEM_SCHEMA_VERSION)
            for raw in raws
            if raw is not None
        ]

    @guarded
    async def cached_people(self, user_ids: list[str]) -> dict[str, tuple[str, str]]:
        """(time zone, name) of those users who have them cached."""
        raws = await self.get_many([keys.user_tz(u) for u in user_ids])
        found = {}
        for user_id, raw in zip(user_ids, raws, strict=True):
            if raw is not None:
                tz, _, name = str(raw).partition("\t")
                found[user_id] = (tz, name)
        return found

    @guarded
    async def cache_person(self, user_id: str, tz: str, name: str) -> None:
        value = f"{tz}\t{name}"
        await self.db.client.set(keys.user_tz(user_id), value, ex=TZ_TTL_SECONDS)
