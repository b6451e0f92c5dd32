"""Fan-out of one `/incident update` to 500 followers against Slack's rate limits.

The bot serves HTTP in this process (build_bot + serve_http, Redis db 7 on 127.0.0.1:6379
unless BENCH_REDIS_URL says otherwise, flushed) and the worker runs beside it (run_worker
with the worker's own jobs and Slack client, as `incident-bot worker` runs them), against
the Slack emulator with its Slack-like rate limits on (`RateLimits.slack()`:
chat.postMessage about 1 a second per channel with a burst of 3, and 600 a minute per
workspace with a burst of 60; 429 with Retry-After). One SEV1 is declared, FOLLOWERS
workspace members follow it, and one signed `/incident update` is timed from the request
until every follower has its DM: the web process queues the DMs in the Redis outbox, the
worker's poll picks the job up and sends them (bot/updates/fanout.py). Counted from the
emulator: DMs delivered (each follower exactly once), 429s answered, Web API calls. The
floor is what the workspace limit allows: (FOLLOWERS - burst) / (600 a minute).

Goals: every follower gets the update exactly once; time within 1.5x of the limit's floor.

Run: .venv/bin/python -m bench.bench_fanout"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import Counter

import redis as sync_redis
import structlog

from bench import BOT_TOKEN, SIGNING_SECRET, append_result, free_port, in_process_settings
from bot.runners import serve_http
from bot.wiring import build_bot, build_scanner, build_worker_jobs
from bot.worker import run_worker
from sandbox.driver import SlackDriver
from sandbox.slack_emulator import RateLimits, SlackEmulator

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
FOLLOWERS = 500
IC = "U0ALICE"
FLOOR_GOAL = 1.5


def dm_counts(emu: SlackEmulator, followers: list[str]) -> Counter[str]:
    """How many DMs of the update each follower has."""
    wanted = set(followers)
    delivered: Counter[str] = Counter()
    for ch in emu.channels():
        if ch.is_im and ch.im_user in wanted:
            delivered[ch.im_user] += sum(
                1 for m in emu.messages(ch.id) if "Status update #1" in m.text
            )
    return +delivered


async def run(emu: SlackEmulator) -> dict[str, object]:
    settings = in_process_settings(emu.api_url, REDIS_URL)
    bot = build_bot(settings)
    stop = asyncio.Event()
    worker = asyncio.create_task(
        run_worker(
            build_scanner(settings), scan_interval=settings.reminder_scan_interval, stop=stop,
            jobs=build_worker_jobs(settings),
        )
    )
    port = free_port()
    runner = await serve_http(bot, "127.0.0.1", port)
    driver = SlackDriver(
        endpoint=f"http://127.0.0.1:{port}/slack/events", signing_secret=SIGNING_SECRET,
        emulator=emu,
    )
    followers = [emu.add_user(f"follower{i}", f"Follower {i}").id for i in range(FOLLOWERS)]
    incidents = emu.channel_by_name("incidents")
    assert incidents is not None
    try:
        before = set(emu.channel_ids())
        await driver.command("declare Checkout API returning 500s sev:1", user=IC,
                             channel=incidents.id)
        [channel] = [c for c in emu.channel_ids() if c not in before]
        incident = await bot.services.incidents.for_channel(channel)
        assert incident is not None
        for user in followers:
            await bot.services.updates.subscribe(incident, user)
        await asyncio.sleep(2)  # the declare's own calls: let the buckets refill
        first_call = len(emu.calls())
        started = time.perf_counter()
        reply = await driver.command(
            "update Failover to the replica is done; error rate falling next:30m",
            user=IC, channel=channel, settle=False,
        )
        acked = time.perf_counter()
        await driver.settle(timeout=600)
        deadline = time.monotonic() + 600
        outbox = bot.services.store.fanout
        while len(dm_counts(emu, followers)) < FOLLOWERS or await outbox.waiting():
            assert time.monotonic() < deadline, "the worker did not send every DM in 10 minutes"
            await asyncio.sleep(0.02)
        done = time.perf_counter()
        assert reply.status == 200, reply
        calls = emu.calls()[first_call:]
    finally:
        stop.set()
        await worker
        await runner.cleanup()
        await bot.services.store.aclose()
    delivered = dm_counts(emu, followers)
    got = sum(1 for u in followers if delivered[u] >= 1)
    twice = sum(1 for u in followers if delivered[u] > 1)
    limited = [c for c in calls if c.http_status == 429]
    by_method = Counter(c.method for c in limited)
    posts = [c for c in calls if c.method == "chat.postMessage" and c.http_status == 200]
    limits = RateLimits.slack()
    workspace = limits.methods["chat.postMessage"]
    floor = max(0.0, (len(posts) - workspace.burst) / (workspace.per_minute / 60))
    wall = done - started
    ratio = wall / floor if floor else 0.0
    numbers = (
        f"{got}/{FOLLOWERS} followers DMed ({twice} twice), {wall:.1f} s from the command "
        f"(ack {1000 * (acked - started):.0f} ms), {len(limited)} answers 429 "
        f"({', '.join(f'{m} {n}' for m, n in by_method.items()) or 'none'}), "
        f"{len(calls)} Web API calls; the workspace limit's floor for {len(posts)} posts is "
        f"{floor:.1f} s"
    )
    return {
        "bench": "update_fanout",
        "how": (
            f"one signed `/incident update` to {FOLLOWERS} followers, in-process bot and worker "
            "(the DMs through the Redis outbox), emulator with Slack's rate limits "
            "(chat.postMessage 1/s per channel burst 3, 600/min per workspace burst 60, "
            "429 + Retry-After); time until every DM is sent"
        ),
        "followers": FOLLOWERS,
        "delivered": got,
        "delivered_twice": twice,
        "seconds": round(wall, 2),
        "ack_ms": round(1000 * (acked - started), 1),
        "rate_limited": len(limited),
        "rate_limited_by_method": dict(by_method),
        "calls": len(calls),
        "floor_seconds": round(floor, 2),
        "value": round(ratio, 2),
        "goal": FLOOR_GOAL,
        "checks": [
            {
                "what": f"one update to {FOLLOWERS} followers: each DMed exactly once",
                "numbers": numbers,
                "value": got - twice,
                "unit": "followers",
                "goal": FOLLOWERS,
                "op": ">=",
            },
            {
                "what": f"one update to {FOLLOWERS} followers: time / the rate limit's floor",
                "numbers": numbers,
                "value": round(ratio, 2),
                "unit": "x",
                "goal": FLOOR_GOAL,
                "op": "<=",
            },
        ],
    }


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    sync_redis.Redis.from_url(REDIS_URL).flushdb()
    emu = SlackEmulator(token=BOT_TOKEN, rate_limits=RateLimits.slack())
    emu.start()
    try:
        row = asyncio.run(run(emu))
    finally:
        emu.stop()
        sync_redis.Redis.from_url(REDIS_URL).flushdb()
    append_result(row)


if __name__ == "__main__":
    main()
