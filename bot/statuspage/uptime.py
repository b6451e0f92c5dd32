"""Uptime, the way Statuspage counts it: a component is down while a published incident
holds it in `major_outage` (every minute counts) or `partial_outage` (a minute counts as
0.3 of one); degraded performance and maintenance are not downtime. Overlapping incidents
count once, at the worst status. Each of the last 90 days (UTC) gets a bar whose level
grows with its downtime, and the percentage is over the whole 90 days.

An incident's impact window runs from its impact start (else when it was first
published) until it was resolved (or now), status by status as its updates set them."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from bot.statuspage.models import ComponentStatus, PublicIncident

DAYS = 90
WEIGHT = {ComponentStatus.MAJOR: 1.0, ComponentStatus.PARTIAL: 0.3}
# a day's bar by its weighted minutes of downtime: up to 15, up to 120, more (0: operational)
LEVELS = ((15.0, "minor"), (120.0, "major"), (1440.0, "critical"))


@dataclass(frozen=True)
class Segment:
    start: datetime
    end: datetime
    status: ComponentStatus


@dataclass
class DayBar:
    day: date
    down_minutes: float
    level: str  # operational | minor | major | critical
    incidents: list[str] = field(default_factory=list)  # public incident names that day

    @property
    def label(self) -> str:
        if not self.down_minutes:
            note = f"; {len(self.incidents)} incident(s) without downtime" if self.incidents \
                else ""
            return f"{self.day.isoformat()}: no downtime{note}"
        return f"{self.day.isoformat()}: {format_minutes(self.down_minutes)} of downtime"


@dataclass
class Uptime:
    component: str
    days: list[DayBar]
    percent: float

    @property
    def percent_text(self) -> str:
        return format_percent(self.percent)


def format_percent(value: float) -> str:
    """Two decimals, never rounding a bad day up to 100.00 %."""
    floored = int(value * 100) / 100
    return f"{floored:.2f}%"


def format_minutes(minutes: float) -> str:
    whole = round(minutes)
    hours, mins = divmod(whole, 60)
    return f"{hours}h {mins}m" if hours else f"{mins}m"


def segments(incident: PublicIncident, component: str, now: datetime) -> list[Segment]:
    """The stretches of time the incident held `component` at each status."""
    key = component.lower()
    out: list[Segment] = []
    current: tuple[datetime, ComponentStatus] | None = None
    end_of_incident = incident.resolved_at or now
    for i, update in enumerate(sorted(incident.updates, key=lambda u: u.at)):
        status = next((s for n, s in update.components.items() if n.lower() == key), None)
        if status is None:
            continue
        start = incident.started_at if current is None and i == 0 else update.at
        if current is not None:
            out.append(Segment(current[0], update.at, current[1]))
        current = (min(start, update.at), status)
    if current is not None and current[0] < end_of_incident:
        out.append(Segment(current[0], end_of_incident, current[1]))
    return [s for s in out if s.end > s.start]


def _weighted(segs: Iterable[Segment], start: datetime, end: datetime) -> float:
    """Weighted minutes of downtime inside [start, end), overlaps counted once (worst)."""
    cuts = {start, end}
    clipped = [
        Segment(max(s.start, start), min(s.end, end), s.status)
        for s in segs
        if s.status in WEIGHT and s.end > start and s.start < end
    ]
    for s in clipped:
        cuts.update((s.start, s.end))
    points = sorted(cuts)
    total = 0.0
    for a, b in itertools.pairwise(points):
        weight = max((WEIGHT[s.status] for s in clipped if s.start <= a and s.end >= b),
                     default=0.0)
        total += weight * (b - a).total_seconds() / 60
    return total


def _level(minutes: float) -> str:
    if minutes <= 0:
        return "operational"
    return next(name for ceiling, name in LEVELS if minutes <= ceiling)


def component_uptime(
    component: str, incidents: list[PublicIncident], now: datetime, days: int = DAYS
) -> Uptime:
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    window_start = datetime.combine(first, time(0), UTC)
    window_end = datetime.combine(today + timedelta(days=1), time(0), UTC)
    segs_by_incident = {inc.id: segments(inc, component, now) for inc in incidents}
    touching = [(inc.name, segs_by_incident[inc.id]) for inc in incidents
                if segs_by_incident[inc.id]]
    segs = [s for group in segs_by_incident.values() for s in group]
    bars: list[DayBar] = []
    for n in range(days):
        day = first + timedelta(days=n)
        start = datetime.combine(day, time(0), UTC)
        end = start + timedelta(days=1)
        down = _weighted(segs, start, end)
        names = [name for name, group in touching
                 if any(s.start < end and s.end > start for s in group)]
        bars.append(DayBar(day, down, _level(down), names))
    total = (window_end - window_start).total_seconds() / 60
    down_total = _weighted(segs, window_start, window_end)
    return Uptime(component, bars, max(0.0, 100.0 * (total - down_total) / total))
