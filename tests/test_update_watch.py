"""The worker's update cadence and nudges, with a clock the test moves: real Redis, the Slack
emulator, commands and buttons as signed requests, and two workers scanning at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import ManualClock
from bot.incidents.models import Incident, Status
from bot.updates.install import build_watch
from bot.updates.watch import IncidentWatch
from bot.workweek import add_business_days
from sandbox.slack_emulator import Message, SlackEmulator
from tests.conftest import Harness, make_settings, running_bot

ALICE, BOB, CHARLIE, DIANA = "U0ALICE", "U0BOB", "U0CHARLIE", "U0DIANA"


@pytest.fixture
async def h(slack: SlackEmulator, redis_url: str, clock: ManualClock) -> AsyncIterator[Harness]:
    async with running_bot(slack, redis_url, clock=clock) as harness:
        yield harness


@pytest.fixture
async def worker(
    slack: SlackEmulator, redis_url: str, clock: ManualClock
) -> AsyncIterator[IncidentWatch]:
    watch = build_watch(make_settings(slack, redis_url), clock=clock)
    yield watch
    await watch.store.aclose()


def dms(h: Harness, user: str) -> list[Message]:
    ims = [c for c in h.slack.channels() if c.is_im and c.im_user == user]
    return [m for c in ims for m in h.slack.messages(c.id)]


def buttons(message: Message) -> list[str]:
    return [
        e["action_id"]
        for b in message.blocks
        if b["type"] == "actions"
        for e in b["elements"]
    ]


async def incident_of(h: Harness, channel: str) -> Incident:
    incident = await h.bot.services.incidents.for_channel(channel)
    assert incident is not None
    return incident


async def test_cadence_due_then_overdue_once_each_and_resolve_silences_it(
    h: Harness, worker: IncidentWatch, clock: ManualClock
) -> None:
    channel = await h.declare("Checkout API returning 500s sev:1", user=ALICE)
    incident = await incident_of(h, channel)
    await h.driver.command(f"role comms <@{BOB}>", user=ALICE, channel=channel)

    def prompts() -> list[Message]:
        return [m for m in dms(h, BOB) if "status update for" in m.text]

    def overdue_posts() -> list[Message]:
        return [m for m in h.slack.messages(channel) if "is 15m 0s late" in m.text
                or "late. " in m.text]

    clock.advance(timedelta(minutes=29))
    assert (await worker.scan()).sent == []
    clock.advance(timedelta(minutes=1))  # SEV1: due 30 minutes after the declaration
    await worker.scan()
    [prompt] = prompts()
    assert buttons(prompt) == ["open_update_modal"] and "Comms lead" in prompt.text
    clock.advance(timedelta(minutes=5))
    await worker.scan()
    assert len(prompts()) == 1 and overdue_posts() == []
    clock.advance(timedelta(minutes=10))  # 15 minutes overdue
    await worker.scan()
    await worker.scan()
    [late] = overdue_posts()
    assert f"<@{BOB}>" in late.text
    assert len(prompts()) == 1

    # the prompt's button opens the update form; the update moves the next slot
    await h.driver.click("open_update_modal", incident.id, user=BOB, channel=BOB,
                         message_ts=prompt.ts)
    assert [v.view["callback_id"] for v in h.slack.views()] == ["post_status_update"]
    await h.driver.command("update Rolled back; errors falling", user=BOB, channel=channel)
    stored = await h.store.get_incident(incident.id)
    assert stored.next_update_due == clock() + timedelta(minutes=30)
    clock.advance(timedelta(minutes=30))
    await worker.scan()
    assert len(prompts()) == 2  # the next slot

    await h.driver.command("resolve", user=ALICE, channel=channel)
    posted = len(h.slack.calls("chat.postMessage"))
    for _ in range(4):
        clock.advance(timedelta(minutes=30))
        assert (await worker.scan()).sent == []
    assert len(h.slack.calls("chat.postMessage")) == posted


async def test_without_comms_the_ic_is_prompted_and_cadence_off_stops_it(
    h: Harness, worker: IncidentWatch, clock: ManualClock
) -> None:
    first = await h.declare("Payments timing out sev:2", user=CHARLIE)
    second = await h.declare("Search returning stale results sev:2", user=DIANA)
    await h.driver.command("cadence off", user=DIANA, channel=second)
    clock.advance(timedelta(minutes=60))
    await worker.scan()
    assert len([m for m in dms(h, CHARLIE) if "status update for" in m.text]) == 1
    assert [m for m in dms(h, DIANA) if "status update for" in m.text] == []
    assert (await incident_of(h, first)).id in dms(h, CHARLIE)[-1].text


async def test_a_failed_prompt_is_sent_at_the_next_scan_not_lost(
    h: Harness, worker: IncidentWatch, clock: ManualClock
) -> None:
    await h.declare("Checkout API returning 500s sev:1", user=ALICE)
    clock.advance(timedelta(minutes=30))
    h.slack.fail("chat.postMessage", error="channel_not_found", times=1)
    result = await worker.scan()
    assert result.sent == [] and len(result.failed) == 1
    result = await worker.scan()
    assert len(result.sent) == 1
    assert len([m for m in dms(h, ALICE) if "status update for" in m.text]) == 1


async def test_two_workers_at_once_send_each_nudge_once(
    h: Harness, worker: IncidentWatch, slack: SlackEmulator, redis_url: str, clock: ManualClock
) -> None:
    stale = await h.declare("Checkout API returning 500s sev:1", user=ALICE)
    clock.advance(timedelta(minutes=5))
    needs_pm = await h.declare("Payments queue backing up sev:2", user=BOB)
    await h.driver.command("resolve Drained the queue", user=BOB, channel=needs_pm)
    clock.advance(timedelta(minutes=1))
    minor = await h.declare("Typo on the status page sev:3", user=CHARLIE)
    await h.driver.command("resolve", user=CHARLIE, channel=minor)
    clock.advance(timedelta(days=8))  # past every condition

    other = build_watch(make_settings(slack, redis_url), clock=clock)
    try:
        results = await asyncio.gather(worker.scan(), other.scan(), worker.scan(), other.scan())
    finally:
        await other.store.aclose()
    sent = [name for r in results for name in r.sent]
    assert len(sent) == len(set(sent)) == 7, sent
    kinds = sorted(name.split(":")[0] for name in sent)
    assert kinds == ["close-due", "close-due", "postmortem-due", "postmortem-due", "stale",
                     "update-due", "update-overdue"]
    alice = [m for m in dms(h, ALICE)]
    assert len([m for m in alice if "status update for" in m.text]) == 1
    [ask] = [m for m in alice if "still active" in m.text.lower()]
    assert buttons(ask) == ["resolve_incident", "nudge_still_active"]
    assert len([m for m in h.slack.messages(stale) if "late." in m.text]) == 1
    bob = dms(h, BOB)
    [pm] = [m for m in bob if "no postmortem yet" in m.text]
    assert buttons(pm) == ["nudge_draft_postmortem"]
    [close] = [m for m in bob if "still not closed" in m.text]
    assert buttons(close) == ["nudge_close_incident"]
    assert len([m for m in h.slack.messages(needs_pm) if "postmortem of" in m.text]) == 1
    assert len([m for m in dms(h, CHARLIE) if "still not closed" in m.text]) == 1
    assert not [m for m in dms(h, CHARLIE) if "no postmortem yet" in m.text]  # SEV3: none due

    # a restarted worker finds every one sent
    again = build_watch(make_settings(slack, redis_url), clock=clock)
    try:
        assert (await again.scan()).sent == []
    finally:
        await again.store.aclose()


async def test_the_nudges_buttons_do_the_fix(
    h: Harness, worker: IncidentWatch, clock: ManualClock
) -> None:
    active = await h.declare("Checkout API returning 500s sev:3", user=ALICE)
    done = await h.declare("Payments queue backing up sev:2", user=BOB)
    await h.driver.command("resolve Drained", user=BOB, channel=done)
    clock.advance(timedelta(days=8))
    await worker.scan()
    incident = await incident_of(h, active)
    resolved = await incident_of(h, done)

    # Still active: a note on the timeline, so the stale question waits for new silence
    [ask] = [m for m in dms(h, ALICE) if "still active" in m.text.lower()]
    reply = await h.driver.click("nudge_still_active", incident.id, user=ALICE, channel=ALICE,
                                 message_ts=ask.ts)
    assert "still active" in reply.text
    notes = [e for e in await h.store.timeline(incident.id) if "Still active" in e.event.text]
    assert len(notes) == 1 and notes[0].is_key
    assert (await worker.scan()).sent == []
    clock.advance(timedelta(hours=2))
    assert [n.split(":")[0] for n in (await worker.scan()).sent] == ["stale"]

    # Close incident: only the IC may; then it is closed
    [close] = [m for m in dms(h, BOB) if "still not closed" in m.text]
    refused = await h.driver.click("nudge_close_incident", resolved.id, user=DIANA,
                                   channel=BOB, message_ts=close.ts)
    assert "Only the incident commander" in refused.text, refused.text
    assert (await h.store.get_incident(resolved.id)).status is Status.RESOLVED
    await h.driver.click("nudge_close_incident", resolved.id, user=BOB, channel=BOB,
                         message_ts=close.ts)
    assert (await h.store.get_incident(resolved.id)).status is Status.CLOSED

    # Draft postmortem: drafted and kept
    [pm] = [m for m in dms(h, BOB) if "no postmortem yet" in m.text]
    reply = await h.driver.click("nudge_draft_postmortem", resolved.id, user=BOB, channel=BOB,
                                 message_ts=pm.ts)
    assert "Postmortem draft v1" in reply.text, reply.text
    assert await h.store.postmortems.latest(resolved.id) is not None


def test_business_days_skip_the_weekend_in_the_ic_time_zone() -> None:
    friday_evening_ny = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)  # Fri 17:00 in New York
    assert add_business_days(friday_evening_ny, 2, "America/New_York") == datetime(
        2026, 12, 1, 22, 0, tzinfo=UTC
    )  # Tuesday 17:00 there
    # the same instant is already Saturday 07:00 in Tokyo: Monday 07:00 there is the first
    assert add_business_days(friday_evening_ny, 1, "Asia/Tokyo") == datetime(
        2026, 11, 29, 22, 0, tzinfo=UTC
    )
    assert add_business_days(friday_evening_ny, 2, "Asia/Tokyo") == datetime(
        2026, 11, 30, 22, 0, tzinfo=UTC
    )
    monday = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    assert add_business_days(monday, 2, "Nowhere/Unknown") == monday + timedelta(days=2)
    assert add_business_days(monday, 0, "UTC") == monday


async def test_app_home_shows_my_roles_with_the_next_update_and_what_i_follow(
    h: Harness, clock: ManualClock
) -> None:
    leading = await h.declare("Checkout API returning 500s sev:1", user=ALICE)
    quiet = await h.declare("Typo on the status page sev:4", user=ALICE)
    followed = await h.declare("Payments queue backing up sev:2", user=BOB)
    await h.driver.command("subscribe", user=ALICE, channel=followed)
    lead, low, other = [await incident_of(h, c) for c in (leading, quiet, followed)]
    clock.advance(timedelta(minutes=40))  # SEV1's first update is 10 minutes overdue
    await h.driver.event(
        {"type": "app_home_opened", "user": ALICE, "tab": "home", "channel": "D0ALICE",
         "event_ts": "1700000000.000500"}
    )
    blocks = h.slack.published_views()[ALICE].view["blocks"]
    texts = [b.get("text", {}).get("text", "") for b in blocks]
    [row] = [t for t in texts if lead.id in t and "Incident Commander" in t]
    due = int((lead.declared_at + timedelta(minutes=30)).timestamp())
    assert "Incident Commander" in row and f"overdue since <!date^{due}^" in row
    [low_row] = [t for t in texts if low.id in t and "Incident Commander" in t]
    assert "no update cadence" in low_row
    follow_header = texts.index("Incidents you follow")
    assert any(other.id in t for t in texts[follow_header:])
    assert not any(other.id in t for t in texts[:follow_header])  # Alice holds no role there
    assert [b["accessory"]["action_id"] for b in blocks if "accessory" in b][:2] == [
        "open_update_modal", "open_update_modal"
    ]
