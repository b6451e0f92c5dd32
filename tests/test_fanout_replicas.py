"""A web process killed in the middle of a fan-out loses no follower: real `python -m bot
serve` and `worker` processes on one Redis, the Slack emulator in the test process. An
update taken by one replica and a resolve taken by the other are each killed with kill -9
while their DMs are going out; two workers drain the outbox and every follower gets each
DM exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from pathlib import Path

from bot.store.connection import Db, connect
from bot.store.redis_store import RedisStore
from sandbox.driver import SlackDriver
from sandbox.slack_emulator import SlackEmulator
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, free_port
from tests.processes import BotProcess

ALICE = "U0ALICE"
FOLLOWERS = 60


def start(mode: str, slack: SlackEmulator, redis_url: str, tmp_path: Path) -> BotProcess:
    port = free_port()
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "REDIS_URL": redis_url,
        "PORT": str(port),
        "WORKER_PORT": str(port),
        "SNAPSHOT_ON_DECLARE": "false",
    }
    return BotProcess(mode, env, port, tmp_path).start()


def kill9(process: BotProcess) -> None:
    assert process.proc is not None
    os.kill(process.proc.pid, signal.SIGKILL)
    process.proc.wait(10)


def dms(slack: SlackEmulator, followers: list[str], marker: str) -> Counter[str]:
    wanted = set(followers)
    got: Counter[str] = Counter()
    for ch in slack.channels():
        if ch.is_im and ch.im_user in wanted:
            got[ch.im_user] += sum(1 for m in slack.messages(ch.id) if marker in m.text)
    return +got


async def until(
    check: object, what: str, procs: list[BotProcess], limit: float = 60
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not check():  # type: ignore[operator]
        if loop.time() > deadline:
            logs = "\n".join(f"--- {p.mode} {p.port}\n{p.log[-4000:]}" for p in procs)
            raise AssertionError(f"timed out waiting for {what}\n{logs}")
        await asyncio.sleep(0.02)


async def test_web_processes_killed_mid_fanout_lose_no_follower(
    slack: SlackEmulator, redis_url: str, tmp_path: Path
) -> None:
    procs = [start("serve", slack, redis_url, tmp_path) for _ in range(2)]
    procs += [start("worker", slack, redis_url, tmp_path) for _ in range(2)]
    serve_a, serve_b = procs[0], procs[1]
    store = RedisStore(Db(connect(redis_url)))
    try:
        for p in procs:
            await p.wait_for("/healthz", 200)
        a = SlackDriver(endpoint=f"{serve_a.url}/slack/events", signing_secret=SIGNING_SECRET,
                        emulator=slack)
        b = SlackDriver(endpoint=f"{serve_b.url}/slack/events", signing_secret=SIGNING_SECRET,
                        emulator=slack)
        before = set(slack.channel_ids())
        assert (await a.command("declare Checkout errors sev:2", user=ALICE,
                                channel="C0INCIDENTS", settle=False)).status == 200
        await until(lambda: len(set(slack.channel_ids()) - before) == 1, "the war room", procs)
        [channel] = set(slack.channel_ids()) - before
        incident_id = None
        while incident_id is None:  # the channel comes first, the record right after
            incident_id = await store.incident_id_for_channel(channel)
            await asyncio.sleep(0.02)
        while not slack.messages(channel):  # and the declare's own posts after it
            await asyncio.sleep(0.02)
        followers = [slack.add_user(f"follower{i}", f"Follower {i}").id for i in range(FOLLOWERS)]
        for user in followers:
            await store.updates.subscribe(incident_id, user)
        slack.method_latency["chat.postMessage"] = 0.2  # each DM a Slack round trip

        for replica, words, marker in (
            (a, "update Failover to the replica is done", "Status update #1"),
            (b, "resolve Rolled back the deploy", "is resolved"),
        ):
            process = serve_a if replica is a else serve_b
            assert (await replica.command(words, user=ALICE, channel=channel,
                                          settle=False)).status == 200
            await until(
                lambda m=marker: len(dms(slack, followers, m)) > 0, f"{marker}: a DM", procs
            )
            kill9(process)  # mid-fan-out
            reached = len(dms(slack, followers, marker))
            assert 0 < reached < FOLLOWERS, reached
            await until(lambda m=marker: len(dms(slack, followers, m)) == FOLLOWERS,
                        f"{marker}: every follower", procs)
        await asyncio.sleep(1.5)  # both workers poll on: nothing goes out twice
        for marker in ("Status update #1", "is resolved"):
            assert dms(slack, followers, marker) == Counter(dict.fromkeys(followers, 1)), marker
        assert await store.fanout.waiting() == 0
    finally:
        await store.aclose()
        for p in procs:
            p.stop()
