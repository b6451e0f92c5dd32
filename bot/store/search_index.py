"""The incident search index the web app reads: sorted sets by declared time for each
severity, status, service and word (titles, summaries, timeline text), so a filtered,
paginated list is one script over a few sets — never a SCAN.

Every key sits in one hash slot (`ib:{ix1}:…`) so a query can intersect them on a Redis
Cluster. Like the other cross-incident indexes, entries are added before the record is
written (a crash leaves an entry the reader skips, never a record no index finds). The
index carries its version (`ib:{ix1}:version`): a bot that finds none, or an older one,
rebuilds it from the records in batches (`ensure_current`); bumping INDEX_VERSION changes
the tag, so an old layout is never read.

Words: lower-cased letters and digits, two or more characters, common English words left
out; a search matches incidents that have every word (an edited title's old words stay
findable: the timeline keeps them too).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Iterable
from typing import TYPE_CHECKING, Any, cast

from bot.incidents.models import ACTIVE_STATUSES, Incident
from bot.store.atomic import slot_check
from bot.store.base import StoreBase
from bot.store.connection import guarded
from bot.timeline.models import TimelineEvent

if TYPE_CHECKING:
    from bot.store.connection import Client

INDEX_VERSION = 1
TAG = f"ib:{{ix{INDEX_VERSION}}}"
MAX_WORDS_PER_TEXT = 200
STOP_WORDS = frozenset({
    "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has", "have", "in",
    "is", "it", "its", "of", "on", "or", "that", "the", "this", "to", "was", "were", "will",
    "with", "we", "our", "you",
})
WORD = re.compile(r"[^\W_]{2,}")
OPEN = "open"  # the status filter for investigating, identified and monitoring together

# KEYS[1] scratch, KEYS[2] the visible base set, KEYS[3..] filters (intersected)
# ARGV start, end (epoch seconds), offset, limit, n extra ids, then score/id pairs
QUERY_LUA = """
local tmp = KEYS[1]
redis.call('ZUNIONSTORE', tmp, 1, KEYS[2])
local n = tonumber(ARGV[5])
for i = 1, n do redis.call('ZADD', tmp, ARGV[4 + 2 * i], ARGV[5 + 2 * i]) end
if #KEYS > 2 then
  local args = {tmp, #KEYS - 1, tmp}
  for i = 3, #KEYS do args[#args + 1] = KEYS[i] end
  args[#args + 1] = 'WEIGHTS'
  args[#args + 1] = 1
  for i = 3, #KEYS do args[#args + 1] = 0 end
  redis.call('ZINTERSTORE', unpack(args))
end
local total = redis.call('ZCOUNT', tmp, ARGV[1], ARGV[2])
local ids = redis.call('ZREVRANGEBYSCORE', tmp, ARGV[2], ARGV[1], 'LIMIT', ARGV[3], ARGV[4])
redis.call('DEL', tmp)
return {total, ids}
"""


def words(text: str) -> set[str]:
    found = {w.lower() for w in WORD.findall(text or "")}
    return {w for w in found if w not in STOP_WORDS and len(w) <= 40}


def key(kind: str, value: str = "") -> str:
    return f"{TAG}:{kind}:{value}" if value else f"{TAG}:{kind}"


def record_words(incident: Incident) -> set[str]:
    texts = [incident.id, incident.title, incident.description,
             incident.resolution_summary or "", " ".join(incident.services),
             " ".join(incident.tags), incident.root_cause_category or ""]
    return set().union(*(words(t) for t in texts))


# KEYS the word sets (one slot); ARGV[1] the incident id
INDEX_WORDS_LUA = """
for _, k in ipairs(KEYS) do redis.call('ZADD', k, 0, ARGV[1]) end
return #KEYS
"""


def event_index_commands(incident_id: str, events: Iterable[TimelineEvent]
                         ) -> list[tuple[str | int, ...]]:
    """The index entries of timeline events (their words) as one command (a script over
    the word sets, all in the index's slot): the timeline store sends it in the same
    pipeline as the append it precedes, so a message is one round trip and one command
    more, whatever its number of words."""
    found: set[str] = set()
    for event in events:
        found |= set(list(words(event.text))[:MAX_WORDS_PER_TEXT])
    if not found:
        return []
    # one slot by construction: every key starts with TAG, whose hash tag comes first
    word_keys = [key("word", word) for word in sorted(found)]
    return [("EVAL", INDEX_WORDS_LUA, len(word_keys), *word_keys, incident_id)]


class SearchIndex(StoreBase):
    """Writes (called by the incident and timeline stores) and the one query."""

    def _facets(self, pipe: Any, incident: Incident, previous: Incident | None,
                phase: str) -> None:
        """`add` the incident's entries, or `remove` those it no longer has."""
        score = incident.declared_at.timestamp()
        member = {incident.id: score}
        statuses = {incident.status.value} | ({OPEN} if incident.is_active else set())
        if phase == "remove":
            pipe.zrem(key("public" if incident.private else "private"), incident.id)
            for sev in range(1, 5):
                if sev != incident.severity.value:
                    pipe.zrem(key("sev", str(sev)), incident.id)
            for status in (*(s.value for s in ACTIVE_STATUSES), "resolved", "closed", OPEN):
                if status not in statuses:
                    pipe.zrem(key("status", status), incident.id)
            for gone in set(previous.services if previous else ()) - set(incident.services):
                pipe.zrem(key("svc", gone), incident.id)
            return
        pipe.zadd(key("all"), member)
        pipe.zadd(key("private" if incident.private else "public"), member)
        pipe.zadd(key("sev", str(incident.severity.value)), member)
        for status in statuses:
            pipe.zadd(key("status", status), member)
        for service in incident.services:
            pipe.zadd(key("svc", service), member)
            pipe.sadd(key("services"), service)
        for word in record_words(incident):
            pipe.zadd(key("word", word), {incident.id: 0})

    @guarded
    async def index_incident(self, incident: Incident, previous: Incident | None = None,
                             *, phase: str = "both") -> None:
        """Additions go before the record is written (`add`), removals after (`remove`)."""
        async with self.db.client.pipeline(transaction=False) as pipe:
            for part in (("add", "remove") if phase == "both" else (phase,)):
                self._facets(pipe, incident, previous, part)
            await pipe.execute()

    @guarded
    async def index_events(self, incident_id: str, events: Iterable[TimelineEvent]) -> None:
        commands = event_index_commands(incident_id, events)
        if not commands:
            return
        async with self.db.client.pipeline(transaction=False) as pipe:
            for command in commands:
                pipe.execute_command(*command)
            await pipe.execute()

    @guarded
    async def known_services(self) -> list[str]:
        members = await cast(Awaitable[set[Any]], self.db.client.smembers(key("services")))
        return sorted(str(s) for s in members)

    @guarded
    async def private_incident_ids(self) -> list[str]:
        return [str(i) for i in await self.db.client.zrange(key("private"), 0, -1)]

    @guarded
    async def search_ids(
        self, *, severity: int | None = None, status: str | None = None,
        service: str | None = None, text: str = "", start: float | None = None,
        end: float | None = None, extra: dict[str, float] | None = None,
        everything: bool = False, offset: int = 0, limit: int = 50,
    ) -> tuple[list[str], int]:
        """One page of ids, newest first, and how many match. Only public incidents are
        candidates, plus `extra` (private ids the reader may see, with their declared time),
        or every incident when `everything` (an admin)."""
        filters: list[str] = []
        if severity is not None:
            filters.append(key("sev", str(severity)))
        if status:
            filters.append(key("status", status))
        if service:
            filters.append(key("svc", service))
        filters += [key("word", w) for w in sorted(words(text))]
        scratch = key("scratch", uuid.uuid4().hex)
        keys = [scratch, key("all" if everything else "public"), *filters]
        slot_check(keys)
        pairs = [] if everything else [v for i, s in (extra or {}).items() for v in (s, i)]
        args = ["-inf" if start is None else repr(start), "+inf" if end is None else repr(end),
                offset, limit, len(pairs) // 2, *pairs]
        client: Client = self.db.client
        script = client.register_script(QUERY_LUA)  # type: ignore[misc]
        total, ids = await script(keys=keys, args=args)
        return [str(i) for i in ids], int(total)

    @guarded
    async def index_version(self) -> int:
        raw = await self.db.client.get(key("version"))
        return int(raw) if raw else 0
