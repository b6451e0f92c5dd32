"""The follower outbox in one process: an update queues its DMs and the drain (the worker's
job) sends them — each follower once even with two workers at it, a follower another
sender holds is left until its claim expires, Slack's refusals are retried or, for good,
told to the author, a private incident's outsiders get its label, and a job queued again
DMs nobody twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from bot.clock import ManualClock
from bot.incidents.models import Incident
from bot.store import keys
from bot.updates import fanout
from bot.updates.fanout import DM_CLAIM, RETRY_LATER, FanOutDrain
from bot.wiring import slack_gateway
from sandbox.slack_emulator import RateLimits, SlackEmulator
from tests.conftest import Harness, running_bot

ALICE = "U0ALICE"


@pytest.fixture
async def h(slack: SlackEmulator, redis_url: str, clock: ManualClock) -> AsyncIterator[Harness]:
    async with running_bot(slack, redis_url, clock=clock) as harness:
        yield harness


@pytest.fixture(autouse=True)
def short_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fanout, "FANOUT_PAUSE_SECONDS", 0.05)


async def incident_with_followers(h: Harness, n: int, title: str = "Checkout errors") -> Incident:
    channel = await h.declare(f"{title} sev:2", user=ALICE)
    incident = await h.bot.services.incidents.for_channel(channel)
    assert incident is not None
    for i in range(n):
        user = h.slack.add_user(f"follower{i}", f"Follower {i}").id
        await h.bot.services.updates.subscribe(incident, user)
    return incident


def update_dms(h: Harness, marker: str = "Status update #1") -> Counter[str]:
    got: Counter[str] = Counter()
    for ch in h.slack.channels():
        if ch.is_im and ch.im_user:
            got[ch.im_user] += sum(1 for m in h.slack.messages(ch.id) if marker in m.text)
    return +got


def worker_drain(h: Harness) -> FanOutDrain:
    """A drain as a worker builds it: its own Slack gateway (its own rate-limit pause)."""
    services = h.bot.services
    return FanOutDrain(
        store=services.store, chat=slack_gateway(services.settings, services.store),
        clock=services.clock,
    )


async def test_an_update_is_queued_and_two_workers_dm_each_follower_once(h: Harness) -> None:
    incident = await incident_with_followers(h, 30)
    reply = await h.driver.command("update Failover done", user=ALICE, channel=incident.channel_id)
    assert "30 follower(s)" in reply.text, reply.text
    assert update_dms(h) == Counter()  # nothing sent by the web process
    assert await h.store.fanout.waiting() == 1
    first, second = worker_drain(h), worker_drain(h)
    runs = await asyncio.gather(first.drain(), second.drain())
    assert sorted(len(r) for r in runs) == [0, 1]  # one worker took the job
    assert update_dms(h) == Counter({u: 1 for u in update_dms(h)}) and len(update_dms(h)) == 30
    assert await h.store.fanout.waiting() == 0
    # the same job queued again (a retried update) reaches nobody twice
    queued = await h.bot.services.updates.outbox.queue(
        incident, "1", "Status update #1 again", about="update #1", public_text="-"
    )
    assert queued == 30
    [again] = await worker_drain(h).drain()
    assert again.sent == [] and again.already == 30
    assert sum(update_dms(h).values()) == 30


async def test_a_follower_another_sender_holds_waits_for_its_claim(
    h: Harness, clock: ManualClock
) -> None:
    incident = await incident_with_followers(h, 3)
    [held, *rest] = sorted(await h.bot.services.updates.updates.subscribers(incident.id))
    # a worker died holding this follower's claim (it expires by itself)
    claim = keys.fanout_claim(incident.id, "1", held)
    await h.store.redis.set(claim, "dead-worker", px=int(DM_CLAIM.total_seconds() * 1000))
    await h.driver.command("update Cache warmed", user=ALICE, channel=incident.channel_id)
    [first] = await worker_drain(h).drain()
    assert sorted(first.sent) == sorted(rest) and first.held == [held]
    assert first.retry_at == clock() + DM_CLAIM and await h.store.fanout.waiting() == 1
    assert await worker_drain(h).drain() == []  # not due yet
    await h.store.redis.delete(claim)  # as Redis expires it
    clock.advance(DM_CLAIM)
    [second] = await worker_drain(h).drain()
    assert second.sent == [held] and second.already == 2
    assert update_dms(h) == Counter({u: 1 for u in (held, *rest)})
    assert await h.store.fanout.waiting() == 0


async def test_refusals_are_retried_and_lasting_ones_told_to_the_author(
    h: Harness, clock: ManualClock
) -> None:
    incident = await incident_with_followers(h, 4)
    await h.bot.services.updates.subscribe(incident, "U0GONE")  # left the workspace since
    await h.driver.command("update Index rebuilt", user=ALICE, channel=incident.channel_id)
    h.slack.fail("chat.postMessage", "internal_error", times=None)  # Slack is down a while
    for wait in RETRY_LATER:
        [run] = await worker_drain(h).drain()
        assert run.sent == [] and run.retry_at == clock() + wait
        clock.advance(wait)
    h.slack.clear_faults()  # Slack is back for the last try
    [last] = await worker_drain(h).drain()
    assert len(last.sent) == 4 and last.retry_at is None
    assert len(update_dms(h)) == 4
    told = [m.text for c in h.slack.channels() if c.is_im and c.im_user == ALICE
            for m in h.slack.messages(c.id) if "could not DM" in m.text]
    assert told == [
        f":warning: I could not DM 1 follower(s) about update #1 of {incident.id}: "
        "<@U0GONE> (Slack said `channel_not_found`)."
    ]
    assert await h.store.fanout.waiting() == 0


async def test_rate_limits_slow_the_fanout_down_and_lose_no_one(h: Harness) -> None:
    incident = await incident_with_followers(h, 80)
    await h.driver.command("update Replica promoted", user=ALICE, channel=incident.channel_id)
    h.slack.rate_limits = RateLimits.slack()  # 60 at once, then 10 a second
    await worker_drain(h).drain()
    limited = [c for c in h.slack.calls("chat.postMessage") if c.http_status == 429]
    assert limited  # Slack said slow down, and the bot did
    assert update_dms(h) == Counter({u: 1 for u in update_dms(h)}) and len(update_dms(h)) == 80
