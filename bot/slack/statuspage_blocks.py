"""Block Kit for the status page: the publish form and preview, the questions after a
status change and a resolve, and the maintenance form (plain dicts)."""

from __future__ import annotations

from typing import Any

from bot.incidents.models import Incident
from bot.mrkdwn import escape
from bot.slack.update_blocks import button
from bot.statuspage.models import ComponentStatus, PublicIncident, PublicStatus

Block = dict[str, Any]
PUBLISH_ACTION = "statuspage_publish"  # the preview's Publish (value: the draft's reference)
OPEN_FORM_ACTION = "statuspage_open_form"  # value: incident id
RESOLVE_ACTION = "statuspage_resolve"  # value: incident id
PUBLISH_CALLBACK = "statuspage_publish_form"
MAINTENANCE_CALLBACK = "statuspage_maintenance_form"
NOT_AFFECTED = "not_affected"


def _option(text: str, value: str) -> Block:
    return {"text": {"type": "plain_text", "text": text[:75]}, "value": value}


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def preview_blocks(text: str, ref: str) -> list[Block]:
    return [_section(text), {"type": "actions", "elements": [
        button("Publish", PUBLISH_ACTION, ref, "primary")]}]


def offer_blocks(incident: Incident, public: PublicIncident, status: PublicStatus
                 ) -> list[Block]:
    text = (f":globe_with_meridians: The status page shows *{escape(public.name)}* as "
            f"{public.status.value}. The incident is now {incident.status.value}: update the "
            f"status page to *{status.value}*?")
    return [_section(text), {"type": "actions", "elements": [
        button("Update the status page", OPEN_FORM_ACTION, incident.id, "primary")]}]


def resolve_blocks(incident: Incident, public: PublicIncident) -> list[Block]:
    names = ", ".join(public.components) or "its components"
    text = (f":globe_with_meridians: *{escape(public.name)}* is still open on the status "
            f"page. Resolve it there and set {escape(names)} back to operational?")
    return [_section(text), {"type": "actions", "elements": [
        button("Resolve on the status page", RESOLVE_ACTION, incident.id, "primary"),
        button("Edit first", OPEN_FORM_ACTION, incident.id)]}]


def publish_modal(incident: Incident, components: list[str], statuses: dict[str, ComponentStatus],
                  status: PublicStatus, title: str, message: str) -> Block:
    options = [_option("Not affected", NOT_AFFECTED)] + [
        _option(s.label, s.value) for s in ComponentStatus if s is not ComponentStatus.OPERATIONAL
    ]
    blocks: list[Block] = [{"type": "context", "elements": [{
        "type": "mrkdwn", "text": f"Publishing for *{incident.id}*. Customers see exactly "
        "what you write: no names, channels or internal service names."}]}]
    for i, name in enumerate(components[:40]):
        current = statuses.get(name)
        initial = next((o for o in options if current and o["value"] == current.value),
                       options[0])
        blocks.append({
            "type": "input", "block_id": f"component:{i}", "optional": True,
            "label": {"type": "plain_text", "text": name[:2000]},
            "element": {"type": "static_select", "action_id": "value", "options": options,
                        "initial_option": initial},
        })
    status_options = [_option(s.value.capitalize(), s.value) for s in PublicStatus]
    blocks += [
        {"type": "input", "block_id": "status", "label": {"type": "plain_text", "text": "Status"},
         "element": {"type": "static_select", "action_id": "value", "options": status_options,
                     "initial_option": next(o for o in status_options
                                            if o["value"] == status.value)}},
        {"type": "input", "block_id": "title",
         "label": {"type": "plain_text", "text": "Public title"},
         "element": {"type": "plain_text_input", "action_id": "value", "max_length": 255,
                     "initial_value": title}},
        {"type": "input", "block_id": "message",
         "label": {"type": "plain_text", "text": "Public message"},
         "element": {"type": "plain_text_input", "action_id": "value", "multiline": True,
                     "max_length": 2000, "initial_value": message}},
    ]
    return {
        "type": "modal", "callback_id": PUBLISH_CALLBACK, "private_metadata": incident.id,
        "title": {"type": "plain_text", "text": "Status page"},
        "submit": {"type": "plain_text", "text": "Publish"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def maintenance_modal(components: list[str]) -> Block:
    options = [_option(name, str(i)) for i, name in enumerate(components[:100])]

    def text(block_id: str, label: str, *, multiline: bool = False) -> Block:
        return {"type": "input", "block_id": block_id,
                "label": {"type": "plain_text", "text": label},
                "element": {"type": "plain_text_input", "action_id": "value",
                            "multiline": multiline, "max_length": 2000}}

    return {
        "type": "modal", "callback_id": MAINTENANCE_CALLBACK,
        "title": {"type": "plain_text", "text": "Maintenance"},
        "submit": {"type": "plain_text", "text": "Schedule"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {"type": "input", "block_id": "components",
             "label": {"type": "plain_text", "text": "Components"},
             "element": {"type": "multi_static_select", "action_id": "value",
                         "options": options}},
            {"type": "input", "block_id": "start",
             "label": {"type": "plain_text", "text": "Starts"},
             "element": {"type": "datetimepicker", "action_id": "value"}},
            {"type": "input", "block_id": "end", "label": {"type": "plain_text", "text": "Ends"},
             "element": {"type": "datetimepicker", "action_id": "value"}},
            text("message", "What customers should know", multiline=True),
        ],
    }
