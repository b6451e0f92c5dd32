"""What the postmortem says about the incident's non-straight path: reopenings (time to
resolve counts every period it was open) and key times corrected after the fact."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.incidents.models import Incident, format_duration
from bot.timeline.models import EventKind, TimelineEntry


def _t(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def lifecycle_lines(incident: Incident, entries: list[TimelineEntry]) -> list[str]:
    lines: list[str] = []
    for n, r in enumerate(incident.reopenings, 1):
        gap = format_duration(r.at - r.resolved_at)
        why = f": {r.reason}" if r.reason else ""
        lines.append(
            f"Reopened ({n}) at {_t(r.at)} by @{r.by}{why}; it had been resolved at "
            f"{_t(r.resolved_at)}. The {gap} it spent resolved is not counted in time to "
            "resolve; both open periods are."
        )
    for e in entries:
        ev = e.event
        if ev.kind is EventKind.TIMES and ev.data.get("field"):
            old = ev.data.get("old") or ""
            old_text = _t(datetime.fromisoformat(old)) if old else "unset"
            lines.append(
                f"{ev.data['field'].capitalize()} time corrected by @{ev.actor} at {_t(ev.at)}: "
                f"{old_text} → {_t(datetime.fromisoformat(ev.data['new']))}"
            )
    if incident.merged_from:
        lines.append(
            f"Duplicates merged into this incident: {', '.join(incident.merged_from)} "
            "(their timelines are copied in, marked `[from …]`)."
        )
    return lines
