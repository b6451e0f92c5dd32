"""Medians, p90s and weeks: pure functions."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from bot.insights.models import Summary


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-quantile (0 ≤ q ≤ 1) by linear interpolation between the nearest ranks (the
    inclusive method, numpy's default); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(values: Sequence[float]) -> Summary:
    return Summary.model_construct(  # numbers made here: nothing to validate
        count=len(values),
        median_seconds=percentile(values, 0.5),
        p90_seconds=percentile(values, 0.9),
    )


def week_start(at: datetime) -> date:
    """The Monday (UTC) of the week `at` is in."""
    day = at.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def window(now: datetime, weeks: int) -> list[date]:
    """The Mondays of the last `weeks` weeks, the current one last."""
    current = week_start(now)
    return [current - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)
