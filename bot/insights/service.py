"""Insights over the last N weeks, read from the indexes in a few round trips:

1. the ids declared in the window (`incidents:all`, a sorted set by declared time);
2. each record's facts (`ib:{INC-…}:facts`), its first times (`ib:{INC-…}:firsts`) and
   the ids of its action items: one script per thousand (bot/store/insights.py); the whole
   records of the private ones only (the read rule needs them);
3. those action items (one MGET);
4. the responders' time zones (cached in Redis; Slack's users.info for the missing ones).

No timeline is read (the first times are kept on write), and no key is scanned.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from bot.actions.models import ActionSettings
from bot.clock import Clock
from bot.errors import ChatError, NotFound, UsageError
from bot.incidents.access import IncidentAccess
from bot.insights.compute import NOT_A_PERSON, Rules, build
from bot.insights.facts import incident_facts
from bot.insights.models import Insights
from bot.insights.stats import midnight, window
from bot.patterns.taxonomy import Category
from bot.ports import ChatUser
from bot.store.redis_store import RedisStore

DEFAULT_WEEKS = 12
MAX_WEEKS = 104
LOOKUPS_AT_ONCE = 8


class UserDirectory(Protocol):
    async def user(self, user_id: str) -> ChatUser: ...


def weeks_asked(text: str | None) -> int:
    """`?weeks=` as given: a whole number of weeks, 1 to MAX_WEEKS (default 12)."""
    if text is None or text == "":
        return DEFAULT_WEEKS
    if not text.isdigit() or not 1 <= int(text) <= MAX_WEEKS:
        raise UsageError(f"weeks must be a whole number from 1 to {MAX_WEEKS}, not {text!r}")
    return int(text)


def rules_from(settings: object) -> Rules:
    """Working hours (REMINDER_WORK_DAYS, REMINDER_WORK_START/END) and POSTMORTEM_DUE."""
    return Rules(
        hours=ActionSettings.from_settings(settings).working_hours,
        postmortem_due_days=int(getattr(settings, "postmortem_due", 2)),
        cause_label={c.value: c.label for c in Category},
    )


class InsightsService:
    def __init__(
        self,
        *,
        store: RedisStore,
        users: UserDirectory,
        access: IncidentAccess,
        clock: Clock,
        rules: Rules,
    ) -> None:
        self.store = store
        self.users = users
        self.access = access
        self.clock = clock
        self.rules = rules

    async def insights(self, reader: str | None, weeks: int = DEFAULT_WEEKS) -> Insights:
        """What `reader` may see (None: nobody in particular, e.g. the API token, which
        sees private incidents only as their labels do)."""
        now = self.clock()
        mondays = window(now, weeks)
        start = midnight(mondays[0]).timestamp()
        ids = await self.store.incident_ids_declared(start, now.timestamp())
        read = await self.store.insights.read(ids)
        counted = [
            (incident_id, record, firsts)
            for incident_id, record, firsts in zip(ids, read.facts, read.firsts, strict=True)
            if record is not None and record["counted"]
        ]
        private = [incident_id for incident_id, record, _ in counted if record["private"]]
        readable = await self._readable(private, reader)
        facts = [
            incident_facts(i, record, firsts, readable=readable.get(i, True))
            for i, record, firsts in counted
        ]
        people = sorted({u for f in facts for u in f.responders} | {f.ic for f in facts if f.ic})
        items, known = await asyncio.gather(
            self.store.insights.action_items(read.item_ids), self.people(people)
        )
        tzs = {u: tz for u, (tz, _) in known.items()}
        names = {u: name for u, (_, name) in known.items() if name}
        return build(facts, items, tzs, now=now, mondays=mondays, rules=self.rules, names=names)

    async def _readable(self, private: list[str], reader: str | None) -> dict[str, bool]:
        """Which private incidents `reader` may read: their whole records read, and the
        reader's channels asked of Slack once (the read rule's readable_private)."""
        records = await self.store.incidents(private) if private else []
        allowed = await self.access.readable_private(records, reader)
        return {incident_id: incident_id in allowed for incident_id in private}

    async def people(self, user_ids: list[str]) -> dict[str, tuple[str, str]]:
        """Each person's Slack time zone (a bot's: NOT_A_PERSON) and name, cached in Redis
        for a day (a deactivated person's too, as UTC); a lookup Slack did not answer counts
        as UTC and is asked again next time."""
        found = await self.store.insights.cached_people(user_ids)
        missing = [u for u in user_ids if u not in found]
        gate = asyncio.Semaphore(LOOKUPS_AT_ONCE)

        async def look_up(user_id: str) -> None:
            async with gate:
                try:
                    user = await self.users.user(user_id)
                except NotFound:  # deactivated or gone: not asked again for a day
                    found[user_id] = ("UTC", "")
                    await self.store.insights.cache_person(user_id, "UTC", "")
                    return
                except ChatError:  # Slack did not answer: asked again next time
                    found[user_id] = ("UTC", "")
                    return
            tz = NOT_A_PERSON if user.is_bot else user.tz or "UTC"
            found[user_id] = (tz, user.real_name or user.name)
            await self.store.insights.cache_person(user_id, *found[user_id])

        await asyncio.gather(*(look_up(u) for u in missing))
        return found
