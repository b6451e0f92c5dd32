"""What insights read, in one script per thousand incidents:

* each record's facts (`ib:{INC-…}:facts`, JSON written with the record by the incident
  store: `record_facts`); a record from before they were kept is read whole, and its facts
  written then (if the record has not changed meanwhile);
* each incident's first times (`ib:{INC-…}:firsts`, kept on write with ZADD LT by the
  timeline and postmortem stores): a person's first acknowledging event, the first
  postmortem draft. An incident recorded before the set was kept has no `v1` marker; its
  set is rebuilt once from its timeline and postmortem versions, then kept on write;
* the action items of a list of incidents (their per-incident sets, then the records);
* people's Slack time zones and names, cached for a day (`ib:user:<id>:tz`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, cast

from bot.actions.models import ACTION_ITEM_SCHEMA_VERSION, ActionItem
from bot.incidents.models import INCIDENT_SCHEMA_VERSION, Incident, Role
from bot.postmortem.models import Postmortem
from bot.store import atomic, codec, keys
from bot.store.atomic import Write
from bot.store.base import StoreBase
from bot.store.connection import guarded
from bot.store.timeline import TimelineStore, first_act

# KEYS: per incident its record's facts, its first times and its action-item set. Returns,
# per incident, the facts ('' when not written yet), the first times (member, score, …) and
# its item ids when it has items.
READ_LUA = """
local out = {}
for i = 1, #KEYS, 3 do
  out[#out + 1] = redis.call('GET', KEYS[i]) or ''
  out[#out + 1] = redis.call('ZRANGE', KEYS[i + 1], 0, -1, 'WITHSCORES')
  if redis.call('ZSCORE', KEYS[i + 1], 'items') then
    out[#out + 1] = redis.call('SMEMBERS', KEYS[i + 2])
  else
    out[#out + 1] = {}
  end
end
return out
"""
BATCH = 1000  # incidents per script: each runs in a few milliseconds
FACTS_VERSION = 1


def record_facts(incident: Incident) -> str:
    """The facts of the record that insights read (bot/insights/facts.py), as JSON: written
    with the record itself, so reading them is one small GET instead of the whole record."""
    holders = list(dict.fromkeys([incident.declared_by, *incident.roles.values()]))
    ttr = incident.time_to_resolve
    return json.dumps({
        "v": FACTS_VERSION,
        "severity": int(incident.severity),
        "declared": incident.declared_at.timestamp(),
        "private": incident.private,
        "services": incident.services,
        "impact": incident.impact_started_at.timestamp() if incident.impact_started_at else None,
        "resolved": incident.resolved_at.timestamp() if incident.resolved_at else None,
        "ttr": None if ttr is None else ttr.total_seconds(),
        "holders": holders,
        "ic": incident.roles.get(Role.IC),
        "cause": incident.root_cause_category,
        "counted": incident.counts_in_stats,
    })  # fmt: skip


@dataclass
class Read:
    facts: list[dict[str, Any] | None]  # per incident: its record's facts (None: no record)
    firsts: list[dict[str, float]]  # per incident: member -> epoch seconds
    item_ids: list[str]  # the action items of them all
KEPT_MARKER = "v1"
HAS_ITEMS = "items"
TZ_TTL_SECONDS = 24 * 3600


class InsightsStore(StoreBase):
    @guarded
    async def firsts(self, incident_ids: list[str]) -> list[dict[str, float]]:
        """Each incident's first times (member -> epoch seconds), in the order asked."""
        return (await self.read(incident_ids)).firsts

    @guarded
    async def read(self, incident_ids: list[str]) -> Read:
        """For each incident, in the order asked: its record's facts (None when it has no
        record), its first times, and the ids of its action items. One script
        per batch on one server (every key declared); a pipeline on a cluster, where a
        script's keys must share a slot."""
        rows: list[Any] = []
        for start in range(0, len(incident_ids), BATCH):
            triples = [
                k for i in incident_ids[start : start + BATCH]
                for k in (
                    keys.incident_facts(i), keys.incident_firsts(i),
                    keys.action_items_of_incident(i),
                )
            ]  # fmt: skip
            if self.db.is_cluster:
                rows.extend(await self._pipelined(triples))
            else:
                reply = await self.db.client.eval(READ_LUA, len(triples), *triples)  # type: ignore[misc]
                rows.extend(cast(list[Any], reply))
        out = Read([], [], [])
        for n, incident_id in enumerate(incident_ids):
            raw, flat, members = rows[3 * n], rows[3 * n + 1], rows[3 * n + 2]
            found = {str(flat[k]): float(flat[k + 1]) for k in range(0, len(flat), 2)}
            if KEPT_MARKER not in found:
                found = await self.rebuild_firsts(incident_id)
                if HAS_ITEMS in found:
                    of_incident = keys.action_items_of_incident(incident_id)
                    found_items = self.db.client.smembers(of_incident)
                    members = sorted(await cast(Awaitable[set[Any]], found_items))
            out.facts.append(json.loads(raw) if raw else None)
            out.firsts.append(found)
            out.item_ids.extend(str(m) for m in members)
        missing = [n for n, facts in enumerate(out.facts) if facts is None]
        if missing:
            raws = await self.get_many([keys.incident(incident_ids[n]) for n in missing])
            for n, raw_record in zip(missing, raws, strict=True):
                if raw_record is not None:
                    out.facts[n] = json.loads(await self._keep_facts(str(raw_record)))
        return out

    async def _pipelined(self, triples: list[str]) -> list[Any]:
        async with self.db.client.pipeline(transaction=False) as pipe:
            for n in range(0, len(triples), 3):
                pipe.get(triples[n])
                pipe.zrange(triples[n + 1], 0, -1, withscores=True)
                pipe.smembers(triples[n + 2])
            replies = await pipe.execute()
        out: list[Any] = []
        for n in range(0, len(replies), 3):
            flat = [x for pair in replies[n + 1] for x in pair]
            has_items = HAS_ITEMS in {str(m) for m in flat[::2]}
            out += [replies[n] or "", flat, sorted(replies[n + 2]) if has_items else []]
        return out

    async def _keep_facts(self, raw: str) -> str:
        """The facts of a record from before they were kept, written unless the record
        changed meanwhile (then its own write wrote them)."""
        incident = codec.loads(Incident, raw, current=INCIDENT_SCHEMA_VERSION)
        facts = record_facts(incident)
        write = Write("SET", keys.incident_facts(incident.id), (facts,))
        await atomic.apply(self.db, [write], guard=keys.incident(incident.id), expect=raw)
        return facts

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
