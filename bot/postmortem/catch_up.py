"""`/incident summary`: a catch-up for someone joining an incident — what happened, where it
stands, who holds which role and the latest key events."""

from __future__ import annotations

from datetime import datetime

from bot.incidents.models import Incident, Role, format_duration
from bot.mrkdwn import escape, mention, when
from bot.timeline.models import EventKind, TimelineEntry
from bot.timeline.render import render_entry


def catch_up(incident: Incident, entries: list[TimelineEntry], now: datetime) -> str:
    """What happened, status, roles, what is being tried."""
    lines = [
        f"*{incident.id}: {escape(incident.title)}*",
        f"*What happened:* {incident.severity.label} ({incident.severity.meaning}) "
        f"declared {when(incident.declared_at)} by {mention(incident.declared_by)}"
        + (f", affecting {escape(', '.join(incident.services))}" if incident.services else "")
        + ".",
    ]
    if incident.description:
        lines.append(f">{escape(incident.description)}")
    status = f"*Status:* {incident.status.value}"
    if incident.resolved_at is not None:
        status += f" — resolved after {format_duration(incident.time_to_resolve)}"
    elif incident.mitigated_at is not None:
        status += f" — mitigated after {format_duration(incident.time_to_mitigate)}"
    else:
        status += f" — open for {format_duration(now - incident.declared_at)}"
    lines.append(status)
    lines.append(
        "*Roles:* "
        + " · ".join(f"{r.display_name}: {mention(incident.roles.get(r))}" for r in Role)
    )
    trying = [
        e
        for e in entries
        if e.is_key and e.event.kind not in (EventKind.ROLE, EventKind.DECLARED)
    ][-5:]
    if trying:
        lines.append("*What is being tried (latest key events):*")
        lines += [f"• {render_entry(e)}" for e in trying]
    else:
        lines.append("*What is being tried:* nothing recorded yet — add `/incident note`.")
    if incident.resolution_summary:
        lines.append(f"*Resolution:* {escape(incident.resolution_summary)}")
    return "\n".join(lines)
