"""Action items without a due date: nudged every UNDATED_REMINDER in the owner's working
hours until done, with a "Set due date" button opening a date modal (the same change as
`/incident action due`); `/incident action list` marks them. Through the real bot, the
Slack emulator, real Redis and the worker's scan job, with a ManualClock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import generate_latest

from bot.actions.models import ActionItem, ActionSettings, ReminderKind
from bot.actions.reminders import ReminderScanner
from bot.clock import ManualClock
from bot.observability import WorkerMetrics
from bot.slack.action_blocks import DUE_BLOCK, DUE_CALLBACK, DUE_DATE, SET_DUE_ACTION
from bot.wiring import build_scanner
from bot.worker import scan_job
from sandbox.slack_emulator import SlackEmulator
from tests.conftest import Harness, make_settings, running_bot
from tests.processes import metric_value

ALICE, BOB, CHARLIE = "U0ALICE", "U0BOB", "U0CHARLIE"  # New York, London, Tokyo
START = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def manual_clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def bot(
    slack: SlackEmulator, redis_url: str, manual_clock: ManualClock
) -> AsyncIterator[Harness]:
    async with running_bot(slack, redis_url, clock=manual_clock, undated_reminder="7d") as h:
        yield h


def scanner_for(
    h: Harness, slack: SlackEmulator, redis_url: str, clock: ManualClock
) -> ReminderScanner:
    settings = make_settings(slack, redis_url, undated_reminder="7d")
    return build_scanner(settings, clock=clock)


async def add_undated(h: Harness, channel: str, owner: str, text: str) -> str:
    reply = await h.driver.command(f"action add <@{owner}> {text}", user=ALICE, channel=channel)
    return next(w.strip("*") for w in reply.text.split() if w.strip("*").startswith("AI-"))


def dms(slack: SlackEmulator, user: str) -> list[str]:
    channel = next((c.id for c in slack.channels() if c.is_im and c.im_user == user), None)
    return [m.text for m in slack.messages(channel)] if channel else []


async def test_undated_items_are_nudged_weekly_in_working_hours_until_they_get_a_date(
    bot: Harness, slack: SlackEmulator, redis_url: str, manual_clock: ManualClock
) -> None:
    channel = await bot.declare(user=ALICE)
    bobs = await add_undated(bot, channel, BOB, "Write the failover runbook")
    charlies = await add_undated(bot, channel, CHARLIE, "Load-test the queue consumers")
    listing = await bot.driver.command("action list", user=ALICE, channel=channel)
    assert listing.text.count("no due date") == 2, listing.text

    scanner = scanner_for(bot, slack, redis_url, manual_clock)
    try:
        assert (await scanner.scan()).sent == []  # nothing before a week has passed
        manual_clock.set(START + timedelta(days=7))  # Monday 14:00 UTC
        result = await scanner.scan()
        # London is at work; Tokyo (23:00) is not: Charlie's nudge waits for his morning
        assert result.sent == [(bobs, "g0:undated:1")]
        assert result.deferred == [charlies]
        assert "has no due date yet" in dms(slack, BOB)[-1]
        dm = next(c for c in slack.channels() if c.is_im and c.im_user == BOB)
        button = slack.messages(dm.id)[-1].blocks[-1]["elements"][0]
        assert button["action_id"] == SET_DUE_ACTION and button["value"] == bobs

        manual_clock.set(datetime(2026, 12, 1, 0, 0, tzinfo=UTC))  # Tuesday 09:00 in Tokyo
        assert (await scanner.scan()).sent == [(charlies, "g0:undated:1")]
        manual_clock.advance(timedelta(days=3))
        assert (await scanner.scan()).sent == []  # weekly, not daily

        # Bob clicks "Set due date": a modal with a date picker, a week out to start with
        await bot.driver.click(
            SET_DUE_ACTION, bobs, user=BOB, channel=dm.id, message_ts=slack.messages(dm.id)[-1].ts
        )
        modal = slack.views()[-1]
        assert modal.view["callback_id"] == DUE_CALLBACK and modal.view["private_metadata"] == bobs
        picker = modal.view["blocks"][-1]["element"]
        assert picker["type"] == "datepicker"
        assert picker["initial_date"] == (manual_clock() + timedelta(days=7)).date().isoformat()

        def picked(day: str) -> dict[str, dict[str, object]]:
            return {DUE_BLOCK: {DUE_DATE: {"type": "datepicker", "selected_date": day}}}

        # a day in the past is refused on the field, and nothing changes
        status, answer = await bot.driver.submit_view(
            DUE_CALLBACK, picked("2026-11-01"), user=BOB, private_metadata=bobs
        )
        assert status == 200 and "is in the past" in answer, answer
        assert (await bot.bot.services.actions.get(bobs)).due is None
        # a good day: the item has a date and the reminder cycle starts over
        await bot.driver.submit_view(
            DUE_CALLBACK, picked("2026-12-10"), user=BOB, private_metadata=bobs
        )
        assert f"*{bobs}* is due" in dms(slack, BOB)[-1]
        item = await bot.bot.services.actions.get(bobs)
        assert item.due == datetime(2026, 12, 10, 23, 59, tzinfo=UTC)
        assert item.next_reminder_at == item.due - timedelta(hours=24)

        # a week after Charlie's first nudge, the second one; then done: no more
        manual_clock.set(datetime(2026, 12, 8, 0, 0, tzinfo=UTC))
        assert (await scanner.scan()).sent == [(charlies, "g0:undated:2")]
        await bot.driver.command(f"action done {charlies}", user=CHARLIE, channel=channel)
        manual_clock.advance(timedelta(days=14))
        sent = (await scanner.scan()).sent
        assert [s for s in sent if s[0] == charlies] == []
        charlie_item = await bot.bot.services.actions.get(charlies)
        kinds = [r.kind for r in charlie_item.reminders_sent]
        assert kinds == [ReminderKind.UNDATED, ReminderKind.UNDATED]
        listing = await bot.driver.command("action list", user=ALICE, channel=channel)
        assert "no due date" not in listing.text, listing.text
    finally:
        await scanner.items.aclose()


async def test_due_command_gives_a_date_and_refuses_bad_ones(bot: Harness) -> None:
    channel = await bot.declare(user=ALICE)
    item_id = await add_undated(bot, channel, BOB, "Add a queue depth alert")
    for bad, says in (
        (f"action due {item_id} someday", "is not a date"),
        (f"action due {item_id} 2020-01-01", "is in the past"),
        (f"action due {item_id}", "Give the item id and the date"),
        ("action due AI-9999 3d", "no action item"),
    ):
        reply = await bot.driver.command(bad, user=BOB, channel=channel)
        assert reply.ephemeral and says in reply.text, (bad, reply.text)
    assert (await bot.bot.services.actions.get(item_id)).due is None
    reply = await bot.driver.command(f"action due {item_id} 3d", user=CHARLIE, channel=channel)
    assert "Only the owner" in reply.text
    reply = await bot.driver.command(f"action due {item_id} 3d", user=BOB, channel=channel)
    assert f"*{item_id}* is due" in reply.text
    assert (await bot.bot.services.actions.get(item_id)).due == START + timedelta(days=3)


@pytest.mark.parametrize(
    ("week", "held_until"),
    [
        ("mon-fri", None),  # Friday afternoon is a working afternoon: the nudge goes out
        ("sun-thu", datetime(2026, 11, 29, 9, 0, tzinfo=UTC)),  # waits for Sunday 09:00
    ],
)
async def test_undated_nudges_keep_the_teams_working_week(
    slack: SlackEmulator, redis_url: str, week: str, held_until: datetime | None
) -> None:
    """REMINDER_WORK_DAYS drives the weekly nudges of undated items too, in the owner's
    zone (Bob, London)."""
    friday = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)  # 14:00 in London
    clock = ManualClock(friday)
    async with running_bot(slack, redis_url, clock=clock, reminder_work_days=week) as h:
        channel = await h.declare(user=ALICE)
        item_id = await add_undated(h, channel, BOB, "Write the failover runbook")
        scanner = build_scanner(
            make_settings(slack, redis_url, undated_reminder="7d", reminder_work_days=week),
            clock=clock,
        )
        try:
            clock.set(friday + timedelta(days=7))  # the weekly nudge is due, on a Friday
            result = await scanner.scan()
            if held_until is not None:
                assert result.sent == [] and result.deferred == [item_id]
                assert (await scanner.items.get(item_id)).next_reminder_at == held_until
                assert dms(slack, BOB) == []
                clock.set(held_until - timedelta(minutes=1))
                assert (await scanner.scan()).sent == []
                clock.set(held_until)
                result = await scanner.scan()
            assert result.sent == [(item_id, "g0:undated:1")]
            assert "has no due date yet" in dms(slack, BOB)[-1]
        finally:
            await scanner.items.aclose()


def test_undated_reminder_setting_is_read_and_checked() -> None:
    assert ActionSettings.from_settings(object()).undated_every == timedelta(days=7)

    class Configured:
        undated_reminder = "2w"

    assert ActionSettings.from_settings(Configured()).undated_every == timedelta(weeks=2)


async def test_undated_items_stored_before_this_feature_are_put_on_the_schedule(
    bot: Harness, slack: SlackEmulator, redis_url: str, manual_clock: ManualClock
) -> None:
    channel = await bot.declare(user=ALICE)
    item_id = await add_undated(bot, channel, BOB, "Document the retry budget")
    scanner = scanner_for(bot, slack, redis_url, manual_clock)
    try:

        def unschedule(it: ActionItem) -> None:
            it.next_reminder_at = None  # as an older version stored it

        await scanner.items.update(item_id, unschedule)
        assert await scanner.items.due_ids(START + timedelta(days=30), 10) == []
        assert await scanner.schedule_undated() == 1
        assert await scanner.schedule_undated() == 0
        item = await scanner.items.get(item_id)
        assert item.next_reminder_at == START + timedelta(days=7)
    finally:
        await scanner.items.aclose()


async def test_the_workers_slack_errors_and_429s_are_on_its_metrics(
    bot: Harness, slack: SlackEmulator, redis_url: str, manual_clock: ManualClock
) -> None:
    channel = await bot.declare(user=ALICE)
    first = await add_undated(bot, channel, BOB, "Rotate the queue credentials")
    second = await add_undated(bot, channel, BOB, "Alert on consumer lag")
    scanner = scanner_for(bot, slack, redis_url, manual_clock)
    metrics = WorkerMetrics()
    metrics.watch_gateway(scanner.chat)
    try:
        manual_clock.set(START + timedelta(days=7))
        slack.fail("chat.postMessage", "ratelimited", retry_after=1, times=1)  # retried
        slack.fail("chat.postMessage", "msg_blocks_too_long", times=1)  # not retried
        await scan_job(scanner, metrics)
        text = generate_latest(metrics.registry).decode()
        assert (
            metric_value(text, "incident_bot_slack_rate_limited_total", method="chat.postMessage")
            == 1
        )
        errors = metric_value(
            text,
            "incident_bot_slack_api_errors_total",
            method="chat.postMessage",
            error="msg_blocks_too_long",
        )
        assert errors == 1
        assert metric_value(text, "incident_bot_reminder_failures_total", kind="undated") == 1
        assert metric_value(text, "incident_bot_reminders_sent_total", kind="undated") == 1
        # one item was nudged; the refused one is still due and goes out at the next scan
        await scan_job(scanner, metrics)
        for item_id in (first, second):
            assert len((await scanner.items.get(item_id)).reminders_sent) == 1
    finally:
        await scanner.items.aclose()
