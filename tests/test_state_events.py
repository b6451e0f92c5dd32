"""No event lost after the ack: a member joining a war room is on its timeline before Slack
gets the 200, as messages are; with Redis down every event is answered 503 so Slack
delivers it again, and the retry is recorded (and acted on) once. Real HTTP endpoint,
signed requests, the test's own redis-server killed and restarted."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.timeline.models import EventKind
from sandbox.slack_emulator import SlackEmulator
from tests.conftest import Harness, running_bot
from tests.test_durability import OwnRedis, own_redis  # noqa: F401  (fixture)

ALICE, BOB, DIANA = "U0ALICE", "U0BOB", "U0DIANA"


@pytest.fixture
async def bot(slack: SlackEmulator, own_redis: OwnRedis) -> AsyncIterator[Harness]:
    async with running_bot(slack, own_redis.url) as h:
        yield h


def join(channel: str, user: str, ts: str = "1795770000.000100") -> dict[str, object]:
    return {
        "type": "member_joined_channel",
        "user": user,
        "channel": channel,
        "channel_type": "C",
        "team": "T0001",
        "event_ts": ts,
    }


async def joins_on_timeline(h: Harness, channel: str) -> list[str]:
    incident = await h.bot.services.incidents.for_channel(channel)
    assert incident is not None
    return [
        e.text
        for _, e in await h.store.events(incident.id)
        if e.kind is EventKind.SYSTEM and "joined" in e.text
    ]


def welcomes(h: Harness, user: str) -> list[dict[str, object]]:
    return [e for e in h.slack.ephemerals() if e.get("user") == user and "Welcome" in str(e)]


async def test_a_join_is_on_the_timeline_when_slack_gets_its_200(bot: Harness) -> None:
    channel = await bot.declare(user=ALICE)
    await bot.bot.services.chat.invite(channel, [BOB])  # Bob is pulled in
    # settle=False: the answer is back, the catch-up may not be; the join already is stored
    status = await bot.driver.event(join(channel, BOB), event_id="Ev0JOIN1", settle=False)
    assert status == 200
    assert await joins_on_timeline(bot, channel) == [f"<@{BOB}> joined the channel"]
    await bot.driver.settle()
    assert len(welcomes(bot, BOB)) == 1
    # Slack's retry of the same delivery changes nothing and says nothing twice
    assert await bot.driver.event(join(channel, BOB), event_id="Ev0JOIN1", retry_num=1) == 200
    assert len(await joins_on_timeline(bot, channel)) == 1
    assert len(welcomes(bot, BOB)) == 1
    # a join outside any incident is acknowledged and stores nothing
    incidents = bot.slack.channel_by_name("incidents")
    assert incidents is not None
    assert await bot.driver.event(join(incidents.id, DIANA), event_id="Ev0JOIN2") == 200


async def test_with_redis_down_events_are_refused_so_slack_redelivers_them(
    bot: Harness,
    own_redis: OwnRedis,
) -> None:
    channel = await bot.declare(user=ALICE)
    await bot.bot.services.chat.invite(channel, [BOB])
    own_redis.kill()
    assert await bot.driver.event(join(channel, BOB), event_id="Ev0DOWN2") == 503
    home = {"type": "app_home_opened", "user": BOB, "tab": "home", "channel": "D0BOB"}
    assert (
        await bot.driver.event({**home, "event_ts": "1795770000.000200"}, event_id="Ev0DOWN3")
        == 503
    )
    assert welcomes(bot, BOB) == []
    own_redis.start()
    # Slack delivers both again: now stored and acted on, once
    assert await bot.driver.event(join(channel, BOB), event_id="Ev0DOWN2", retry_num=1) == 200
    assert await joins_on_timeline(bot, channel) == [f"<@{BOB}> joined the channel"]
    assert len(welcomes(bot, BOB)) == 1
    status = await bot.driver.event(
        {**home, "event_ts": "1795770000.000200"}, event_id="Ev0DOWN3", retry_num=1
    )
    assert status == 200
    assert BOB in bot.slack.published_views()
