"""Insights from incident facts: pure, so the tests give a hand-made history and a clock.

The read rule: an incident the reader may not read (a private one outside its channel)
counts as its label does: its severity and its times, in the counts per week, the
durations overall and by severity, the action-item and postmortem tallies. Its services,
people and root cause are left out (no service row, responder or cause names it)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.actions.models import ActionItem
from bot.incidents.models import Severity
from bot.insights.facts import IncidentFacts
from bot.insights.models import (
    ActionItemTally,
    CauseCount,
    DurationMetric,
    DurationRow,
    Insights,
    PostmortemTally,
    ResponderLoad,
    SeverityWeeks,
    Week,
)
from bot.insights.stats import midnight, summarize, week_start
from bot.workweek import WorkingHours, add_business_days

WeekOf = Callable[[IncidentFacts], int]
NOT_A_PERSON = "-"  # the time zone cached for a bot user: not counted as a responder

METRICS = (
    ("detect", "Time to detect", "from the impact start to the declaration (when known)"),
    ("acknowledge", "Time to acknowledge", "from the declaration to a role holder's first action"),
    ("resolve", "Time to resolve", "from the impact start (or declaration) to the resolution"),
)
MAX_CAUSES = 10


@dataclass(frozen=True)
class Rules:
    hours: WorkingHours
    postmortem_due_days: int
    cause_label: dict[str, str]  # category -> its words (bot/patterns/taxonomy.py)


def build(
    facts: Sequence[IncidentFacts],
    items: Iterable[ActionItem],
    tzs: dict[str, str],
    *,
    now: datetime,
    mondays: list[date],
    rules: Rules,
    names: dict[str, str] | None = None,
) -> Insights:
    weeks_of = {f.id: (week_start(f.declared_at) - mondays[0]).days // 7 for f in facts}

    def week_of(f: IncidentFacts) -> int:
        return weeks_of[f.id]

    in_window = [f for f in facts if 0 <= week_of(f) < len(mondays)]
    weeks = [Week(start=m, label=m.strftime("%b %d")) for m in mondays]
    return Insights(
        generated_at=now,
        window_start=midnight(mondays[0]),
        weeks=weeks,
        incidents=len(in_window),
        private_aggregated=sum(1 for f in in_window if not f.readable),
        per_week=_per_week(in_window, week_of, len(mondays)),
        durations=[
            _metric(name, label, measured, in_window, week_of, len(mondays))
            for name, label, measured in METRICS
        ],
        working_hours=_describe(rules.hours),
        responders=_responders(in_window, tzs, names or {}, rules.hours),
        action_items=_action_items(items, {f.id for f in in_window}, now),
        postmortems=_postmortems(in_window, tzs, now, rules),
        causes=_causes(in_window, rules.cause_label),
    )


def _per_week(facts: list[IncidentFacts], week_of: WeekOf, n: int) -> list[SeverityWeeks]:
    rows = []
    for sev in Severity:
        counts = [0] * n
        for f in facts:
            if f.severity is sev:
                counts[week_of(f)] += 1
        rows.append(SeverityWeeks(severity=sev.label, weeks=counts, total=sum(counts)))
    return rows


def _row(group: str, name: str, facts: list[IncidentFacts], week_of: WeekOf, n: int) -> DurationRow:
    weekly: list[list[float]] = [[] for _ in range(n)]
    for f in facts:
        value = f.duration(name)
        if value is not None:
            weekly[week_of(f)].append(value)
    return DurationRow(
        group=group,
        total=summarize([v for week in weekly for v in week]),
        weeks=[summarize(week) for week in weekly],
    )


def _metric(
    name: str, label: str, measured: str, facts: list[IncidentFacts], week_of: WeekOf, n: int
) -> DurationMetric:
    by_service: dict[str, list[IncidentFacts]] = defaultdict(list)
    for f in facts:
        if f.readable:
            for service in f.services:
                by_service[service].append(f)
    return DurationMetric(
        name=name,
        label=label,
        measured=measured,
        overall=_row("all", name, facts, week_of, n),
        by_severity=[
            _row(sev.label, name, [f for f in facts if f.severity is sev], week_of, n)
            for sev in Severity
            if any(f.severity is sev for f in facts)
        ],
        by_service=[
            _row(service, name, by_service[service], week_of, n) for service in sorted(by_service)
        ],
    )


def _describe(hours: WorkingHours) -> str:
    days = ",".join(
        ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[d] for d in sorted(hours.days)
    )
    return f"{days} {hours.start:%H:%M}–{hours.end:%H:%M}, in each person's own Slack time zone"


def _responders(
    facts: list[IncidentFacts], tzs: dict[str, str], names: dict[str, str], hours: WorkingHours
) -> list[ResponderLoad]:
    load: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for f in facts:
        if not f.readable:
            continue
        for user, acted in f.responders.items():
            tz = tzs.get(user, "UTC")
            if tz == NOT_A_PERSON:
                continue
            engaged = acted or f.declared_at
            load[user][0] += 1
            if not hours.contains(engaged, tz):
                load[user][1] += 1
    rows = [
        ResponderLoad(
            user=u, name=names.get(u, u), tz=tzs.get(u, "UTC"), incidents=n, after_hours=off
        )
        for u, (n, off) in load.items()
    ]
    return sorted(rows, key=lambda r: (-r.after_hours, -r.incidents, r.user))


def _action_items(
    items: Iterable[ActionItem], incident_ids: set[str], now: datetime
) -> ActionItemTally:
    tally = ActionItemTally()
    for item in items:
        if item.incident_id not in incident_ids:
            continue
        tally.total += 1
        if item.is_open:
            tally.open += 1
            if item.due is not None and item.due < now:
                tally.overdue += 1
            continue
        tally.done += 1
        if item.due is None or item.done_at is None:
            tally.done_undated += 1
        elif item.done_at <= item.due:
            tally.done_on_time += 1
        else:
            tally.done_late += 1
    return tally


def _postmortems(
    facts: list[IncidentFacts], tzs: dict[str, str], now: datetime, rules: Rules
) -> PostmortemTally:
    tally = PostmortemTally(due_business_days=rules.postmortem_due_days)
    for f in facts:
        if f.severity > Severity.SEV2 or f.resolved_at is None:
            continue
        tally.expected += 1
        tz = tzs.get(f.ic or "", "UTC")
        tz = "UTC" if tz == NOT_A_PERSON else tz
        due = add_business_days(f.resolved_at, rules.postmortem_due_days, tz, rules.hours.days)
        if f.postmortem_at is not None:
            if f.postmortem_at <= due:
                tally.on_time += 1
            else:
                tally.late += 1
        elif now >= due:
            tally.missing += 1
        else:
            tally.not_yet_due += 1
    return tally


def _causes(facts: list[IncidentFacts], labels: dict[str, str]) -> list[CauseCount]:
    """Root-cause categories that came back (two incidents or more), most frequent first."""
    seen: dict[str, list[IncidentFacts]] = defaultdict(list)
    for f in facts:
        if f.readable and f.root_cause and f.root_cause != "other":
            seen[f.root_cause].append(f)
    counts = Counter({c: len(fs) for c, fs in seen.items()})
    return [
        CauseCount(
            category=c,
            label=labels.get(c, c.replace("_", " ")),
            count=n,
            incidents=[f.id for f in sorted(seen[c], key=lambda f: f.declared_at, reverse=True)],
        )
        for c, n in sorted(counts.items(), key=lambda cn: (-cn[1], cn[0]))
        if n >= 2
    ][:MAX_CAUSES]


def window_bounds(mondays: list[date], now: datetime) -> tuple[datetime, datetime]:
    return midnight(mondays[0]), max(now, midnight(mondays[-1]) + timedelta(weeks=1))
