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

# KEYS: per incident its first times, then its action-item set. Returns, per incident, the
# first times (member, score, member, score, …) and its item ids when it has items.
READ_LUA = """
local out = {}
for i = 1, #KEYS, 2 do
  out[#out + 1] = redis.call('ZRANGE', KEYS[i], 0, -1, 'WITHSCORES')
  if redis.call('ZSCORE', KEYS[i], 'items') then
    out[#out + 1] = redis.call('SMEMBERS', KEYS[i + 1])
  else
    out[#out + 1] = {}
  end
end
return out
"""
BATCH = 1000  # incidents per script: each runs in a few milliseconds
KEPT_MARKER = "v1"
HAS_ITEMS = "items"
TZ_TTL_SECONDS = 24 * 3600


class InsightsStore(StoreBase):
    @guarded
    async def firsts(self, incident_ids: list[str]) -> list[dict[str, float]]:
        """Each incident's first times (member -> epoch seconds), in the order asked."""
        return (await self.firsts_and_items(incident_ids))[0]

    @guarded
    async def firsts_and_items(
        self, incident_ids: list[str]
    ) -> tuple[list[dict[str, float]], list[str]]:
        """Each incident's first times, in the order asked, and the ids of the action items
        of those that have any. One script per batch on one server (every key declared);
        a pipeline on a cluster, where a script's keys must share a slot."""
        rows: list[list[Any]] = []
        for start in range(0, len(incident_ids), BATCH):
            batch = incident_ids[start : start + BATCH]
            pairs = [
                k for i in batch
                for k in (keys.incident_firsts(i), keys.action_items_of_incident(i))
            ]  # fmt: skip
            if self.db.is_cluster:
                rows.extend(await self._pipelined(pairs))
            else:
                reply = await self.db.client.eval(READ_LUA, len(pairs), *pairs)  # type: ignore[misc]
                rows.extend(cast(list[list[Any]], reply))
        firsts: list[dict[str, float]] = []
        items: list[str] = []
        for n, incident_id in enumerate(incident_ids):
            flat, members = rows[2 * n], rows[2 * n + 1]
            found = {str(flat[k]): float(flat[k + 1]) for k in range(0, len(flat), 2)}
            if KEPT_MARKER not in found:
                found = await self.rebuild_firsts(incident_id)
                if HAS_ITEMS in found:
                    of_incident = keys.action_items_of_incident(incident_id)
                    found_items = self.db.client.smembers(of_incident)
                    members = sorted(await cast(Awaitable[set[Any]], found_items))
            firsts.append(found)
            items.extend(str(m) for m in members)
        return firsts, items

    async def _pipelined(self, pairs: list[str]) -> list[list[Any]]:
        async with self.db.client.pipeline(transaction=False) as pipe:
            for n, key in enumerate(pairs):
                if n % 2 == 0:
                    pipe.zrange(key, 0, -1, withscores=True)
                else:
                    pipe.smembers(key)
            replies = await pipe.execute()
        out: list[list[Any]] = []
        for n, reply in enumerate(replies):
            if n % 2 == 0:
                out.append([x for pair in reply for x in pair])
            else:
                out.append(sorted(reply) if HAS_ITEMS in {str(m) for m in out[-1][::2]} else [])
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
    async def action_items(self, item_ids: list[str]) -> list[ActionItem]:
        """The action items by id (one MGET)."""
        raws = await self.get_many([keys.action_item(i) for i in item_ids])
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
