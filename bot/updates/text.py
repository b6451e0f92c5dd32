"""How a status update reads: in the incident channel and a follower's DM, where outsiders
read a private incident (its label and status only), and the status line under the
announcement."""

from __future__ import annotations

from bot.incidents.models import Incident, Status, format_duration
from bot.mrkdwn import escape, mention, when
from bot.updates.models import StatusUpdate

STATUS_EMOJI = {
    Status.INVESTIGATING: ":mag:",
    Status.IDENTIFIED: ":bulb:",
    Status.MONITORING: ":eyes:",
    Status.RESOLVED: ":white_check_mark:",
    Status.CLOSED: ":lock:",
}


def update_text(incident: Incident, update: StatusUpdate, *, for_dm: bool = False) -> str:
    lines = [
        f":mega: *Status update #{update.seq} — {incident.id}* {escape(incident.title)}",
        f"{update.severity.label} · {STATUS_EMOJI[update.status]} "
        f"{update.status.value.capitalize()} · by {mention(update.author)} {when(update.at)}",
        f"*What changed:* {escape(update.text, limit=1500)}",
    ]
    if update.impact:
        lines.append(f"*Current impact:* {escape(update.impact, limit=1500)}")
    if update.next_steps:
        lines.append(f"*Next steps:* {escape(update.next_steps, limit=1500)}")
    if update.next_update_due is not None:
        lines.append(f"*Next update by* {when(update.next_update_due)}")
    if for_dm:
        lines.append(
            f"_You follow this incident (<#{incident.channel_id}>). "
            f"`/incident unsubscribe id:{incident.id}` to stop._"
        )
    return "\n".join(lines)


def public_update_text(incident: Incident, update: StatusUpdate) -> str:
    """A private incident's update where non-members read (the announcement's thread, a
    follower outside the channel): its label and status, never its words."""
    return (
        f":lock: *{incident.public_label}* — status update #{update.seq}: "
        f"{update.status.value.capitalize()}"
    )


def status_line(incident: Incident, update: StatusUpdate | None) -> str:
    """The line under the announcement: the latest update and when the next is due (for a
    private incident without the update's words)."""
    if incident.merged_into:
        return f":twisted_rightwards_arrows: *Duplicate* of {incident.merged_into}"
    if incident.is_declined:
        return ":no_entry_sign: *Declined* as a false alarm"
    if not incident.is_active:
        word = "Closed" if incident.status is Status.CLOSED else "Resolved"
        after = f" after {format_duration(incident.time_to_resolve)}"
        return (
            f"{STATUS_EMOJI[incident.status]} *{word}*{after} · {when(incident.resolved_at)}"
            if incident.resolved_at
            else f"{STATUS_EMOJI[incident.status]} *{word}*"
        )
    parts = [f"{STATUS_EMOJI[incident.status]} *{incident.status.value.capitalize()}*"]
    if incident.reopenings:
        parts[0] += " (reopened)"
    if update is not None and incident.private:
        parts.append(f"update #{update.seq} {when(update.at)}")
    elif update is not None:
        parts.append(f"update #{update.seq} {when(update.at)}: {escape(update.text, limit=200)}")
    if incident.next_update_due is not None:
        parts.append(f"next update by {when(incident.next_update_due)}")
    return " · ".join(parts)
