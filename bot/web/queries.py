"""The incident list's filters, read from the URL (so a filtered list is a link), checked,
and run against the search index (bot/store/search_index.py) for one reader."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from multidict import MultiMapping

from bot.incidents.access import IncidentAccess
from bot.incidents.models import Incident
from bot.store.redis_store import RedisStore
from bot.store.search_index import OPEN

STATUSES = (OPEN, "investigating", "identified", "monitoring", "resolved", "closed")
PAGE_SIZE = 25
CSV_LIMIT = 5000


@dataclass
class ListQuery:
    status: str = ""
    severity: int | None = None
    service: str = ""
    since: date | None = None
    until: date | None = None
    text: str = ""
    page: int = 1
    problems: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, query: MultiMapping[str]) -> ListQuery:
        q = cls(text=query.get("q", "").strip()[:200], service=query.get("service", "").strip())
        status = query.get("status", "").strip().lower()
        if status in STATUSES:
            q.status = status
        elif status:
            q.problems.append(f"unknown status {status!r}: one of {', '.join(STATUSES)}")
        sev = query.get("severity", "").strip().lower().removeprefix("sev")
        if sev in ("1", "2", "3", "4"):
            q.severity = int(sev)
        elif sev:
            q.problems.append(f"unknown severity {sev!r}: 1 to 4")
        for name in ("from", "to"):
            raw = query.get(name, "").strip()
            if not raw:
                continue
            try:
                value = date.fromisoformat(raw)
            except ValueError:
                q.problems.append(f"{name} {raw!r} is not a date (YYYY-MM-DD)")
                continue
            if name == "from":
                q.since = value
            else:
                q.until = value
        try:
            q.page = max(1, min(int(query.get("page", "1") or "1"), 10_000))
        except ValueError:
            q.problems.append("page must be a number")
        return q

    def params(self, **changes: object) -> str:
        """This query as URL parameters (with `changes`), for links and the CSV export."""
        values: dict[str, object] = {
            "status": self.status, "severity": self.severity or "", "service": self.service,
            "from": self.since.isoformat() if self.since else "",
            "to": self.until.isoformat() if self.until else "", "q": self.text,
            "page": self.page if self.page > 1 else "",
        }
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})

    def bounds(self, tz: str) -> tuple[float | None, float | None]:
        """`from` and `to` as whole days in the reader's time zone, in epoch seconds."""
        try:
            zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        start = datetime.combine(self.since, time(), zone).timestamp() if self.since else None
        end = (datetime.combine(self.until + timedelta(days=1), time(), zone).timestamp()
               - 0.001) if self.until else None
        return start, end


@dataclass
class ListResult:
    incidents: list[Incident]
    total: int
    page: int
    pages: int


async def visible_private(store: RedisStore, access: IncidentAccess, user_id: str | None
                          ) -> tuple[bool, dict[str, float]]:
    """(everything, extra): an admin sees every incident; anyone else the public ones plus
    the private ones whose channel they are in (the read rule, asked per private incident)."""
    if user_id is None:
        return False, {}
    if await access.is_admin(user_id):
        return True, {}
    private = await store.incidents(await store.private_incident_ids())
    readable = await access.readable_private(private, user_id)
    return False, {i.id: i.declared_at.timestamp() for i in private if i.id in readable}


async def run(store: RedisStore, access: IncidentAccess, query: ListQuery,
              user_id: str | None, tz: str, *, limit: int = PAGE_SIZE) -> ListResult:
    await store.ensure_current()
    everything, extra = await visible_private(store, access, user_id)
    start, end = query.bounds(tz)
    offset = (query.page - 1) * limit
    ids, total = await store.search_ids(
        severity=query.severity, status=query.status or None, service=query.service or None,
        text=query.text, start=start, end=end, extra=extra, everything=everything,
        offset=offset, limit=limit,
    )
    by_id = {i.id: i for i in await store.incidents(ids)}
    shown = [by_id[i] for i in ids if i in by_id]
    # the index may say too much (a crash between index and record): the record decides
    private_ok = await access.readable_private(shown, user_id)
    return ListResult([i for i in shown if not i.private or i.id in private_ok], total,
                      query.page, max(1, -(-total // limit)))
