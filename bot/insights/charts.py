"""The insights page's charts, drawn from the `Insights` record (the page shows a table of
the same numbers beside each)."""

from __future__ import annotations

from datetime import timedelta

from bot.incidents.models import format_duration
from bot.insights.models import DurationMetric, Insights
from bot.insights.svg import Series, hbars, line_chart, nice_ceiling, stacked_bars

MAX_BARS = 10
MINUTE, HOUR, DAY = 60, 3600, 86400
# axis tops for durations whose quarters read well: 1m, 2m, 5m, 10m, 15m, 30m, 1h, 2h, 3h …
DURATION_TOPS = [
    4 * MINUTE, 8 * MINUTE, 20 * MINUTE, 40 * MINUTE, HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR,
    12 * HOUR, DAY, 2 * DAY, 4 * DAY, 8 * DAY, 28 * DAY,
]  # fmt: skip


def duration_ceiling(seconds: float) -> float:
    """The axis top of a duration chart: the first of DURATION_TOPS at or above `seconds`."""
    found = next((top for top in DURATION_TOPS if seconds <= top), None)
    return float(found) if found is not None else nice_ceiling(seconds / DAY) * DAY


def duration(seconds: float | None) -> str:
    """`1h 5m`, `4m 30s`, `4m`, `2h`; `—` when unknown."""
    text = format_duration(None if seconds is None else timedelta(seconds=round(seconds)))
    return text.removesuffix(" 0s").removesuffix(" 0m") if " " in text else text


def duration_chart(metric: DurationMetric, labels: list[str]) -> str:
    weeks = metric.overall.weeks
    return line_chart(
        f"{metric.label} per week: median and p90",
        labels,
        [
            Series("median", [w.median_seconds for w in weeks]),
            Series("p90", [w.p90_seconds for w in weeks]),
        ],
        duration,
        duration_ceiling,
    )


def by_severity_chart(metric: DurationMetric, labels: list[str]) -> str:
    """The weekly median of each severity: is our SEV2s' time to resolve getting better?"""
    return line_chart(
        f"{metric.label} per week: median by severity",
        labels,
        [Series(row.group, [w.median_seconds for w in row.weeks]) for row in metric.by_severity],
        duration,
        duration_ceiling,
    )


def charts(insights: Insights) -> dict[str, str]:
    """SVG by name: `per_week`, one per duration (`detect`, `acknowledge`, `resolve`), the
    time to resolve by severity (`resolve_by_severity`), `responders` (after-hours load) and
    `causes` (recurring root causes)."""
    labels = [w.label for w in insights.weeks]
    drawn = {
        "per_week": stacked_bars(
            "Incidents per week by severity",
            labels,
            [Series(row.severity, row.weeks) for row in insights.per_week],
        ),
        "responders": hbars(
            "Incidents first acted on after hours, per responder",
            [(r.name, float(r.after_hours)) for r in insights.responders[:MAX_BARS]],
            lambda v: f"{v:g}",
        ),
        "causes": hbars(
            "Recurring root causes",
            [(c.label, float(c.count)) for c in insights.causes[:MAX_BARS]],
            lambda v: f"{v:g}",
        ),
    }
    for metric in insights.durations:
        drawn[metric.name] = duration_chart(metric, labels)
        if metric.name == "resolve":
            drawn["resolve_by_severity"] = by_severity_chart(metric, labels)
    return drawn
