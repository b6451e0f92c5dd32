"""Two `serve` and two `worker` processes (the real `python -m bot` CLI) on one Redis, the
Slack emulator in the test process. A Slack retry that reaches the other replica is
recorded once; reminders due while a worker is killed with kill -9 in the middle of a job
(holding an item) are each delivered exactly once by the others; scans are not run once per
worker (a lease per interval)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis as sync_redis

from bot.actions.models import ActionItem
from bot.clock import ManualClock
from bot.store import keys
from bot.store.connection import Db, connect
from bot.store.redis_store import RedisStore
from bot.timeline.models import EventKind
from sandbox.driver import SlackDriver
from sandbox.slack_emulator import SlackEmulator
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, free_port, redis_db_url
from tests.faketime import FakeTime

ALICE, BOB = "U0ALICE", "U0BOB"
REDIS_URL = redis_db_url(12)
ROOT = Path(__file__).resolve().parent.parent
ITEMS = 12
WEDNESDAY_NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # 12:00 in BOB's London


@dataclass
class Process:
    name: str
    proc: subprocess.Popen[bytes]
    health_port: int

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait_until(check: object, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False


class Fleet:
    """`python -m bot serve|worker` processes sharing one Redis and the test's emulator."""

    def __init__(self, slack: SlackEmulator) -> None:
        self.started: list[Process] = []
        self.env = {
            k: v for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "REDIS_", "REMINDER"))
        }
        self.env.update(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=slack.api_url,
            REDIS_URL=REDIS_URL,
            SNAPSHOT_ON_DECLARE="false",
            REMINDER_SCAN_INTERVAL="0.5",
            REMINDER_CLAIM_TTL="2",
        )

    def start(self, name: str, command: str, clock: FakeTime | None = None) -> Process:
        """`clock`: the process lives on that fake clock (libfaketime), not the real one."""
        port = free_port()
        env = dict(self.env, PORT=str(port), WORKER_PORT=str(port))
        if clock is not None:
            env.update(clock.env())
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", command], env=env, cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        process = Process(name, proc, port)
        self.started.append(process)
        return process

    def wait_ready(self, *procs: Process) -> None:
        for p in procs:
            def ready(p: Process = p) -> bool:
                if p.proc.poll() is not None:
                    raise AssertionError(f"{p.name} exited with {p.proc.returncode}")
                return healthy(p.health_port)

            wait_until(ready, f"{p.name} /healthz")

    def stop(self) -> None:
        for p in self.started:
            p.stop()


@contextmanager
def fleet(slack: SlackEmulator) -> Iterator[Fleet]:
    f = Fleet(slack)
    try:
        yield f
    finally:
        f.stop()


@pytest.fixture
def clean_redis() -> Iterator[None]:
    client = sync_redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield
    client.flushdb()


@pytest.fixture
async def store(clean_redis: None) -> AsyncIterator[RedisStore]:
    s = RedisStore(Db(connect(REDIS_URL)))
    yield s
    await s.aclose()


def driver(slack: SlackEmulator, p: Process) -> SlackDriver:
    return SlackDriver(
        endpoint=f"http://127.0.0.1:{p.health_port}/slack/events",
        signing_secret=SIGNING_SECRET, emulator=slack,
    )


async def test_a_retry_reaching_the_other_replica_is_recorded_once(
    slack: SlackEmulator, store: RedisStore
) -> None:
    with fleet(slack) as f:
        serve_a, serve_b = f.start("serve-a", "serve"), f.start("serve-b", "serve")
        await asyncio.to_thread(f.wait_ready, serve_a, serve_b)
        a, b = driver(slack, serve_a), driver(slack, serve_b)
        incidents = slack.channel_by_name("incidents")
        assert incidents is not None
        before = set(slack.channel_ids())
        reply = await a.command(
            "declare Checkout errors after deploy sev:2", user=ALICE, channel=incidents.id,
            settle=False,
        )
        assert reply.status == 200
        await asyncio.to_thread(
            wait_until, lambda: len(set(slack.channel_ids()) - before) == 1, "the war room"
        )
        [channel] = set(slack.channel_ids()) - before
        incident_id = await store.incident_id_for_channel(channel)
        assert incident_id is not None

        said = slack.post_as_user(channel, BOB, "rolling back the deploy")
        message = {"type": "message", "channel": channel, "user": BOB, "ts": said,
                   "text": "rolling back the deploy", "channel_type": "channel"}
        pin = {"type": "reaction_added", "user": BOB, "reaction": "pushpin",
               "item": {"type": "message", "channel": channel, "ts": said}}
        for event, event_id in ((message, "EvMSG1"), (pin, "EvPIN1")):
            assert await a.event(event, event_id=event_id, settle=False) == 200
            assert await b.event(event, event_id=event_id, retry_num=1, settle=False) == 200
            assert await a.event(event, event_id=event_id, retry_num=2, settle=False) == 200

        kinds = Counter(e.kind for _, e in await store.events(incident_id))
        assert kinds[EventKind.MESSAGE] == 1 and kinds[EventKind.KEY_MARKED] == 1
        # state is shared: the other replica changes the incident the first one declared
        reply = await b.command("severity 1", user=ALICE, channel=channel, settle=False)
        assert reply.status == 200
        await asyncio.to_thread(
            wait_until,
            lambda: asyncio.run(_severity(incident_id)) == 1,
            "severity set through the other replica",
        )


