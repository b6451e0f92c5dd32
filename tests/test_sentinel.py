"""A Sentinel set the test starts (1 primary, 1 replica, 3 sentinels): message events keep
arriving, signed, while the primary is switched by SENTINEL FAILOVER and then killed with
kill -9. The bot (REDIS_SENTINELS, REDIS_MIN_REPLICAS_ACK=1) follows the new primary
without a restart; what it could not store *and* replicate it answers 503, so Slack
re-sends (here: the test re-sends, with X-Slack-Retry-Num, as Slack does). Afterwards every
event that got its 200 is on the timeline exactly once — including events re-sent after a
200 (a lost ack)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import pytest

from bot.timeline.models import EventKind
from sandbox.redis_servers import SentinelSet, sentinel_set
from sandbox.slack_emulator import SlackEmulator
from tests.conftest import Harness, running_bot

ALICE, BOB = "U0ALICE", "U0BOB"
MAX_ATTEMPTS = 400  # Slack gives up after a few retries; the test waits out a failover


@pytest.fixture
def sentinels() -> Iterator[SentinelSet]:
    with sentinel_set(down_after_ms=1000) as s:
        yield s


class Traffic:
    def __init__(self, h: Harness, channel: str) -> None:
        self.h = h
        self.channel = channel
        self.acked: list[str] = []
        self.refused = 0
        self.n = 0

    async def deliver(self, event: dict[str, str], event_id: str, first_retry: int) -> None:
        """Send until 200, with X-Slack-Retry-Num from `first_retry` on, as Slack does."""
        for attempt in range(first_retry, first_retry + MAX_ATTEMPTS):
            status = await self.h.driver.event(
                event, event_id=event_id, retry_num=attempt or None, settle=False
            )
            if status == 200:
                return
            assert status == 503, status
            self.refused += 1
            await asyncio.sleep(0.05)
        raise AssertionError(f"{event_id} never stored")

    async def send_one(self, *, resend_after_ack: bool = False) -> None:
        """One message event, re-sent like Slack until it gets 200."""
        self.n += 1
        text = f"update {self.n}"
        ts = self.h.slack.post_as_user(self.channel, BOB, text)
        event = {"type": "message", "channel": self.channel, "user": BOB, "text": text,
                 "ts": ts, "channel_type": "channel", "event_ts": ts}
        await self.deliver(event, f"Ev{self.n:05d}", 0)
        self.acked.append(ts)
        if resend_after_ack:  # Slack did not see our 200 and re-sends (maybe mid-failover)
            await self.deliver(event, f"Ev{self.n:05d}", 1)

    async def run_until(self, done: asyncio.Event) -> None:
        while not done.is_set():
            await self.send_one(resend_after_ack=self.n % 5 == 0)


async def test_failover_and_kill_9_lose_no_acknowledged_event(
    slack: SlackEmulator, sentinels: SentinelSet
) -> None:
    async with running_bot(
        slack,
        "redis://127.0.0.1:1/0",  # unused with sentinels
        redis_sentinels=sentinels.sentinel_setting,
        redis_sentinel_master=sentinels.master_name,
        redis_min_replicas_ack=1,
    ) as h:
        channel = await h.declare("Primary database failover sev:1", user=ALICE)
        traffic = Traffic(h, channel)
        for _ in range(5):
            await traffic.send_one()

        done = asyncio.Event()
        sender = asyncio.create_task(traffic.run_until(done))

        async def steps() -> tuple[int, int, int]:
            first = sentinels.current_primary_port()
            # 1. a planned switch-over while events arrive
            sentinels.sentinels[0].client().execute_command(
                "SENTINEL", "FAILOVER", sentinels.master_name
            )
            second = await asyncio.to_thread(sentinels.wait_primary_change, first)
            await asyncio.to_thread(sentinels.wait_replicated)
            before_kill = len(traffic.acked)
            await asyncio.sleep(0.5)
            # 2. the primary dies (no persistence: only what reached the replica survives)
            victim = sentinels.server_on(second)
            victim.kill9()
            third = await asyncio.to_thread(sentinels.wait_primary_change, second)
            await asyncio.to_thread(victim.restart)  # comes back as a replica of the new one
            await asyncio.to_thread(sentinels.wait_replicated)
            return first, third, before_kill

        try:
            _, third, before_kill = await steps()
            after = len(traffic.acked)
            while len(traffic.acked) < after + 5:  # traffic flows again on the new primary
                if sender.done():
                    break
                await asyncio.sleep(0.05)
        finally:
            done.set()
        await sender

        assert sentinels.current_primary_port() == third  # the bot followed two switches
        assert len(traffic.acked) > before_kill  # events were acknowledged across the kill
        assert traffic.refused > 0  # some writes were refused with 503 and re-sent
        incident_id = await h.store.incident_id_for_channel(channel)
        assert incident_id is not None
        stored = Counter(
            e.message_ts for _, e in await h.store.events(incident_id)
            if e.kind is EventKind.MESSAGE
        )
        missing = [ts for ts in traffic.acked if stored[ts] == 0]
        doubled = [ts for ts, n in stored.items() if n > 1]
        assert missing == [] and doubled == []
        assert len(traffic.acked) == len(set(traffic.acked)) >= 15
