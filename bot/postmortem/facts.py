"""Facts and durations of a postmortem, taken from the incident record alone: the key-event
timeline with each row's significance, and TTD / TTM / TTR from the recorded times."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta

from bot.incidents.models import Incident, Role
from bot.mrkdwn import plain
from bot.postmortem.models import Durations, TimelineRow
from bot.timeline.models import EventKind, TimelineEntry


def significance(entry: TimelineEntry) -> str:
    ev = entry.event
    kind = ev.kind
    if kind is EventKind.DECLARED:
        return "Response initiated"
    if kind is EventKind.ALERT:
        return "Detection"
    if kind is EventKind.ROLE:
        role = ev.data.get("role", "")
        try:
            return f"{Role(role).display_name} assigned"
        except ValueError:
            return "Role assigned"
    if kind is EventKind.SEVERITY:
        return "Severity changed"
    if kind is EventKind.STATUS:
        return {
            "identified": "Root cause identified",
            "monitoring": "Mitigation applied",
            "investigating": "Investigation",
        }.get(ev.data.get("to", ""), "Status changed")
    if kind is EventKind.RESOLVED:
        return "Resolved — impact ends"
    if kind is EventKind.CLOSED:
        return "Closed"
    if kind is EventKind.METRICS:
        return "Metric reading"
    if kind is EventKind.ACTION_ITEM:
        return "Follow-up"
    if kind in (EventKind.SERVICES, EventKind.TAGS):
        return "Scope updated"
    low = ev.text.lower()
    rules = (
        (r"decision|decided", "Decision"),
        (
            r"roll ?back|revert|restart|scal(e|ed) (up|out)|increas|raised|failover|disabl",
            "Mitigation attempt",
        ),
        (r"root cause|identified|found|caused by", "Investigation"),
        (r"status page|customer|email|announce", "Communication"),
        (r"deploy|release|rolled out|shipped", "Change"),
        (r"\balert|\bpaged\b|\bfired\b", "Detection"),
        (r"exhaust|saturat|timing out|cascad|outage|\bdown\b", "Impact escalates"),
        (r"analysis|observed|shows|revealed|traffic|spike", "Investigation finding"),
        (r"baseline|back to normal|recovered|returned to normal", "Recovery"),
    )
    for pattern, label in rules:
        if re.search(pattern, low):
            return label
    return "Key event"


def timeline_rows(entries: Sequence[TimelineEntry]) -> list[TimelineRow]:
    return [
        TimelineRow(
            time=e.event.at,
            event=plain(e.event.text) or e.event.kind.value,
            significance=significance(e),
        )
        for e in entries
        if e.is_key
    ]


def durations(incident: Incident) -> Durations:
    def secs(d: timedelta | None) -> int | None:
        return None if d is None else int(d.total_seconds())

    return Durations(
        ttd_seconds=secs(incident.time_to_detect),
        ttm_seconds=secs(incident.time_to_mitigate),
        ttr_seconds=secs(incident.time_to_resolve),
    )
