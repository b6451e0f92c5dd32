"""Durability against a Redis the test owns: AOF on (appendfsync always, as in
docker-compose), SIGKILL mid-traffic, restart on the same port and dir. Everything the bot
acknowledged is still there afterwards; while Redis is down commands answer "try again"
and nothing else; the same bot process recovers once Redis is back.

Also: Slack 429 bursts on chat.postMessage / conversations.invite during a declare.
(Retried events and double-clicked header buttons: tests/test_incident_commands.py
test_retried_event_is_recorded_once and test_header_buttons_take_roles_once; a
double-clicked resolve button is covered here.)"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis as sync_redis

from bot.actions.store import ActionItemStore
from bot.incidents.models import Status
from sandbox.redis_servers import redis_env
from sandbox.slack_emulator import SlackEmulator
from tests.conftest import Harness, free_port, running_bot

ALICE, BOB, CHARLIE = "U0ALICE", "U0BOB", "U0CHARLIE"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
TRY_AGAIN = "Try again"


class OwnRedis:
    """A redis-server of the test's own, with AOF fsynced on every write."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                "--appendonly", "yes", "--appendfsync", "always",
                "--dir", str(self.dir), "--save", "", "--daemonize", "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=redis_env(),
        )
        client = sync_redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                if client.ping():
                    return
            except sync_redis.ConnectionError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def durable(slack: SlackEmulator, own_redis: OwnRedis) -> AsyncIterator[Harness]:
    async with running_bot(slack, own_redis.url) as h:
        yield h


async def test_acknowledged_writes_survive_sigkill_and_the_bot_recovers_without_restart(
    durable: Harness, own_redis: OwnRedis
) -> None:
    h, d = durable, durable.driver
    channel = await h.declare("Database failover sev:1", user=ALICE)
    incident = await h.bot.services.incidents.for_channel(channel)
    assert incident is not None

    acked_messages: list[str] = []
    acked_notes: list[str] = []
    acked_items: list[str] = []
    down_replies: list[str] = []
    killed = asyncio.Event()
    recovered = asyncio.Event()

    async def one_round(i: int) -> None:
        text = f"msg {i}"
        down_before = killed.is_set() and not recovered.is_set()
        status = await d.event(
            {"type": "message", "channel": channel, "user": BOB, "text": text,
             "ts": h.slack.post_as_user(channel, BOB, text), "channel_type": "channel"},
        )
        down_after = killed.is_set() and not recovered.is_set()
        if status == 200 and not down_before and not down_after:
            acked_messages.append(text)
        reply = await d.command(f"note note {i}", user=ALICE, channel=channel)
        if "Noted on the timeline" in reply.text:
            acked_notes.append(f"note {i}")
        elif killed.is_set():
            down_replies.append(reply.text)
        if i % 3 == 0:
            reply = await d.command(
                f"action add <@{BOB}> fix thing {i} due:3d", user=ALICE, channel=channel
            )
            if "AI-" in reply.text and TRY_AGAIN not in reply.text:
                acked_items.append(f"fix thing {i}")
            elif killed.is_set():
                down_replies.append(reply.text)

    # traffic, with Redis SIGKILLed in the middle of it (not between rounds)
    async def kill_soon() -> None:
        await asyncio.sleep(0.4)
        own_redis.kill()
        killed.set()

    killer = asyncio.create_task(kill_soon())
    i = 0
    while not killed.is_set():
        await one_round(i)
        i += 1
    await killer
    assert i >= 3, "the kill came before any traffic"

    # while Redis is down: a clear "try again", and nothing else
    calls_before = len(h.slack.calls())
    for _ in range(3):
        await one_round(i)
        i += 1
    declare = await d.command("declare Another outage", user=CHARLIE, channel=h.incidents_id)
    down_replies.append(declare.text)
    listed = await d.command("list", user=CHARLIE, channel=h.incidents_id)
    down_replies.append(listed.text)
    assert down_replies
    for text in down_replies:
        assert "Redis" in text and TRY_AGAIN in text, text
        assert "Traceback" not in text and "AI-" not in text and "Noted" not in text
    assert not [c for c in h.slack.calls()[calls_before:] if c.method != "auth.test"], (
        "no Slack side effects while the store is down"
    )

    # Redis is back on the same port and dir: the same bot process serves again
    own_redis.start()
    recovered.set()
    deadline = time.monotonic() + 20
    while True:
        reply = await d.command("list", user=CHARLIE, channel=h.incidents_id)
        if incident.id in reply.text:
            break
        assert time.monotonic() < deadline, f"bot did not recover: {reply.text}"
        await asyncio.sleep(0.2)
    for _ in range(3):
        await one_round(i)
        i += 1
    assert acked_notes[-1] == f"note {i - 1}"

    # everything acknowledged, before or after the crash, is there exactly once
    events = await h.store.events(incident.id)
    messages = [e.text for _, e in events if e.kind.value == "message"]
    notes = [e.text for _, e in events if e.kind.value == "note"]
    assert sorted(set(messages)) == sorted(messages), "a message was stored twice"
    lost = set(acked_messages) - set(messages)
    assert not lost, f"acknowledged messages lost: {sorted(lost)}"
    assert not set(acked_notes) - set(notes), "acknowledged notes lost"
    assert len(notes) == len(set(notes))
    items = ActionItemStore(h.store.redis)
    stored = await items.many(await items.ids_of_incident(incident.id))
    titles = [item.text for item in stored]
    assert not set(acked_items) - set(titles), "acknowledged action items lost"
    assert len(titles) == len(set(titles))
    assert (await h.bot.services.incidents.for_channel(channel)) is not None