async def _severity(incident_id: str) -> int:
    s = RedisStore(Db(connect(REDIS_URL)))
    try:
        return int((await s.get_incident(incident_id)).severity.value)
    finally:
        await s.aclose()


def reminder_dms(slack: SlackEmulator) -> Counter[str]:
    """How many reminder DMs to BOB named each item id."""
    counts: Counter[str] = Counter()
    for call in slack.calls("chat.postMessage"):
        if call.response.get("ok") and call.args.get("channel") == BOB:
            text = str(call.args.get("text", ""))
            counts.update(f"AI-{n:04d}" for n in range(1, ITEMS + 1) if f"AI-{n:04d}" in text)
    return counts


async def test_reminders_due_while_a_worker_dies_mid_job_go_out_once(
    slack: SlackEmulator, store: RedisStore
) -> None:
    # the workers' clock: a Wednesday at noon in BOB's London, whatever day the suite runs
    clock = FakeTime(WEDNESDAY_NOON)
    now = clock.now()
    for n in range(1, ITEMS + 1):
        await store.actions.create(
            ActionItem(
                id=f"AI-{n:04d}", incident_id="INC-20261127-0001", text=f"Fix thing {n}",
                owner=BOB, created_by=ALICE, created_at=now - timedelta(days=1),
                due=now + timedelta(hours=6), next_reminder_at=now - timedelta(minutes=n),
            )
        )
    slack.method_latency["users.info"] = 1.5  # a worker stays inside its first job a while
    claimed = sync_redis.Redis.from_url(REDIS_URL)
    with fleet(slack) as f:
        serve_a, serve_b = f.start("serve-a", "serve"), f.start("serve-b", "serve")
        first = f.start("worker-a", "worker", clock)
        await asyncio.to_thread(
            wait_until,
            lambda: any(
                claimed.exists(keys.action_item_claim(f"AI-{n:04d}")) for n in range(1, ITEMS + 1)
            ),
            "worker-a to claim an item",
        )
        first.kill9()  # mid-job: it holds a claim and has sent nothing for that item
        assert reminder_dms(slack) == Counter()
        others = f.start("worker-b", "worker", clock), f.start("worker-c", "worker", clock)
        await asyncio.to_thread(f.wait_ready, serve_a, serve_b, *others)
        await asyncio.to_thread(
            wait_until, lambda: len(reminder_dms(slack)) == ITEMS, "every reminder", 60
        )
        await asyncio.sleep(2.5)  # more scans by both workers, past the dead claim's expiry
        assert reminder_dms(slack) == Counter({f"AI-{n:04d}": 1 for n in range(1, ITEMS + 1)})


async def test_one_scan_per_interval_whichever_worker_ticks(
    slack: SlackEmulator, store: RedisStore
) -> None:
    from bot.wiring import build_scanner
    from bot.worker import scan_job, scan_lease_ttl
    from tests.conftest import make_settings

    settings = make_settings(slack, REDIS_URL)
    clock = ManualClock(WEDNESDAY_NOON)  # BOB's working hours, whatever day the suite runs
    a, b = build_scanner(settings, clock=clock), build_scanner(settings, clock=clock)
    now = clock()

    async def add_due(n: int) -> None:
        await store.actions.create(
            ActionItem(
                id=f"AI-{n:04d}", incident_id="INC-20261127-0001", text=f"Fix {n}", owner=BOB,
                created_by=ALICE, created_at=now, due=now + timedelta(hours=6),
                next_reminder_at=now - timedelta(minutes=1),
            )
        )

    try:
        await add_due(1)
        await scan_job(a, lease_ttl=scan_lease_ttl(60))
        assert reminder_dms(slack) == Counter({"AI-0001": 1})
        await add_due(2)
        await scan_job(b, lease_ttl=scan_lease_ttl(60))  # same interval: a already scanned
        assert reminder_dms(slack) == Counter({"AI-0001": 1})
        await store.leases.db.client.delete(keys.lease("job:reminder_scan"))  # interval over
        await scan_job(b, lease_ttl=scan_lease_ttl(60))
        assert reminder_dms(slack) == Counter({"AI-0001": 1, "AI-0002": 1})
    finally:
        await a.store.aclose()
        await b.store.aclose()
