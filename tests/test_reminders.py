"""Reminders against real Redis (db 5) and the real APScheduler; the chat is an in-memory
stand-in with SlackGateway's surface (the Web API emulator was not in the tree yet).
Time moves with a ManualClock, never by sleeping (except a real claim TTL expiring)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.actions.models import ActionSettings, ReminderKind
from bot.actions.reminders import ReminderScanner
from bot.actions.service import ActionItemService
from bot.actions.store import ActionItemStore
from bot.clock import ManualClock
from bot.incidents.access import IncidentAccess
from bot.incidents.models import Incident, Role
from bot.ports import ChatUser
from bot.slack.action_blocks import reminder_blocks
from bot.store import keys
from bot.store.redis_store import RedisStore, connect
from bot.worker import build_scheduler
from tests.conftest import redis_db_url
from tests.fakes import FakeChat

REDIS_URL = redis_db_url(5)
# Monday 2026-11-23 14:00 UTC
START = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
USERS = {
    "UALICE": "Europe/Berlin",  # 15:00 local at START
    "UBOB": "America/Los_Angeles",  # 06:00 local at START
    "UCHARLIE": "UTC",
    "UDIANA": "Asia/Tokyo",
}


class Recorder:
    """Records only what the chat accepted (a failed send is not recorded)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.sent: list[tuple[str, str]] = []
        self.delay = 0.0

    async def user(self, user_id: str) -> ChatUser:
        result: ChatUser = await self.inner.user(user_id)
        return result

    async def post(self, channel_id: str, text: str) -> str:
        await asyncio.sleep(self.delay)
        ts: str = await self.inner.post(channel_id, text)
        self.sent.append((channel_id, text))
        return ts

    async def post_blocks(self, channel_id: str, text: str, blocks: list[dict[str, object]]) -> str:
        await asyncio.sleep(self.delay)
        ts: str = await self.inner.post_blocks(channel_id, text, blocks)
        self.sent.append((channel_id, text))
        return ts

    async def direct_message(self, user_id: str, text: str) -> None:
        await asyncio.sleep(self.delay)
        await self.inner.direct_message(user_id, text)
        self.sent.append((user_id, text))

    def to(self, who: str) -> list[str]:
        return [t for w, t in self.sent if w == who]


class World:
    def __init__(self, redis: Any, chat: Recorder, raw: Any) -> None:
        self.redis = redis
        self.chat = chat
        self.raw = raw
        self.clock = ManualClock(START)
        self.cfg = ActionSettings(escalate_after=2)
        self.store = RedisStore(redis)
        self.items = ActionItemStore(redis)
        self.service = ActionItemService(
            store=self.store,
            actions_store=self.items,
            chat=chat,
            clock=self.clock,
            settings=self.cfg,
            access=IncidentAccess(members=chat),
        )

    def scanner(self, worker_id: str = "w1") -> ReminderScanner:
        return ReminderScanner(
            actions_store=self.items,
            store=self.store,
            chat=self.chat,
            clock=self.clock,
            settings=self.cfg,
            render=reminder_blocks,
            worker_id=worker_id,
        )

    def fail_send(self, times: int = 1) -> None:
        self.raw.fail("chat.postMessage", times=times)

    async def incident(self, ic: str = "UCHARLIE") -> Incident:
        inc = Incident(
            id="INC-20261123-0001",
            title="Checkout 500s",
            channel_id="CINC0001",
            channel_name="inc-20261123-checkout",
            roles={Role.IC: ic},
            declared_by=ic,
            declared_at=START,
        )
        from bot.store import codec

        await self.redis.set(keys.incident(inc.id), codec.dumps(inc))
        return inc


@pytest.fixture
async def world() -> AsyncIterator[World]:
    redis = connect(REDIS_URL)
    await redis.flushdb()
    raw = FakeChat(users=USERS)
    yield World(redis, Recorder(raw), raw)
    await redis.flushdb()
    await redis.aclose()


async def _add(w: World, owner: str = "UALICE", due: str = "3d") -> str:
    inc = await w.incident()
    item = await w.service.add(inc, owner=owner, text="Add pool alerts", actor="UCHARLIE", due=due)
    return item.id