async def test_a_message_arriving_while_redis_is_down_is_refused_so_slack_retries_it(
    durable: Harness, own_redis: OwnRedis
) -> None:
    h, d = durable, durable.driver
    channel = await h.declare("Cache stampede", user=ALICE)
    incident = await h.bot.services.incidents.for_channel(channel)
    assert incident is not None
    own_redis.kill()
    text = "said while redis was down"
    event = {"type": "message", "channel": channel, "user": BOB, "text": text,
             "ts": h.slack.post_as_user(channel, BOB, text), "channel_type": "channel"}
    assert await d.event(event, event_id="Ev0DOWN1") >= 500
    own_redis.start()
    assert await d.event(event, event_id="Ev0DOWN1", retry_num=1) == 200
    stored = [e.text for _, e in await h.store.events(incident.id)]
    assert stored.count(text) == 1


async def test_a_message_acked_just_before_redis_fails_is_not_lost(
    durable: Harness, own_redis: OwnRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.errors import StoreUnavailable

    h, d = durable, durable.driver
    channel = await h.declare("Cache stampede", user=ALICE)
    incident = await h.bot.services.incidents.for_channel(channel)
    assert incident is not None

    async def redis_gone(*args: object, **kwargs: object) -> bool:
        raise StoreUnavailable("The incident store (Redis) is unreachable. Try again.")

    text = "root cause found"
    event = {"type": "message", "channel": channel, "user": BOB, "text": text,
             "ts": h.slack.post_as_user(channel, BOB, text), "channel_type": "channel"}
    with monkeypatch.context() as patch:  # Redis drops right after the event_id claim
        patch.setattr(h.store, "record_message", redis_gone)
        first = await d.event(event, event_id="Ev0LOST1")
    # Slack retries only what was not acked with 200
    if first != 200:
        assert await d.event(event, event_id="Ev0LOST1", retry_num=1) == 200
    stored = [e.text for _, e in await h.store.events(incident.id)]
    assert text in stored, (first, stored)


# --- idempotency and Slack rate limits (on the test's own Redis too: a slow, rate-limited
# declare must not race another test run flushing the shared test db) ------------------


async def test_double_clicked_resolve_button_resolves_once(durable: Harness) -> None:
    harness = durable
    channel = await harness.declare(user=ALICE)
    incident = await harness.bot.services.incidents.for_channel(channel)
    assert incident is not None
    for _ in range(2):  # a double click: each click has its own action_ts, as on Slack
        await harness.driver.click(
            "resolve_incident", incident.id, user=ALICE, channel=channel,
            message_ts=incident.header_ts or "",
        )
    incident = await harness.bot.services.incidents.for_channel(channel)
    assert incident is not None and incident.status is Status.RESOLVED
    resolved = [
        e for _, e in await harness.store.events(incident.id) if e.kind.value == "resolved"
    ]
    assert len(resolved) == 1
    announced = [m for m in harness.slack.messages("incidents") if "resolved" in m.text]
    assert len(announced) == 1


async def test_ratelimited_bursts_during_declare_still_end_with_a_complete_incident(
    durable: Harness,
) -> None:
    harness = durable
    harness.slack.fail("chat.postMessage", error="ratelimited", retry_after=1, times=2)
    harness.slack.fail("conversations.invite", error="ratelimited", retry_after=1, times=2)
    started = time.monotonic()
    channel = await harness.declare(user=ALICE)
    elapsed = time.monotonic() - started
    incident = await harness.bot.services.incidents.for_channel(channel)
    assert incident is not None and incident.header_ts is not None
    assert harness.slack.message(channel, incident.header_ts) is not None
    assert ALICE in harness.slack.channel(channel).members
    assert "SEV" in harness.slack.channel(channel).topic
    assert [m for m in harness.slack.messages("incidents") if f"<#{channel}>" in m.text]
    limited = [c for c in harness.slack.calls() if c.http_status == 429]
    assert len(limited) == 4
    assert elapsed >= 2.0, "Retry-After was not honoured"
    events = await harness.store.events(incident.id)
    assert [e.kind.value for _, e in events] == ["declared"]
