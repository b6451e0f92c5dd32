"""Block Kit for the incident header, the announcement and the declare modal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.incidents.models import Incident, Role, Severity
from bot.mrkdwn import escape, mention, when

Block = dict[str, Any]

STATUS_EMOJI = {
    "investigating": ":mag:",
    "identified": ":bulb:",
    "monitoring": ":eyes:",
    "resolved": ":white_check_mark:",
    "closed": ":lock:",
}
DECLARE_CALLBACK = "declare_incident"


def header_blocks(incident: Incident, page_url: str | None = None) -> list[Block]:
    """The channel's header; `page_url` is the incident's web page (WEB_BASE_URL set)."""
    roles = "\n".join(
        f"*{role.display_name}:* {mention(incident.roles.get(role))}" for role in Role
    )
    facts = [
        f"*Severity:* {incident.severity.label} ({incident.severity.meaning})",
        f"*Status:* {STATUS_EMOJI[incident.status.value]} {incident.status.value.capitalize()}",
        f"*Declared:* {when(incident.declared_at)} by {mention(incident.declared_by)}",
    ]
    if incident.services:
        facts.append(f"*Services:* {', '.join(incident.services)}")
    if incident.tags:
        facts.append(f"*Tags:* {', '.join(incident.tags)}")
    if incident.call_url and incident.is_active:
        facts.append(f"*Call:* <{incident.call_url}|Join the call>")
    if page_url:
        facts.append(f"*Page:* <{page_url}|{incident.id} in the web app>")
    blocks: list[Block] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": f"{incident.id}: {incident.title}"[:150]},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(facts)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": roles}},
    ]
    if incident.description:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": escape(incident.description, limit=2000)},
            }
        )
    if incident.is_active:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"incident_actions:{incident.id}",
                "elements": [
                    _button("I'll take Ops", "take_role_ops", incident.id),
                    _button("I'll take Comms", "take_role_comms", incident.id),
                    _button("Show timeline", "show_timeline", incident.id),
                    _button("Resolve", "resolve_incident", incident.id, style="primary"),
                ],
            }
        )
    return blocks


def _button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def declare_modal(*, title: str = "", description: str = "", private_metadata: str = "") -> Block:
    severity_options = [
        {
            "text": {"type": "plain_text", "text": f"{s.label} — {s.meaning}"},
            "value": str(s.value),
        }
        for s in Severity
    ]
    title_element: Block = {"type": "plain_text_input", "action_id": "value", "max_length": 150}
    if title:
        title_element["initial_value"] = title[:150]
    description_element: Block = {
        "type": "plain_text_input",
        "action_id": "value",
        "multiline": True,
    }
    if description:
        description_element["initial_value"] = description[:3000]
    return {
        "type": "modal",
        "callback_id": DECLARE_CALLBACK,
        "private_metadata": private_metadata,
        "title": {"type": "plain_text", "text": "Declare an incident"},
        "submit": {"type": "plain_text", "text": "Declare"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": "title",
                "label": {"type": "plain_text", "text": "Title"},
                "element": title_element,
            },
            {
                "type": "input",
                "block_id": "severity",
                "label": {"type": "plain_text", "text": "Severity"},
                "element": {
                    "type": "static_select",
                    "action_id": "value",
                    "options": severity_options,
                    "initial_option": severity_options[2],
                },
            },
            {
                "type": "input",
                "block_id": "services",
                "optional": True,
                "label": {"type": "plain_text", "text": "Affected services (comma separated)"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            },
            {
                "type": "input",
                "block_id": "description",
                "optional": True,
                "label": {"type": "plain_text", "text": "What is happening?"},
                "element": description_element,
            },
            {
                "type": "input",
                "block_id": "private",
                "optional": True,
                "label": {"type": "plain_text", "text": "Visibility"},
                "element": {
                    "type": "checkboxes",
                    "action_id": "value",
                    "options": [
                        {
                            "text": {"type": "plain_text", "text": "Private incident"},
                            "description": {
                                "type": "plain_text",
                                "text": "A private channel; everything public shows only its "
                                "id and severity (security, HR)",
                            },
                            "value": "private",
                        }
                    ],
                },
            },
        ],
    }


CONFIRM_CHANGE_ACTION = "confirm_change"


def confirm_blocks(text: str, label: str, value: str) -> list[Block]:
    """A guard's question with the button that makes the change anyway."""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "actions",
            "block_id": "confirm_change",
            "elements": [_button(label, CONFIRM_CHANGE_ACTION, value, style="danger")],
        },
    ]


REOPEN_ACTION = "reopen_incident"


def reopen_button(incident_id: str) -> Block:
    """A "Reopen" button (e.g. under a relapse warning): it runs the reopen flow, the same
    as `/incident reopen`, for the IC or an admin (commands/lifecycle.py)."""
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": "Reopen"},
        "action_id": REOPEN_ACTION,
        "value": incident_id,
        "style": "danger",
    }


IMPACT_START_ACTION = "impact_start_record"


def relapse_blocks(text: str, incident_id: str) -> list[Block]:
    """A relapse after resolve, with the button that reopens the incident."""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "actions",
            "block_id": "relapse",
            "elements": [reopen_button(incident_id)],
        },
    ]


def impact_start_blocks(text: str, value: str) -> list[Block]:
    """The metrics say impact began before the declaration: offer to record it."""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "actions",
            "block_id": "impact_start",
            "elements": [_button("Record as impact start", IMPACT_START_ACTION, value)],
        },
    ]


SECTION_TEXT_MAX = 3000  # Block Kit's cap on a section's text


def text_blocks(text: str) -> list[Block]:
    """mrkdwn as section blocks of at most SECTION_TEXT_MAX characters, cut between lines; a
    code block (```…```) cut in two stays a code block on both sides."""
    code = text.startswith("```") and text.endswith("```") and len(text) > 6
    body = text[3:-3].strip("\n") if code else text
    fence = 8 if code else 0  # "```\n" + "\n```"
    chunks: list[str] = []
    current = ""
    for line in body.split("\n"):
        while len(line) + fence > SECTION_TEXT_MAX:  # one very long line: cut it
            room = SECTION_TEXT_MAX - fence - len(current) - (1 if current else 0)
            if room <= 0:
                chunks.append(current)
                current = ""
                continue
            current = f"{current}\n{line[:room]}" if current else line[:room]
            line = line[room:]
        joined = f"{current}\n{line}" if current else line
        if current and len(joined) + fence > SECTION_TEXT_MAX:
            chunks.append(current)
            current = line
        else:
            current = joined
    chunks.append(current)
    return [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"```\n{chunk}\n```" if code else chunk},
        }
        for chunk in chunks
        if chunk.strip()
    ]


def join_posts(parts: Sequence[tuple[str, list[Block]]]) -> tuple[str, list[Block]]:
    """Several posts as one message: their blocks with a divider between them; the text a
    notification shows is theirs, one after another."""
    blocks: list[Block] = []
    for _, part in parts:
        if blocks:
            blocks.append({"type": "divider"})
        blocks += part
    return "\n\n".join(text for text, _ in parts), blocks
