"""Block Kit for action items: reminder DMs and the App Home tab (plain dicts)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.mrkdwn import escape, when

DONE_ACTION = "action_item_done"
SNOOZE_ACTION = "action_item_snooze"
SET_DUE_ACTION = "action_item_set_due"
DUE_CALLBACK = "action_item_due"
DUE_BLOCK = "due"
DUE_DATE = "date"
BLOCK_PREFIX = "action_item:"
Block = dict[str, object]
NO_DUE_DATE = ":grey_question: no due date"


class ItemLike(Protocol):
    id: str
    text: str
    incident_id: str
    due: datetime | None

    @property
    def is_open(self) -> bool: ...


class IncidentLike(Protocol):
    id: str
    title: str
    channel_id: str


def due_button(item_id: str) -> Block:
    """Opens the due-date modal (`due_modal`) for an item that has none."""
    return {
        "type": "button",
        "action_id": SET_DUE_ACTION,
        "text": {"type": "plain_text", "text": "Set due date"},
        "value": item_id,
    }


def due_modal(item: ItemLike, initial: str, problem: str = "") -> dict[str, object]:
    """A modal with Slack's date picker; submitted as DUE_CALLBACK, the item id in
    private_metadata."""
    blocks: list[Block] = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*{item.id}*: {escape(item.text, limit=200)}"},
        },
        {
            "type": "input",
            "block_id": DUE_BLOCK,
            "label": {"type": "plain_text", "text": "Due on"},
            "element": {"type": "datepicker", "action_id": DUE_DATE, "initial_date": initial},
        },
    ]
    return {
        "type": "modal",
        "callback_id": DUE_CALLBACK,
        "private_metadata": item.id,
        "title": {"type": "plain_text", "text": "Set a due date"},
        "submit": {"type": "plain_text", "text": "Set"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def item_buttons(item_id: str, *, undated: bool = False) -> Block:
    return {
        "type": "actions",
        "block_id": f"{BLOCK_PREFIX}{item_id}",
        "elements": [
            *([due_button(item_id)] if undated else []),
            {
                "type": "button",
                "action_id": DONE_ACTION,
                "text": {"type": "plain_text", "text": "Done"},
                "style": "primary",
                "value": item_id,
            },
            {
                "type": "button",
                "action_id": SNOOZE_ACTION,
                "text": {"type": "plain_text", "text": "Snooze 1 day"},
                "value": item_id,
            },
        ],
    }


def reminder_blocks(item: ItemLike, kind: object, text: str) -> list[Block]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        item_buttons(item.id, undated=item.due is None),
    ]


def home_view(
    items: Sequence[ItemLike], incidents: Sequence[IncidentLike], now: datetime
) -> dict[str, object]:
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Your action items"}}
    ]
    open_items = [i for i in items if i.is_open]
    if not open_items:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": "Nothing open. :tada:"}}
        )
    for item in open_items[:40]:
        due = f" · {NO_DUE_DATE}"
        if item.due is not None:
            late = " :warning: overdue" if item.due <= now else ""
            due = f" · due {when(item.due)}{late}"
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"*{item.id}* ({item.incident_id}){due}\n{escape(item.text)}",
                },
            }
        )
        blocks.append(item_buttons(item.id, undated=item.due is None))
    blocks.append({"type": "divider"})
    blocks.append({"type": "header", "text": {"type": "plain_text", "text": "Your open incidents"}})
    lines = [f"• *{inc.id}* <#{inc.channel_id}> {escape(inc.title)}" for inc in incidents]
    blocks.append(
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "\n".join(lines) or "None right now."},
        }
    )
    return {"type": "home", "blocks": blocks[:100]}
