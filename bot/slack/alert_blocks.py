"""The message a firing alert gets in the incidents channel, and the modal it pre-fills."""

from __future__ import annotations

import json

from bot.alerts import Alert
from bot.mrkdwn import escape
from bot.slack.blocks import declare_modal

DECLARE_FROM_ALERT_ACTION = "declare_from_alert"
ALERT_DECLARE_CALLBACK = "declare_incident_from_alert"
SEVERITY_EMOJI = {"critical": ":red_circle:", "page": ":red_circle:", "warning": ":warning:"}

Block = dict[str, object]


def alert_blocks(alert: Alert) -> tuple[str, list[Block]]:
    emoji = SEVERITY_EMOJI.get(alert.severity.lower(), ":bell:")
    severity = alert.severity or "no severity"
    text = f"Alert firing: {alert.name} ({severity}): {alert.summary}"
    facts = [
        f"{emoji} *{escape(alert.name)}* is firing",
        f"*Severity:* {escape(severity)}",
        f"*Summary:* {escape(alert.summary, limit=1000)}",
    ]
    if "description" in alert.annotations and alert.annotations["description"] != alert.summary:
        facts.append(escape(alert.annotations["description"], limit=1000))
    blocks: list[Block] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(facts)}},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": DECLARE_FROM_ALERT_ACTION,
                    "text": {"type": "plain_text", "text": "Declare incident"},
                    "style": "danger",
                    "value": alert.fingerprint,
                }
            ],
        },
    ]
    return text, blocks


def alert_declare_modal(alert: Alert) -> Block:
    """The declare modal, pre-filled from the alert; submitting it links the incident."""
    view = declare_modal(
        title=alert.declare_title(),
        description=alert.declare_description(),
        private_metadata=json.dumps({"alert": alert.fingerprint}),
    )
    view["callback_id"] = ALERT_DECLARE_CALLBACK
    return view
