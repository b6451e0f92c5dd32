"""`/incident declare` end to end against the local Slack emulator: ack → channel created,
roles, topic, header, announcement in #incidents.

The bot serves HTTP in this process (build_bot + serve_http, Redis db 10, flushed) and is
driven by sandbox.driver.SlackDriver with signed requests; wall time per declare runs from
sending the request until the bot's background work for it is done (`driver.settle()`),
median of ROUNDS declares after WARMUP (each with a distinct title, so no channel-name
retries). Web API calls per declare are counted from the emulator's `calls()`.
Goals: median wall <= 1 s, <= 8 Web API calls per declare.

Run: .venv/bin/python -m bench.bench_declare"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections import Counter

import redis as sync_redis
import structlog

from bench import BOT_TOKEN, SIGNING_SECRET, append_result, free_port
from bot.runners import serve_http
from bot.settings import Settings
from bot.wiring import build_bot
from sandbox.driver import SlackDriver
from sandbox.slack_emulator import SlackEmulator

REDIS_URL = "redis://127.0.0.1:6379/10"
ROUNDS = 20
WARMUP = 2
WALL_GOAL = 1.0
CALLS_GOAL = 8
USER = "U0ALICE"


async def run(emu: SlackEmulator) -> dict[str, object]:
    settings = Settings.model_validate(
        {
            "slack_bot_token": BOT_TOKEN,
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": emu.api_url,
            "redis_url": REDIS_URL,
            "incidents_channel": "incidents",
            "snapshot_on_declare": False,
            "prometheus_url": None,
            "anthropic_api_key": None,
        }
    )
    bot = build_bot(settings)
    port = free_port()
    runner = await serve_http(bot, "127.0.0.1", port)
    driver = SlackDriver(
        endpoint=f"http://127.0.0.1:{port}/slack/events",
        signing_secret=SIGNING_SECRET,
        emulator=emu,
    )
    incidents = emu.channel_by_name("incidents")
    assert incidents is not None
    walls: list[float] = []
    acks: list[float] = []
    calls: list[int] = []
    methods: Counter[str] = Counter()
    try:
        for i in range(WARMUP + ROUNDS):
            before_channels = set(emu.channel_ids())
            before_calls = len(emu.calls())
            started = time.perf_counter()
            reply = await driver.command(
                f"declare Bench declare {i} checkout returning 500s sev:2",
                user=USER,
                channel=incidents.id,
                settle=False,
            )
            acked = time.perf_counter()
            await driver.settle()
            done = time.perf_counter()
            assert reply.status == 200, reply
            created = [c for c in emu.channel_ids() if c not in before_channels]
            assert len(created) == 1, (created, reply.text, emu.responses())
            new_calls = emu.calls()[before_calls:]
            if i >= WARMUP:
                walls.append(done - started)
                acks.append(acked - started)
                calls.append(len(new_calls))
                methods.update(c.method for c in new_calls)
    finally:
        await runner.cleanup()
        await bot.services.store.redis.aclose()
    per_declare = {m: round(n / ROUNDS, 2) for m, n in sorted(methods.items())}
    wall = statistics.median(walls)
    calls_median = statistics.median(calls)
    return {
        "bench": "declare",
        "how": (
            f"signed `/incident declare` to the bot's HTTP endpoint, in-process, emulator "
            f"Web API on loopback; median of {ROUNDS} after {WARMUP} warm-up"
        ),
        "rounds": ROUNDS,
        "wall_seconds_median": round(wall, 4),
        "wall_seconds_max": round(max(walls), 4),
        "ack_seconds_median": round(statistics.median(acks), 4),
        "calls_per_declare_median": calls_median,
        "calls_per_declare_max": max(calls),
        "calls_by_method": per_declare,
        "value": round(wall, 4),
        "goal": WALL_GOAL,
        "checks": [
            {
                "what": "`/incident declare` end to end, median wall time",
                "numbers": (
                    f"median {wall * 1000:.1f} ms, max {max(walls) * 1000:.1f} ms, "
                    f"ack median {statistics.median(acks) * 1000:.1f} ms"
                ),
                "value": round(wall, 4),
                "unit": "s",
                "goal": WALL_GOAL,
                "op": "<=",
            },
            {
                "what": "`/incident declare`, Web API calls per declare",
                "numbers": ", ".join(f"{m} {n:g}" for m, n in per_declare.items()),
                "value": calls_median,
                "unit": "calls",
                "goal": CALLS_GOAL,
                "op": "<=",
            },
        ],
    }


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    r = sync_redis.Redis.from_url(REDIS_URL)
    r.flushdb()
    emu = SlackEmulator(token=BOT_TOKEN).start()
    try:
        row = asyncio.run(run(emu))
    finally:
        emu.stop()
        r.flushdb()
    append_result(row)


if __name__ == "__main__":
    main()
