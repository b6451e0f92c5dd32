"""Block Kit for status updates: the announcement with its Follow button, the update modal,
the cadence prompt, the nudges and the App Home sections (plain dicts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.incidents.models import Incident, Severity, Status
from bot.mrkdwn import escape, when

Block = dict[str, Any]

FOLLOW_ACTION = "follow_updates"
OPEN_UPDATE_ACTION = "open_update_modal"
STILL_ACTIVE_ACTION = "nudge_still_active"
RESOLVE_ACTION = "resolve_incident"  # the header's Resolve button (commands/interactivity.py)
DRAFT_POSTMORTEM_ACTION = "nudge_draft_postmortem"
CLOSE_ACTION = "nudge_close_incident"
UPDATE_CALLBACK = "post_status_update"
NEXT_CHOICES = (("15m", "15 minutes"), ("30m", "30 minutes"), ("1h", "1 hour"), ("2h", "2 hours"),
                ("4h", "4 hours"))
CADENCE_CHOICE = "cadence"


def button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    out: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }
    if style:
        out["style"] = style
    return out


def announcement_blocks(incident: Incident, text: str, status_line: str | None,
                        page_url: str | None = None) -> list[Block]:
    """The declaration in INCIDENTS_CHANNEL: what, the latest update, the incident's web
    page (when WEB_BASE_URL is set), and Follow updates."""
    blocks: list[Block] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    context = [status_line[:3000]] if status_line else []
    if page_url:
        context.append(f"<{page_url}|Incident page>")
    if context:
        blocks.append({"type": "context",
                       "elements": [{"type": "mrkdwn", "text": c} for c in context]})
    if incident.is_active:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"announcement:{incident.id}",
                "elements": [button("Follow updates", FOLLOW_ACTION, incident.id)],
            }
        )
    return blocks


def update_modal(incident: Incident, *, cadence_label: str) -> Block:
    """No text given to `/incident update`: what changed, impact, next steps, next update."""
    next_options = [
        {"text": {"type": "plain_text", "text": label}, "value": value}
        for value, label in NEXT_CHOICES
    ]
    cadence_option = {
        "text": {"type": "plain_text", "text": f"Cadence ({cadence_label})"[:75]},
        "value": CADENCE_CHOICE,
    }
    status_options = [
        {"text": {"type": "plain_text", "text": s.value.capitalize()}, "value": s.value}
        for s in (Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED)
    ]
    severity_options = [
        {"text": {"type": "plain_text", "text": f"{s.label} — {s.meaning}"}, "value": str(s.value)}
        for s in Severity
    ]

    def text_input(block_id: str, label: str, *, optional: bool, hint: str) -> Block:
        return {
            "type": "input",
            "block_id": block_id,
            "optional": optional,
            "label": {"type": "plain_text", "text": label},
            "hint": {"type": "plain_text", "text": hint},
            "element": {
                "type": "plain_text_input",
                "action_id": "value",
                "multiline": True,
                "max_length": 1500,
            },
        }

    current_status = next(
        (o for o in status_options if o["value"] == incident.status.value), status_options[0]
    )
    return {
        "type": "modal",
        "callback_id": UPDATE_CALLBACK,
        "private_metadata": incident.id,
        "title": {"type": "plain_text", "text": "Status update"},
        "submit": {"type": "plain_text", "text": "Post update"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"*{incident.id}* {escape(incident.title, limit=150)} · "
                        f"{incident.severity.label} · {incident.status.value}",
                    }
                ],
            },
            text_input("what_changed", "What changed", optional=False,
                       hint="Posted in the channel, the announcement thread and to followers."),
            text_input("impact", "Current impact", optional=True,
                       hint="Who is affected and how, in plain words."),
            text_input("next_steps", "Next steps", optional=True, hint="What happens next."),
            {
                "type": "input",
                "block_id": "status",
                "label": {"type": "plain_text", "text": "Status"},
                "element": {
                    "type": "static_select",
                    "action_id": "value",
                    "options": status_options,
                    "initial_option": current_status,
                },
            },
            {
                "type": "input",
                "block_id": "severity",
                "label": {"type": "plain_text", "text": "Severity"},
                "element": {
                    "type": "static_select",
                    "action_id": "value",
                    "options": severity_options,
                    "initial_option": severity_options[incident.severity.value - 1],
                },
            },
            {
                "type": "input",
                "block_id": "next_update",
                "label": {"type": "plain_text", "text": "Next update in"},
                "element": {
                    "type": "static_select",
                    "action_id": "value",
                    "options": [cadence_option, *next_options],
                    "initial_option": cadence_option,
                },
            },
        ],
    }


def cadence_prompt_blocks(incident: Incident, text: str) -> list[Block]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "actions",
            "block_id": f"update_due:{incident.id}",
            "elements": [button("Post update", OPEN_UPDATE_ACTION, incident.id, "primary")],
        },
    ]


def stale_nudge_blocks(incident: Incident, text: str) -> list[Block]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "actions",
            "block_id": f"stale:{incident.id}",
            "elements": [
                button("Resolve", RESOLVE_ACTION, incident.id, "primary"),
                button("Still active", STILL_ACTIVE_ACTION, incident.id),
            ],
        },
    ]


def postmortem_nudge_blocks(incident: Incident, text: str) -> list[Block]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "actions",
            "block_id": f"postmortem_due:{incident.id}",
            "elements": [
                button("Draft postmortem", DRAFT_POSTMORTEM_ACTION, incident.id, "primary")
            ],
        },
    ]


def close_nudge_blocks(incident: Incident, text: str) -> list[Block]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "actions",
            "block_id": f"close_due:{incident.id}",
            "elements": [button("Close incident", CLOSE_ACTION, incident.id, "primary")],
        },
    ]


def home_update_blocks(
    leading: list[tuple[Incident, str, datetime | None]],
    followed: list[Incident],
    now: datetime,
) -> list[Block]:
    """App Home: incidents where the viewer holds a role (with the next update due) and the
    incidents they follow."""
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Your incident roles"}}
    ]
    if not leading:
        blocks.append(_section("You hold no role in an open incident."))
    for incident, role, due in leading:
        if due is None:
            next_text = "no update cadence"
        elif due <= now:
            next_text = f":warning: update overdue since {when(due)}"
        else:
            next_text = f"next update by {when(due)}"
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"*{incident.id}* {escape(incident.title, limit=120)} "
                    f"<#{incident.channel_id}> · {role} · {incident.severity.label} "
                    f"{incident.status.value} · {next_text}",
                },
                "accessory": button("Post update", OPEN_UPDATE_ACTION, incident.id),
            }
        )
    blocks.append(
        {"type": "header", "text": {"type": "plain_text", "text": "Incidents you follow"}}
    )
    if not followed:
        blocks.append(
            _section("None. Press *Follow updates* on an announcement to get updates by DM.")
        )
    for incident in followed:
        blocks.append(
            _section(
                f"*{incident.id}* {escape(incident.title, limit=120)} <#{incident.channel_id}> · "
                f"{incident.severity.label} {incident.status.value}"
            )
        )
    return blocks


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}