async def test_before_due_then_overdue_then_daily(world: World) -> None:
    item_id = await _add(world)  # due 2026-11-26 14:00, first reminder at 11-25 14:00
    scan = world.scanner()
    assert (await scan.scan()).sent == []
    world.clock.set(datetime(2026, 11, 25, 14, 0, tzinfo=UTC))
    result = await scan.scan()
    assert result.sent == [(item_id, "g0:before_due")]
    assert "Reminder" in world.chat.to("UALICE")[0]
    assert (await scan.scan()).sent == []  # nothing more until due
    world.clock.set(datetime(2026, 11, 26, 14, 0, tzinfo=UTC))
    assert (await scan.scan()).sent == [(item_id, "g0:overdue:1")]
    assert "Overdue" in world.chat.to("UALICE")[-1]
    world.clock.advance(timedelta(hours=12))
    assert (await scan.scan()).sent == []  # once a day
    world.clock.advance(timedelta(hours=12))
    assert (await scan.scan()).sent == [(item_id, "g0:overdue:2")]
    item = await world.items.get(item_id)
    assert item.overdue_reminders_count == 2
    assert [r.kind for r in item.reminders_sent] == [
        ReminderKind.BEFORE_DUE,
        ReminderKind.OVERDUE,
        ReminderKind.OVERDUE,
    ]
    assert item.last_reminded_at == world.clock()


async def test_scan_reads_only_the_due_range(world: World) -> None:
    await _add(world, due="3d")
    await _add(world, due="2w")
    world.clock.set(datetime(2026, 11, 25, 14, 0, tzinfo=UTC))
    assert len(await world.items.due_ids(world.clock(), 100)) == 1


async def test_working_hours_in_two_time_zones(world: World) -> None:
    alice = await _add(world, owner="UALICE", due="1d")  # Berlin: 15:00 now
    bob = await _add(world, owner="UBOB", due="1d")  # Los Angeles: 06:00 now
    scan = world.scanner()
    result = await scan.scan()
    assert result.sent == [(alice, "g0:before_due")]
    assert result.deferred == [bob]
    item = await world.items.get(bob)
    # 09:00 in Los Angeles on Monday 2026-11-23 = 17:00 UTC
    assert item.next_reminder_at == datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
    assert world.chat.to("UBOB") == []
    world.clock.set(datetime(2026, 11, 23, 17, 0, tzinfo=UTC))
    assert (await scan.scan()).sent == [(bob, "g0:before_due")]
    # Berlin evening (19:00 local) -> deferred to Tuesday 09:00 Berlin = 08:00 UTC
    world.clock.set(datetime(2026, 11, 24, 18, 0, tzinfo=UTC))
    result = await scan.scan()
    assert alice in result.deferred
    item = await world.items.get(alice)
    assert item.next_reminder_at == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


async def test_snooze_and_done_stop_reminders(world: World) -> None:
    item_id = await _add(world, due="1d")
    scan = world.scanner()
    await scan.scan()
    world.clock.set(datetime(2026, 11, 24, 14, 0, tzinfo=UTC))
    assert (await scan.scan()).sent == [(item_id, "g0:overdue:1")]
    await world.service.snooze(item_id, "UALICE", timedelta(days=3))
    world.clock.advance(timedelta(days=2))
    assert (await scan.scan()).sent == []
    world.clock.advance(timedelta(days=1))
    assert (await scan.scan()).sent == [(item_id, "g1:overdue:1")]
    _item, changed = await world.service.done(item_id, "UALICE")
    assert changed
    assert await world.redis.zscore(keys.action_items_due(), item_id) is None
    world.clock.advance(timedelta(days=5))
    assert (await scan.scan()).sent == []


