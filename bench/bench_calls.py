"""A call link on declare never holds the declare: `/incident declare … sev:2` against the
local Slack emulator answering every Web API call after LATENCY (150 ms, Slack's usual round
trip), with no call provider, with the fixed bridge (MEETING_URL), with Zoom (its local
stand-in answering at once) and with Zoom down (the stand-in slower than the bot's 3 s call
timeout, on every try). Each declare is timed from its ack to the moment the emulator answered
the announcement in #incidents and the header message, in units of LATENCY; the Web API calls
per declare are counted; and whether the call link reached the topic.

Goals: the announcement and the header with Zoom down within half a round trip of the same
declare without any call provider (the call never holds them); the bridge costs no extra
Web API call.

Run: .venv/bin/python -m bench.bench_calls   (BENCH_REDIS_URL picks the Redis; db 11 of the
local Redis by default, flushed)"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import time
from typing import Any

import redis as sync_redis
import structlog
from pydantic import AnyHttpUrl

from bench import BOT_TOKEN, SIGNING_SECRET, append_result, free_port, in_process_settings
from bot.runners import serve_http
from bot.wiring import build_bot
from sandbox.driver import SlackDriver
from sandbox.slack_emulator import SlackEmulator
from sandbox.standins.zoom import ZoomStandin

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
USER = "U0ALICE"
LATENCY = 0.150
ROUNDS = 6
WARMUP = 1
HOLD_GOAL = 0.5  # round trips


async def declares(emu: SlackEmulator, zoom: ZoomStandin, case: str) -> dict[str, float]:
    settings = in_process_settings(emu.api_url, REDIS_URL)
    extra: dict[str, Any] = {}
    if case == "bridge":
        extra = {"meeting_url": AnyHttpUrl("https://meet.example/incident-bridge")}
    elif case.startswith("zoom"):
        extra = {"zoom_account_id": zoom.account_id, "zoom_client_id": zoom.client_id,
                 "zoom_client_secret": zoom.client_secret,
                 "zoom_api_url": AnyHttpUrl(zoom.base_url),
                 "zoom_oauth_url": AnyHttpUrl(zoom.base_url)}
    bot = build_bot(settings.model_copy(update=extra))
    port = free_port()
    runner = await serve_http(bot, "127.0.0.1", port)
    driver = SlackDriver(endpoint=f"http://127.0.0.1:{port}/slack/events",
                         signing_secret=SIGNING_SECRET, emulator=emu)
    incidents = emu.channel_by_name("incidents")
    assert incidents is not None
    announce: list[float] = []
    header: list[float] = []
    calls: list[int] = []
    linked = 0
    try:
        for i in range(WARMUP + ROUNDS):
            zoom.reset()
            if case == "zoom_down":
                zoom.fail(0, delay=10.0, times=100)  # slower than the 3 s timeout, every try
            emu.latency = 0.0 if i < WARMUP else LATENCY
            before = len(emu.calls())
            before_channels = set(emu.channel_ids())
            reply = await driver.command(f"declare Calls {case} {i} sev:2", user=USER,
                                         channel=incidents.id, settle=False)
            acked = time.perf_counter()
            await driver.settle()
            assert reply.status == 200, reply
            [channel] = [c for c in emu.channel_ids() if c not in before_channels]
            new = emu.calls()[before:]
            [announced] = [c.answered for c in new if c.method == "chat.postMessage"
                           and c.args.get("channel") == incidents.id]
            headed = min(c.answered for c in new if c.method == "chat.postMessage"
                         and c.args.get("channel") == channel)
            topics = [c.args.get("topic", "") for c in new
                      if c.method == "conversations.setTopic"]
            if i >= WARMUP:
                announce.append((announced - acked) / LATENCY)
                header.append((headed - acked) / LATENCY)
                calls.append(len(new))
                linked += any("Call:" in t for t in topics)
            zoom.heal()
    finally:
        emu.latency = 0.0
        await runner.cleanup()
        await bot.services.store.aclose()
    return {"announce": round(statistics.median(announce), 2),
            "header": round(statistics.median(header), 2),
            "calls": statistics.median(calls), "linked": linked / ROUNDS}


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    r = sync_redis.Redis.from_url(REDIS_URL)
    r.flushdb()
    emu = SlackEmulator(token=BOT_TOKEN).start()
    zoom = ZoomStandin().start()
    results: dict[str, dict[str, float]] = {}
    try:
        for case in ("none", "bridge", "zoom", "zoom_down"):
            results[case] = asyncio.run(declares(emu, zoom, case))
            r.flushdb()
    finally:
        emu.stop()
        zoom.stop()
        r.flushdb()
    none, down = results["none"], results["zoom_down"]
    held = max(down["announce"] - none["announce"], down["header"] - none["header"])
    numbers = "; ".join(
        f"{case}: announcement {v['announce']:g}, header {v['header']:g} round trips, "
        f"{v['calls']:g} calls, link in topic {v['linked']:.0%}"
        for case, v in results.items()
    )
    append_result({
        "bench": "calls",
        "how": (f"signed `/incident declare … sev:2`, emulator answering every Web API call "
                f"after {LATENCY * 1000:.0f} ms; no provider, MEETING_URL, the Zoom stand-in, "
                f"the Zoom stand-in slower than the call timeout; median of {ROUNDS}"),
        "cases": results,
        "value": round(held, 2),
        "goal": HOLD_GOAL,
        "checks": [
            {"what": "`/incident declare` with Zoom down: announcement and header held by",
             "numbers": numbers, "value": round(held, 2), "unit": "round trips",
             "goal": HOLD_GOAL, "op": "<="},
            {"what": "`/incident declare` with MEETING_URL: extra Web API calls",
             "numbers": numbers,
             "value": results["bridge"]["calls"] - none["calls"], "unit": "calls",
             "goal": 0, "op": "<="},
        ],
    })


if __name__ == "__main__":
    main()
