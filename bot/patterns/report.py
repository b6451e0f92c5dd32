"""`/incident patterns`: counts by category and service over time, repeat offenders, mean
time to resolve per category and open action items that keep coming back. Pure functions."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from rapidfuzz import fuzz, utils

from bot.actions.models import ActionItem
from bot.errors import UsageError
from bot.incidents.models import Incident, format_duration
from bot.mrkdwn import escape, mention, when
from bot.patterns.taxonomy import Category, categorize, label

ORDINALS = [
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
]
DAYS_PER_MONTH = 30.44
SAME_ITEM_RATIO = 80.0


def ordinal(n: int) -> str:
    if 1 <= n <= len(ORDINALS):
        return ORDINALS[n - 1]
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def months(n: int) -> timedelta:
    return timedelta(days=round(n * DAYS_PER_MONTH))


def describe_window(window: timedelta) -> str:
    """183 days → "6 months", 14 days → "2 weeks", 90 days → "3 months", 10 days → "10 days"."""
    days = window.total_seconds() / 86400
    m = round(days / DAYS_PER_MONTH)
    if m >= 1 and abs(days - m * DAYS_PER_MONTH) <= 2:
        if m % 12 == 0:
            return "a year" if m == 12 else f"{m // 12} years"
        return "a month" if m == 1 else f"{m} months"
    if days >= 7 and days % 7 == 0:
        return "a week" if days == 7 else f"{int(days // 7)} weeks"
    if days >= 1:
        return "a day" if round(days) == 1 else f"{round(days)} days"
    return f"{round(days * 24)} hours"


def parse_since(value: str) -> timedelta:
    """`6m` (months), `90d`, `2w`, `1y`, `12h`."""
    match = re.fullmatch(r"(\d{1,4})\s*(h|d|w|m|mo|y)", value.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise UsageError(
            f"`{escape(value, limit=40)}` is not a period; use e.g. 6m (months), 90d, 2w or 1y."
        )
    n, unit = int(match.group(1)), match.group(2)
    if unit in ("m", "mo"):
        out = months(n)
    elif unit == "y":
        out = months(12 * n)
    else:
        out = timedelta(hours=n * {"h": 1, "d": 24, "w": 168}[unit])
    if out > timedelta(days=3660):
        raise UsageError("That period is too long; at most 10 years.")
    return out


class CategoryStat(BaseModel):
    category: str
    count: int
    resolved: int = 0
    mean_time_to_resolve: timedelta | None = None


class RepeatOffender(BaseModel):
    service: str
    category: str
    incident_ids: list[str]


class RecurringItem(BaseModel):
    text: str
    incident_ids: list[str]
    open_items: list[ActionItem]


class PatternReport(BaseModel):
    since: timedelta
    start: datetime
    service: str | None = None
    category: str | None = None
    total: int = 0
    by_category: list[CategoryStat] = Field(default_factory=list)
    by_service: list[tuple[str, int]] = Field(default_factory=list)
    by_month: list[tuple[str, dict[str, int]]] = Field(default_factory=list)
    repeat_offenders: list[RepeatOffender] = Field(default_factory=list)
    recurring_items: list[RecurringItem] = Field(default_factory=list)


def category_of(incident: Incident) -> str:
    if incident.root_cause_category:
        return incident.root_cause_category
    return categorize(incident)[0].value


def build_report(
    incidents: list[Incident],
    items: dict[str, list[ActionItem]],
    *,
    now: datetime,
    since: timedelta,
    service: str | None = None,
    category: Category | None = None,
) -> PatternReport:
    start = now - since
    svc = service.strip().lower() if service else None
    chosen = [
        i
        for i in incidents
        if start <= i.declared_at <= now
        and (svc is None or svc in {s.lower() for s in i.services})
        and (category is None or category_of(i) == category.value)
    ]
    chosen.sort(key=lambda i: i.declared_at)
    rep = PatternReport(
        since=since,
        start=start,
        service=service,
        category=category.value if category else None,
        total=len(chosen),
    )
    by_cat: dict[str, list[Incident]] = defaultdict(list)
    services: Counter[str] = Counter()
    months_: dict[str, Counter[str]] = defaultdict(Counter)
    pairs: dict[tuple[str, str], list[str]] = defaultdict(list)
    for inc in chosen:
        cat = category_of(inc)
        by_cat[cat].append(inc)
        months_[inc.declared_at.strftime("%Y-%m")][cat] += 1
        for s in {s.lower() for s in inc.services} or {"(no service)"}:
            services[s] += 1
            pairs[(s, cat)].append(inc.id)
    for cat, incs in sorted(by_cat.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        ttrs = [i.time_to_resolve for i in incs if i.time_to_resolve is not None]
        mean = sum(ttrs, timedelta()) / len(ttrs) if ttrs else None
        rep.by_category.append(
            CategoryStat(
                category=cat, count=len(incs), resolved=len(ttrs), mean_time_to_resolve=mean
            )
        )
    rep.by_service = services.most_common()
    rep.by_month = [(m, dict(c)) for m, c in sorted(months_.items())]
    rep.repeat_offenders = [
        RepeatOffender(service=s, category=c, incident_ids=ids)
        for (s, c), ids in sorted(pairs.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        if len(ids) >= 2 and c != Category.OTHER.value and s != "(no service)"
    ]
    rep.recurring_items = recurring_items([i.id for i in chosen], items)
    return rep


def recurring_items(
    incident_ids: list[str], items: dict[str, list[ActionItem]]
) -> list[RecurringItem]:
    """Action items filed again and again (similar text in two or more incidents) with at
    least one copy still open."""
    clusters: list[tuple[str, list[ActionItem]]] = []
    for iid in incident_ids:
        for item in items.get(iid, []):
            key = utils.default_process(item.text)
            for ckey, members in clusters:
                if fuzz.token_set_ratio(key, ckey) >= SAME_ITEM_RATIO:
                    members.append(item)
                    break
            else:
                clusters.append((key, [item]))
    out: list[RecurringItem] = []
    for _, members in clusters:
        incs = list(dict.fromkeys(m.incident_id for m in members))
        still_open = [m for m in members if m.is_open]
        if len(incs) >= 2 and still_open:
            out.append(
                RecurringItem(text=members[0].text, incident_ids=incs, open_items=still_open)
            )
    out.sort(key=lambda r: -len(r.incident_ids))
    return out


def render_report(rep: PatternReport, limit: int = 8) -> str:
    scope = [f"last {describe_window(rep.since)} (since {when(rep.start, fmt='{date_short}')})"]
    if rep.service:
        scope.append(f"service `{escape(rep.service, limit=60)}`")
    if rep.category:
        scope.append(f"category *{label(rep.category)}*")
    head = f":bar_chart: *Incident patterns* — {', '.join(scope)}: *{rep.total}* incident" + (
        "" if rep.total == 1 else "s"
    )
    if rep.total == 0:
        return head + ". Nothing to see."
    lines = [head, "", "*By root cause* (count · mean time to resolve)"]
    for st in rep.by_category[:limit]:
        mttr = format_duration(st.mean_time_to_resolve)
        lines.append(f"• {label(st.category)}: {st.count} · MTTR {mttr} ({st.resolved} resolved)")
    lines += ["", "*By service*"]
    lines += [f"• `{escape(s, limit=60)}`: {n}" for s, n in rep.by_service[:limit]]
    lines += ["", "*Over time*"]
    for month, counts in rep.by_month[-12:]:
        parts = ", ".join(f"{label(c)} {n}" for c, n in sorted(counts.items(), key=lambda x: -x[1]))
        lines.append(f"• {month}: {sum(counts.values())} ({parts})")
    lines += ["", "*Repeat offenders* (same service, same root cause)"]
    if rep.repeat_offenders:
        for ro in rep.repeat_offenders[:limit]:
            lines.append(
                f"• `{escape(ro.service, limit=60)}` × {label(ro.category)}: "
                f"{len(ro.incident_ids)} times ({', '.join(ro.incident_ids[-5:])})"
            )
    else:
        lines.append("• none — no service had the same root cause twice")
    lines += ["", "*Open action items that keep coming back*"]
    if rep.recurring_items:
        for ri in rep.recurring_items[:limit]:
            owners = ", ".join(f"`{i.id}` {mention(i.owner)}" for i in ri.open_items[:4])
            lines.append(
                f"• “{escape(ri.text, limit=100)}” — filed in {len(ri.incident_ids)} "
                f"incidents ({', '.join(ri.incident_ids[-5:])}); still open: {owners}"
            )
    else:
        lines.append("• none")
    return "\n".join(lines)