async def test_escalation_after_n_ignored_overdue_reminders(world: World) -> None:
    item_id = await _add(world, owner="UALICE", due="1d")
    scan = world.scanner()
    await scan.scan()  # before due
    for day in (24, 25):  # two ignored overdue reminders (escalate_after=2)
        world.clock.set(datetime(2026, 11, day, 14, 0, tzinfo=UTC))
        await scan.scan()
    world.clock.set(datetime(2026, 11, 26, 14, 0, tzinfo=UTC))
    assert (await scan.scan()).sent == [(item_id, "g0:escalation")]
    channel = world.chat.to("CINC0001")
    assert len(channel) == 1 and "<@UALICE>" in channel[0] and "<@UCHARLIE>" in channel[0]
    assert len(world.chat.to("UCHARLIE")) == 1
    item = await world.items.get(item_id)
    assert item.escalated_at == world.clock()
    world.clock.advance(timedelta(days=1))
    assert (await scan.scan()).sent == [(item_id, "g0:overdue:3")]  # no second escalation


async def test_two_workers_send_each_reminder_once(world: World) -> None:
    ids = [await _add(world, owner="UALICE", due="1d") for _ in range(10)]
    world.chat.delay = 0.01
    a, b = world.scanner("a"), world.scanner("b")
    ra, rb = await asyncio.gather(a.scan(), b.scan())
    sent = sorted(ra.sent + rb.sent)
    assert sent == sorted((i, "g0:before_due") for i in ids)
    assert len(world.chat.to("UALICE")) == 10
    ra, rb = await asyncio.gather(a.scan(), b.scan())
    assert ra.sent == rb.sent == []


async def test_worker_killed_between_claim_and_send(world: World) -> None:
    item_id = await _add(world, due="1d")
    world.cfg = ActionSettings(escalate_after=2, claim_ttl=timedelta(milliseconds=200))
    # the dead worker claimed the item and never sent or released
    assert await world.items.claim(item_id, "dead-worker", world.cfg.claim_ttl)
    scan = world.scanner()
    first = await scan.scan()
    assert first.sent == [] and first.skipped == 1
    await asyncio.sleep(0.3)  # the claim expires in Redis (real TTL)
    assert (await scan.scan()).sent == [(item_id, "g0:before_due")]
    assert (await scan.scan()).sent == []
    assert len(world.chat.to("UALICE")) == 1


async def test_worker_killed_after_send_before_record_does_not_resend(world: World) -> None:
    item_id = await _add(world, due="1d")
    await world.items.mark_slot(item_id, "g0:before_due")  # sent, then the worker died
    result = await world.scanner().scan()
    assert result.sent == [(item_id, "g0:before_due")]
    assert world.chat.to("UALICE") == []  # recorded, not sent again
    item = await world.items.get(item_id)
    assert [r.slot for r in item.reminders_sent] == ["g0:before_due"]


async def test_rate_limited_send_is_retried_not_lost_not_doubled(world: World) -> None:
    item_id = await _add(world, due="1d")
    world.fail_send(times=1)
    scan = world.scanner()
    result = await scan.scan()
    assert result.failed == [item_id] and result.sent == []
    assert await world.redis.zscore(keys.action_items_due(), item_id) is not None
    assert not await world.redis.exists(keys.action_item_claim(item_id))
    assert (await scan.scan()).sent == [(item_id, "g0:before_due")]
    assert (await scan.scan()).sent == []
    assert len(world.chat.to("UALICE")) == 1


async def test_weekly_digest_once(world: World) -> None:
    await _add(world, owner="UALICE", due="1d")
    await _add(world, owner="UBOB", due="2w")
    world.clock.set(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    a, b = world.scanner("a"), world.scanner("b")
    results = await asyncio.gather(a.digest(), b.digest())
    assert sorted(results) == [False, True]
    digest = world.chat.to("incidents")
    assert len(digest) == 1
    assert "2 open, 1 overdue" in digest[0] and "<@UALICE>" in digest[0]
    assert not await a.digest()


async def test_real_apscheduler_runs_the_scan(world: World) -> None:
    item_id = await _add(world, due="1d")
    scanner = world.scanner()
    scheduler = build_scheduler(scanner, scan_interval=0.05, settings=world.cfg)
    scheduler.start()
    try:
        for _ in range(100):
            if (await world.items.get(item_id)).reminders_sent:
                break
            await asyncio.sleep(0.02)
    finally:
        scheduler.shutdown(wait=False)
    assert len(world.chat.to("UALICE")) == 1
    item = await world.items.get(item_id)
    assert item.reminders_sent[0].slot == "g0:before_due"
