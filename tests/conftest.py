"""Real parts for the tests: the machine's Redis (a db of its own, flushed per test), the
strict Slack Web API emulator, and the bot serving HTTP on a free port, driven by signed
requests. A missing Redis fails loudly; nothing is skipped."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import redis as sync_redis

from bot.clock import Clock, ManualClock, system_clock
from bot.runners import serve_http
from bot.settings import Settings
from bot.store.redis_store import RedisStore
from bot.updates.fanout import Drained, FanOutDrain
from bot.wiring import Bot, build_bot
from sandbox.driver import SlackDriver
from sandbox.redis_servers import Cluster, redis_cluster
from sandbox.slack_emulator import SlackEmulator

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
# One Redis server for the whole suite; each test module keeps its own database on it.
# TEST_REDIS_SERVER moves them all (e.g. to a private redis-server when suites run side by side).
REDIS_SERVER_URL = os.environ.get("TEST_REDIS_SERVER", "redis://127.0.0.1:6379").rstrip("/")


def redis_db_url(db: int) -> str:
    return f"{REDIS_SERVER_URL}/{db}"


REDIS_URL = os.environ.get("TEST_REDIS_URL", redis_db_url(1))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def redis_url() -> str:
    client = sync_redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except sync_redis.ConnectionError as exc:  # pragma: no cover - environment problem
        pytest.fail(f"Redis is required for the tests and is not reachable at {REDIS_URL}: {exc}")
    return REDIS_URL


@pytest.fixture(autouse=True)
def _flush_redis(redis_url: str) -> Iterator[None]:
    client = sync_redis.Redis.from_url(redis_url)
    client.flushdb()
    yield
    client.flushdb()


@pytest.fixture(scope="session")
def redis_cluster_setup() -> Iterator[Cluster]:
    """A 3-master Redis Cluster the tests start once (tests/redis_servers.py)."""
    with redis_cluster(3) as cluster:
        yield cluster


@pytest.fixture
def cluster_url(redis_cluster_setup: Cluster) -> Iterator[str]:
    redis_cluster_setup.flush()
    yield redis_cluster_setup.url
    redis_cluster_setup.flush()


@pytest.fixture(scope="session")
def emulator() -> Iterator[SlackEmulator]:
    emu = SlackEmulator(token=BOT_TOKEN)
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def slack(emulator: SlackEmulator) -> SlackEmulator:
    emulator.reset()
    return emulator


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 23, 14, 0, tzinfo=UTC))


def make_settings(emulator: SlackEmulator, redis_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": emulator.api_url,
        "redis_url": redis_url,
        "incidents_channel": "incidents",
        "snapshot_on_declare": False,
        "prometheus_url": None,
        "anthropic_api_key": None,
    }
    values.update(overrides)
    return Settings.model_validate(values)


@dataclass
class Harness:
    bot: Bot
    driver: SlackDriver
    slack: SlackEmulator
    url: str

    @property
    def store(self) -> RedisStore:
        return self.bot.services.store

    async def declare(self, text: str = "Checkout API returning 500s sev:2", *, user: str) -> str:
        """Declare through the slash command; returns the new incident's channel id."""
        before = set(self.slack.channel_ids())
        reply = await self.driver.command(f"declare {text}", user=user, channel=self.incidents_id)
        created = [c for c in self.slack.channel_ids() if c not in before]
        assert len(created) == 1, reply.text
        return created[0]

    @property
    def incidents_id(self) -> str:
        return self.slack.channel_by_name("incidents").id

    async def drain_outbox(self) -> list[Drained]:
        """What a worker does with the follower DMs queued so far: send them (here)."""
        services = self.bot.services
        drain = FanOutDrain(
            store=services.store, chat=services.chat, clock=services.clock,
            access=services.incidents.access,
        )
        return await drain.drain()


@asynccontextmanager
async def running_bot(
    slack: SlackEmulator, redis_url: str, *, clock: Clock = system_clock, **overrides: object
) -> AsyncIterator[Harness]:
    """The real bot serving HTTP on a free port, with settings overrides."""
    bot = build_bot(make_settings(slack, redis_url, **overrides), clock=clock)
    port = free_port()
    runner = await serve_http(bot, "127.0.0.1", port)
    url = f"http://127.0.0.1:{port}"
    driver = SlackDriver(
        endpoint=f"{url}/slack/events", signing_secret=SIGNING_SECRET, emulator=slack
    )
    try:
        yield Harness(bot=bot, driver=driver, slack=slack, url=url)
    finally:
        await runner.cleanup()
        await bot.services.store.redis.aclose()


@pytest.fixture
async def harness(slack: SlackEmulator, redis_url: str) -> AsyncIterator[Harness]:
    async with running_bot(slack, redis_url) as h:
        yield h
