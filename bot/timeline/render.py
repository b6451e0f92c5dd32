"""The timeline as Slack text: times in each reader's zone, user text escaped."""

from __future__ import annotations

from bot.mrkdwn import escape, mention, when
from bot.timeline.models import BOT_EVENT_KINDS, EventKind, TimelineEntry

ICONS = {
    EventKind.DECLARED: ":rotating_light:",
    EventKind.ROLE: ":busts_in_silhouette:",
    EventKind.SEVERITY: ":warning:",
    EventKind.STATUS: ":large_blue_circle:",
    EventKind.RESOLVED: ":white_check_mark:",
    EventKind.CLOSED: ":lock:",
    EventKind.NOTE: ":pushpin:",
    EventKind.METRICS: ":bar_chart:",
    EventKind.ACTION_ITEM: ":ballot_box_with_check:",
    EventKind.ALERT: ":bell:",
    EventKind.SYSTEM: ":gear:",
    EventKind.STATUS_UPDATE: ":mega:",
    EventKind.CADENCE: ":repeat:",
}


def render_entry(entry: TimelineEntry) -> str:
    event = entry.event
    icon = ICONS.get(event.kind, ":pushpin:" if entry.is_key else ":speech_balloon:")
    who = f"{mention(event.actor)}: " if event.actor else ""
    # bot events carry the bot's own mrkdwn (mentions); people's words are escaped
    text = event.text if event.kind in BOT_EVENT_KINDS else escape(event.text, limit=500)
    edited = " _(edited)_" if entry.edited else ""
    if event.kind is EventKind.SYSTEM:  # the channel changed: told, not quoted as speech
        who = f"{mention(event.actor)} " if event.actor else ""
        return f"{icon} {when(event.at, fmt='{date_short} {time}')} — _{who}{text}_"
    return f"{icon} {when(event.at, fmt='{date_short} {time}')} — {who}{text}{edited}"


def render_timeline(
    incident_id: str, entries: list[TimelineEntry], *, page: int, pages: int, everything: bool
) -> str:
    scope = "everything" if everything else "key events"
    lines = [f"*Timeline of {incident_id}* ({scope}, page {page}/{pages})"]
    lines += [render_entry(e) for e in entries] or ["_Nothing recorded yet._"]
    if page < pages:
        more = " all" if everything else ""
        lines.append(f"_More: `/incident timeline{more} page:{page + 1}`_")
    if not everything:
        lines.append("_Every message: `/incident timeline all`_")
    return "\n".join(lines)
