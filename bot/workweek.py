"""The team's working week (REMINDER_WORK_DAYS): which weekdays people work, and counting
business days in a person's own time zone. Pure functions; no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_NAMES = {
    name: n
    for n, full in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    )
    for name in (full, full[:3])
}
MON_FRI: frozenset[int] = frozenset(range(5))


def parse_work_days(text: str) -> frozenset[int]:
    """`mon-fri`, `sun-thu` (a range may wrap the week) or lists such as
    `mon,tue,wed,thu,sat`, mixed freely; weekday numbers as `datetime.weekday()` gives."""
    days: set[int] = set()
    for part in (p.strip().lower() for p in text.split(",")):
        first, sep, last = (word.strip() for word in part.partition("-"))
        if first not in _NAMES or (sep and last not in _NAMES):
            raise ValueError(
                f"{part!r} is not a weekday or range; use e.g. mon-fri, sun-thu or mon,tue,sat"
            )
        start = _NAMES[first]
        end = _NAMES[last] if sep else start
        days.update((start + i) % 7 for i in range((end - start) % 7 + 1))
    return frozenset(days)


def format_work_days(days: frozenset[int]) -> str:
    return ",".join(WEEKDAYS[d] for d in sorted(days))


def zone(tz: str) -> ZoneInfo:
    """A person's Slack time zone; UTC when it is empty or unknown."""
    try:
        return ZoneInfo(tz or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def add_business_days(
    start: datetime, days: int, tz: str, work_days: frozenset[int] = MON_FRI
) -> datetime:
    """`days` working days after `start`, at the same local time in `tz`."""
    local = start.astimezone(zone(tz))
    counted = 0
    while counted < days:
        local += timedelta(days=1)
        if local.weekday() in work_days:
            counted += 1
    return local.astimezone(UTC)


@dataclass(frozen=True)
class WorkingHours:
    """When people are at work: the team's days (REMINDER_WORK_DAYS) and hours
    (REMINDER_WORK_START–REMINDER_WORK_END), each person in their own time zone."""

    days: frozenset[int] = MON_FRI
    start: time = time(9, 0)
    end: time = time(18, 0)

    def contains(self, at: datetime, tz: str) -> bool:
        local = at.astimezone(zone(tz))
        return local.weekday() in self.days and self.start <= local.time() < self.end

    def describe_days(self, tz: str) -> str:
        """`mon-fri, Europe/London` (no clock times: a postmortem's claims checker holds
        every time it names to the record)."""
        days = "mon-fri" if self.days == MON_FRI else format_work_days(self.days)
        return f"{days}, {zone(tz).key}"
