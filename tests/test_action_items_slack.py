"""Action items through Slack: the command, the reminder's Done/Snooze buttons as signed
block_actions, and the App Home tab."""

from __future__ import annotations

import json

from bot.actions.models import ItemStatus
from tests.conftest import Harness

ALICE, BOB, CHARLIE = "U0ALICE", "U0BOB", "U0CHARLIE"


async def add_item(h: Harness, channel: str, text: str = "Add DB pool alert at 80%") -> str:
    reply = await h.driver.command(
        f"action add <@{BOB}> {text} due:3d priority:P1 type:detect",
        user=ALICE,
        channel=channel,
    )
    assert "AI-" in reply.text, reply.text
    [item_id] = [w.strip("*") for w in reply.text.split() if w.strip("*").startswith("AI-")][:1]
    return item_id


async def test_done_button_from_a_reminder_closes_the_item_once(harness: Harness) -> None:
    channel = await harness.declare(user=ALICE)
    item_id = await add_item(harness, channel)
    replies = [
        await harness.driver.click(
            "action_item_done", item_id, user=BOB, channel="D0BOB", message_ts="1700000000.000100"
        )
        for _ in range(2)  # a double click on the same message
    ]
    item = await harness.bot.services.actions.get(item_id)
    assert item.status is ItemStatus.DONE
    assert f"*{item_id}* is done" in replies[0].text
    assert replies[1].text == ""
    events = [
        e
        for e in await harness.store.timeline(
            (await harness.bot.services.incidents.for_channel(channel)).id
        )  # type: ignore[union-attr]
        if e.event.kind.value == "action_item"
    ]
    assert [e.event.data["action"] for e in events] == ["added", "done"]


async def test_someone_else_cannot_finish_your_item(harness: Harness) -> None:
    channel = await harness.declare(user=ALICE)
    item_id = await add_item(harness, channel)
    reply = await harness.driver.click(
        "action_item_done", item_id, user=CHARLIE, channel=channel, message_ts="1700000000.000200"
    )
    assert reply.ephemeral and "Only the owner" in reply.text, reply.text
    item = await harness.bot.services.actions.get(item_id)
    assert item.status is not ItemStatus.DONE


async def test_snooze_button_moves_the_next_reminder(harness: Harness) -> None:
    channel = await harness.declare(user=ALICE)
    item_id = await add_item(harness, channel)
    await harness.driver.click(
        "action_item_snooze", item_id, user=BOB, channel="D0BOB", message_ts="1700000000.000300"
    )
    item = await harness.bot.services.actions.get(item_id)
    assert item.snoozed_until is not None
    assert item.next_reminder_at is not None and item.next_reminder_at >= item.snoozed_until


async def test_app_home_lists_my_open_items_and_incidents(harness: Harness) -> None:
    channel = await harness.declare(user=ALICE)
    item_id = await add_item(harness, channel)
    await harness.driver.event(
        {
            "type": "app_home_opened",
            "user": BOB,
            "tab": "home",
            "channel": "D0BOB",
            "event_ts": "1700000000.000400",
        }
    )
    home = harness.slack.published_views()[BOB]
    text = json.dumps(home.view)
    assert item_id in text and "Add DB pool alert at 80%" in text
    assert "action_item_done" in text and "action_item_snooze" in text


async def test_action_commands_say_when_action_items_are_not_set_up(harness: Harness) -> None:
    channel = await harness.declare(user=ALICE)
    harness.bot.services.actions = None
    for text in ("action", "action list mine", "action done AI-0001", "ai add <@U0BOB> x"):
        reply = await harness.driver.command(text, user=ALICE, channel=channel)
        assert reply.text == ":warning: Action items are not set up on this bot.", text


async def test_action_mistakes_show_every_action_form(harness: Harness) -> None:
    channel = await harness.declare(user=ALICE)
    reply = await harness.driver.command("action frobnicate", user=ALICE, channel=channel)
    assert reply.text.startswith(":warning: `action frobnicate` is not understood.")
    for form in ("add <@owner> <text>", "list [mine|overdue|all]", "snooze <id> [for:3d]"):
        assert f"`/incident action {form}" in reply.text
    help_text = (await harness.driver.command("help", user=ALICE, channel=channel)).text
    assert "`/incident action add|list|done|snooze|due|reassign …`" in help_text
