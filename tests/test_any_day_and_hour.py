"""The bot's real processes on a Saturday night, on purpose rather than by luck of the
calendar: the worker and the local demo run under Debian's libfaketime (tests/faketime.py)
at the last Saturday 23:30 of a host far from UTC, with people in London, Tokyo and New York.

The rest of the suite pins its clocks (ManualClock, fixed dates) or runs the bot's processes
on a pinned fake clock, so it passes whatever the day, hour and host zone."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis as sync_redis

from bot.actions.models import ActionItem
from bot.store.connection import Db, connect
from bot.store.redis_store import RedisStore
from sandbox.slack_emulator import SlackEmulator
from tests.conftest import BOT_TOKEN, free_port, redis_db_url
from tests.faketime import SATURDAY, FakeTime, last
from tests.processes import ROOT, BotProcess

REDIS_URL = redis_db_url(11)
DEMO_REDIS_URL = redis_db_url(13)
ALICE, BOB, CHARLIE = "U0ALICE", "U0BOB", "U0CHARLIE"  # New York, London, Tokyo
ZONES = {ALICE: "America/New_York", BOB: "Europe/London", CHARLIE: "Asia/Tokyo"}
# Saturday 23:30 in Kiritimati (UTC+14, no daylight saving) is Saturday 09:30 UTC: Saturday
# morning in London, Saturday evening in Tokyo, Saturday night in New York
HOST = "Pacific/Kiritimati"
MONDAY = 0


@pytest.fixture
async def store() -> AsyncIterator[RedisStore]:
    client = sync_redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    s = RedisStore(Db(connect(REDIS_URL)))
    try:
        yield s
    finally:
        await s.aclose()
        client.flushdb()


def local(at: datetime, user: str) -> datetime:
    return at.astimezone(ZoneInfo(ZONES[user]))


async def add_items(store: RedisStore, now: datetime, first: int, *, undated: str) -> None:
    """One overdue item per person, and one undated item (its weekly nudge due) for `undated`."""
    for n, owner in enumerate((ALICE, BOB, CHARLIE), start=first):
        await store.actions.create(
            ActionItem(
                id=f"AI-{n:04d}", incident_id="INC-20261128-0001", text=f"Fix thing {n}",
                owner=owner, created_by=ALICE, created_at=now - timedelta(days=3),
                due=now - timedelta(days=1), next_reminder_at=now - timedelta(minutes=1),
            )
        )
    await store.actions.create(
        ActionItem(
            id=f"AI-{first + 3:04d}", incident_id="INC-20261128-0001", text="Write it down",
            owner=undated, created_by=ALICE, created_at=now - timedelta(days=8),
            next_reminder_at=now - timedelta(minutes=1),
        )
    )


def dms_naming(slack: SlackEmulator, item_id: str) -> list[str]:
    return [
        str(c.args.get("channel"))
        for c in slack.calls("chat.postMessage")
        if c.response.get("ok") and item_id in str(c.args.get("text", ""))
    ]


async def worker_until_settled(
    slack: SlackEmulator, store: RedisStore, clock: FakeTime, tmp_path: Path,
    ids: list[str], **env: str,
) -> dict[str, ActionItem]:
    """A worker on the fake clock until each item was either sent or held for later."""
    port = free_port()
    worker = BotProcess(
        "worker",
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": slack.api_url,
            "REDIS_URL": REDIS_URL, "WORKER_PORT": str(port),
            "REMINDER_SCAN_INTERVAL": "0.2", **clock.env(), **env,
        },
        port,
        tmp_path,
    ).start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while True:
            items = {i: await store.actions.get(i) for i in ids}
            if all(it.reminders_sent or (it.next_reminder_at or clock.now()) > clock.now()
                   for it in items.values()):
                return items
            assert worker.proc is not None and worker.proc.poll() is None, worker.log
            assert loop.time() < deadline, f"the worker never got to {ids}:\n{worker.log}"
            await asyncio.sleep(0.2)
    finally:
        worker.stop()


async def test_a_worker_on_a_saturday_night_holds_reminders_for_each_persons_work_days(
    slack: SlackEmulator, store: RedisStore, tmp_path: Path
) -> None:
    saturday = last(SATURDAY, time(23, 30), HOST)
    clock = FakeTime(saturday)
    assert local(saturday, BOB).weekday() == SATURDAY
    ids = [f"AI-{n:04d}" for n in range(1, 5)]
    await add_items(store, clock.now(), 1, undated=BOB)

    # Monday to Friday (the default): everyone's reminder waits for their own Monday 09:00,
    # the undated item's weekly nudge too
    items = await worker_until_settled(slack, store, clock, tmp_path, ids, TZ=HOST)
    for item in items.values():
        assert not item.reminders_sent, item
        assert item.next_reminder_at is not None
        held = local(item.next_reminder_at, item.owner)
        assert (held.weekday(), held.time()) == (MONDAY, time(9)), (item.id, held)
        assert held - local(saturday, item.owner) < timedelta(days=3)
    assert all(dms_naming(slack, i) == [] for i in ids)

    # a team that works Saturdays (REMINDER_WORK_DAYS=mon,tue,wed,thu,sat), on a host in
    # another zone: bob's Saturday morning is a working morning and he hears now; alice's
    # New York night waits for her Saturday 09:00; charlie's Tokyo evening is past working
    # hours and Sunday is off, so his waits for Monday 09:00
    ids = [f"AI-{n:04d}" for n in range(5, 9)]
    await add_items(store, clock.now(), 5, undated=ALICE)
    items = await worker_until_settled(
        slack, store, clock, tmp_path, ids,
        TZ="America/Adak", REMINDER_WORK_DAYS="mon,tue,wed,thu,sat",
    )
    bob, alice, charlie, undated = items["AI-0006"], items["AI-0005"], items["AI-0007"], items[
        "AI-0008"
    ]
    assert dms_naming(slack, bob.id) == [BOB] and bob.reminders_sent
    for held_item, day in ((alice, SATURDAY), (undated, SATURDAY), (charlie, MONDAY)):
        assert not held_item.reminders_sent and held_item.next_reminder_at is not None
        held = local(held_item.next_reminder_at, held_item.owner)
        assert (held.weekday(), held.time()) == (day, time(9)), (held_item.id, held)
        assert dms_naming(slack, held_item.id) == []


def test_the_demo_plays_on_a_saturday_night_far_from_utc(tmp_path: Path) -> None:
    """`make run` in Adak (UTC-10) on Saturday 23:30: Sunday morning in UTC."""
    clock = FakeTime(last(SATURDAY, time(23, 30), "America/Adak"))
    script = (
        "import asyncio, sys; from sandbox.demo import run_demo; "
        "sys.exit(asyncio.run(run_demo(out_dir=sys.argv[1], redis_url=sys.argv[2])))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path), DEMO_REDIS_URL],
        cwd=ROOT, env={**env, **clock.env("America/Adak")},
        capture_output=True, text=True, timeout=120, check=False,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "Resolved" in out and "### DM with @bob" in out
    dm_bob = out.split("### DM with @bob", 1)[1].split("###", 1)[0]
    assert "AI-0001" in dm_bob  # the reminder still reached bob, on his next working day
    [postmortem] = tmp_path.glob("postmortem-INC-*.md")
    # the demo's incident was declared on the fake Saturday, in UTC
    declared = datetime.strptime(postmortem.name[len("postmortem-INC-"):][:8], "%Y%m%d")
    assert declared.date() == clock.at.astimezone(UTC).date()
