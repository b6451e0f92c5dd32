"""Ack latency of a signed slash command through POST /slack/events: the bot vs a bare Bolt
AsyncApp, measured in the same run, interleaved.

* bot: `incident-bot serve` (subprocess; Slack Web API = the local emulator, Redis db 9,
  flushed).
* bare: a Bolt AsyncApp in its own subprocess on the same stack (`app.web_app()` served by
  aiohttp's AppRunner/TCPSite), same signing secret, same emulator, one `/incident`
  listener that only does `await ack()`.

The load generator (this process) sends signed `/incident help` — and then `/incident roles`
from inside an incident channel — open-loop at RATE req/s to EACH server for DURATION s,
alternating bot/bare request by request (the pair order flips every pair), over keep-alive
loopback connections. Latency = request sent → ack response read. Reported: p50/p99 per
server, ratio bot/bare (goal <= 1.2, on p50; p99 ratio shown too) and the bot's p99 against
Slack's 3 s ack limit. Prints the result and appends a JSON line to bench/results.jsonl.

Run: .venv/bin/python -m bench.bench_ack"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from typing import Any

import aiohttp
import redis as sync_redis

from bench import (
    BOT_TOKEN,
    SIGNING_SECRET,
    append_result,
    free_port,
    log_path,
    serve_bot,
    start_process,
    steady_load_generator,
    stop_process,
    wait_port,
)
from bench.load import declare
from sandbox import slack_requests as sr
from sandbox.slack_emulator import SlackEmulator

REDIS_URL = "redis://127.0.0.1:6379/9"
RATE = 50  # requests per second, per server
DURATION = 10.0  # seconds per scenario
WARMUP = 20  # requests per server before measuring
GOAL = 1.2
SLACK_LIMIT = 3.0
USER = "U0ALICE"


# --------------------------------------------------------------------------- bare Bolt app


def serve_bare(port: int, api_url: str) -> None:
    """The floor: a Bolt AsyncApp whose /incident listener only acks."""
    import logging

    from aiohttp import web
    from slack_bolt.async_app import AsyncAck, AsyncApp

    from bot.cli import configure_logging
    from bot.slack.gateway import build_client

    configure_logging()
    app = AsyncApp(
        client=build_client(BOT_TOKEN, api_url),
        signing_secret=SIGNING_SECRET,
        request_verification_enabled=True,
        logger=logging.getLogger("bolt"),
    )

    @app.command("/incident")
    async def incident(ack: AsyncAck) -> None:
        await ack()

    @app.event("message")
    async def message() -> None:  # the floor for bench_timeline (events are auto-acked)
        return None

    async def run() -> None:
        runner = web.AppRunner(app.web_app(path="/slack/events"))
        await runner.setup()
        await web.TCPSite(runner, "0.0.0.0", port).start()
        await asyncio.Event().wait()

    asyncio.run(run())


# --------------------------------------------------------------------------- load


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


class Target:
    def __init__(self, name: str, port: int) -> None:
        self.name = name
        self.url = f"http://127.0.0.1:{port}/slack/events"
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.response_urls: list[str] = []


async def one(
    session: aiohttp.ClientSession,
    target: Target,
    emu: SlackEmulator,
    text: str,
    channel: str,
    record: bool,
) -> None:
    response_url = emu.new_response_url(channel)
    body = sr.slash_command("/incident", text, USER, channel, response_url, "trig-bench")
    headers = sr.signed_headers(SIGNING_SECRET, body)
    data = body.encode()
    started = time.perf_counter()
    try:
        async with session.post(target.url, data=data, headers=headers) as resp:
            await resp.read()
            status = resp.status
    except aiohttp.ClientError as exc:
        target.errors.append(repr(exc))
        return
    elapsed = time.perf_counter() - started
    if status != 200:
        target.errors.append(f"HTTP {status}")
        return
    if record:
        target.latencies.append(elapsed)
        target.response_urls.append(response_url)


async def scenario(
    emu: SlackEmulator, targets: list[Target], text: str, channel: str
) -> None:
    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn) as session:
        for _ in range(WARMUP):
            for t in targets:
                await one(session, t, emu, text, channel, record=False)
        await asyncio.sleep(0.5)
        total = int(RATE * DURATION) * len(targets)
        interval = 1.0 / (RATE * len(targets))
        with steady_load_generator():
            loop = asyncio.get_running_loop()
            start = loop.time() + 0.05
            tasks = []
            for i in range(total):
                pair, k = divmod(i, len(targets))
                target = targets[k] if pair % 2 == 0 else targets[-1 - k]
                delay = start + i * interval - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(session, target, emu, text, channel, True)))
            await asyncio.gather(*tasks)


def summary(t: Target) -> dict[str, Any]:
    lat = t.latencies
    return {
        "n": len(lat),
        "errors": len(t.errors),
        "p50_ms": round(statistics.median(lat) * 1000, 2),
        "p99_ms": round(pct(lat, 99) * 1000, 2),
        "max_ms": round(max(lat) * 1000, 2),
    }


def start_bare(api_url: str) -> tuple[subprocess.Popen[bytes], int]:
    """The bare Bolt app in its own process, listening on a free loopback port."""
    port = free_port()
    proc = start_process(
        [sys.executable, "-m", "bench.bench_ack", "--bare", str(port), api_url],
        env=dict(os.environ),
        log_path=log_path(f"bare-{port}"),
    )
    try:
        wait_port(port, proc)
    except Exception:
        stop_process(proc)
        raise
    return proc, port


def main() -> None:
    sync_redis.Redis.from_url(REDIS_URL).flushdb()
    emu = SlackEmulator(token=BOT_TOKEN).start()
    bot_proc, bot_port = serve_bot(emu.api_url, REDIS_URL, "ack-bot")
    try:
        bare_proc, bare_port = start_bare(emu.api_url)
    except Exception:
        stop_process(bot_proc)
        raise
    procs: list[subprocess.Popen[bytes]] = [bot_proc, bare_proc]
    results: dict[str, dict[str, Any]] = {}
    try:
        channel = asyncio.run(declare(emu, bot_port, REDIS_URL, "Bench ack incident"))
        incidents = emu.channel_by_name("incidents")
        assert incidents is not None
        for name, text, where in (
            ("help", "help", incidents.id),
            ("roles", "roles", channel),
        ):
            bot, bare = Target("bot", bot_port), Target("bare", bare_port)
            asyncio.run(scenario(emu, [bot, bare], text, where))
            time.sleep(1.0)  # let the bot finish answering via response_url
            answered = sum(1 for u in bot.response_urls[-50:] if emu.responses(u))
            results[name] = {
                "bot": summary(bot),
                "bare": summary(bare),
                "bot_answered_last_50": answered,
                "bot_error_sample": bot.errors[:3],
            }
    finally:
        for p in procs:
            stop_process(p)
        emu.stop()
        sync_redis.Redis.from_url(REDIS_URL).flushdb()

    checks = []
    for name, r in results.items():
        ratio50 = r["bot"]["p50_ms"] / r["bare"]["p50_ms"]
        ratio99 = r["bot"]["p99_ms"] / r["bare"]["p99_ms"]
        r["ratio_p50"] = round(ratio50, 2)
        r["ratio_p99"] = round(ratio99, 2)
        checks.append(
            {
                "what": f"ack `/incident {name}`, bot p50 / bare Bolt p50",
                "numbers": (
                    f"bot p50 {r['bot']['p50_ms']} ms, p99 {r['bot']['p99_ms']} ms; "
                    f"bare p50 {r['bare']['p50_ms']} ms, p99 {r['bare']['p99_ms']} ms; "
                    f"p99 ratio {r['ratio_p99']}; n={r['bot']['n']}+{r['bare']['n']}, "
                    f"errors {r['bot']['errors']}+{r['bare']['errors']}"
                ),
                "value": r["ratio_p50"],
                "unit": "x",
                "goal": GOAL,
                "op": "<=",
            }
        )
        checks.append(
            {
                "what": f"ack `/incident {name}`, bot p99 vs Slack's 3 s limit",
                "numbers": f"p99 {r['bot']['p99_ms']} ms, max {r['bot']['max_ms']} ms",
                "value": round(r["bot"]["p99_ms"] / 1000, 4),
                "unit": "s",
                "goal": SLACK_LIMIT,
                "op": "<=",
            }
        )
    append_result(
        {
            "bench": "ack_latency",
            "how": (
                f"signed slash commands, open loop {RATE} req/s per server for {DURATION:.0f} s, "
                "bot and bare Bolt AsyncApp interleaved, keep-alive loopback"
            ),
            "rate_per_server": RATE,
            "duration_seconds": DURATION,
            "scenarios": results,
            "ratio": max(r["ratio_p50"] for r in results.values()),
            "goal": GOAL,
            "checks": checks,
        }
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--bare", nargs=2, metavar=("PORT", "API_URL"))
    args = parser.parse_args()
    if args.bare:
        serve_bare(int(args.bare[0]), args.bare[1])
    else:
        main()
