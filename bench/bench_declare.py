"""`/incident declare` end to end against the local Slack emulator: ack → channel created,
roles, topic, header, announcement in #incidents.

The bot serves HTTP in this process (build_bot + serve_http, Redis db 10 or BENCH_REDIS_URL,
flushed) and is
driven by sandbox.driver.SlackDriver with signed requests; wall time per declare runs from
sending the request until the bot's background work for it is done (`driver.settle()`),
median of ROUNDS declares after WARMUP (each with a distinct title, so no channel-name
retries). Web API calls per declare are counted from the emulator's `calls()`.
Goals: median wall <= 1 s, <= 8 Web API calls per declare.

Round trips: then the emulator answers every Web API call and response_url post after
LATENCY (150 ms, Slack's usual round trip) and each declare is timed from its ack (the
driver has the HTTP answer) to the moment the emulator answered (a) the announcement's
chat.postMessage in #incidents and (b) the last call of the declare (the reply to the
declarer included), in units of LATENCY. The same declares are run with declare's
follow-up steps made sequential again (what the bot did before they were concurrent), side
by side. Goals: announcement <= 2.5 round trips after the ack, last call <= 3.

Three setups (`SETUPS`): plain; with `services:` naming the seed scenario's service in
trouble, earlier declares of it (so similar incidents are posted) and a real Prometheus over
the seed scenario (so an impact start is offered), the bot's clock at the scenario's
incident; and the same with the metrics snapshot (SNAPSHOT_ON_DECLARE's default). The bench
checks that those posts were made, so a faster declare that skipped them would fail.

Run: .venv/bin/python -m bench.bench_declare"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import timedelta

import redis as sync_redis
import structlog

from bench import BOT_TOKEN, SIGNING_SECRET, append_result, free_port, in_process_settings
from bot.clock import ManualClock
from bot.runners import serve_http
from bot.settings import Settings
from bot.wiring import build_bot
from sandbox.driver import SlackDriver
from sandbox.prometheus_scenario import PrometheusServer
from sandbox.slack_emulator import SlackEmulator

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
ROUNDS = 20
WARMUP = 2
WALL_GOAL = 1.0
CALLS_GOAL = 8
USER = "U0ALICE"
LATENCY = 0.150
LATENCY_ROUNDS = 8
ANNOUNCE_GOAL = 2.5
LAST_CALL_GOAL = 3.0


async def run(emu: SlackEmulator) -> dict[str, object]:
    settings = in_process_settings(emu.api_url, REDIS_URL)
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
        await bot.services.store.aclose()
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


def hops(spans: list[tuple[float, float]]) -> list[int]:
    """For each (arrived, answered) call, how many calls lie on the longest chain ending with
    it: a call waited for every call answered before it arrived."""
    depth: list[int] = []
    for arrived, _ in spans:
        before = [d for (a, answered), d in zip(spans, depth, strict=False) if answered <= arrived]
        depth.append(1 + max(before, default=0))
    return depth


@dataclass(frozen=True)
class Setup:
    """What declare has to do besides the channel: similar past incidents to post (past
    declares with the same service), Prometheus to ask for an impact start, a snapshot."""

    name: str
    services: bool = False
    prometheus: bool = False
    snapshot: bool = False

    def settings(self, emu: SlackEmulator, prom: PrometheusServer | None) -> Settings:
        settings = in_process_settings(emu.api_url, REDIS_URL)
        if self.prometheus:
            assert prom is not None
            settings = settings.model_copy(
                update={"prometheus_url": prom.url, "snapshot_on_declare": self.snapshot}
            )
        return settings

    def text(self, n: str) -> str:
        """A distinct title first (channel names are cut from the title's first words)."""
        services = f" services:{SERVICE}" if self.services else ""
        tag = "".join(word[0] for word in self.name.split("+"))
        return f"declare R{tag}{n} round trips checkout 500s sev:2{services}"


SETUPS = (
    Setup("plain"),
    Setup("services+prometheus", services=True, prometheus=True),
    Setup("services+prometheus+snapshot", services=True, prometheus=True, snapshot=True),
)
SERVICE = "api-server"  # the seed scenario's service in trouble (bench data, not product code)


async def round_trips(
    emu: SlackEmulator, setup: Setup, prom: PrometheusServer | None, *, sequential: bool
) -> dict[str, float]:
    """Median round trips (of LATENCY) from the ack to the announcement and to the last call."""
    from bot.incidents.flows import Change

    sync_redis.Redis.from_url(REDIS_URL).flushdb()
    # with Prometheus, the bot's clock is the scenario's incident, a minute per declare (so
    # earlier declares are past incidents to match, and the metrics crossed HIGH before it)
    start = prom.times.now if prom is not None and prom.times is not None else None
    clock = ManualClock(start) if start is not None else None
    bot = build_bot(setup.settings(emu, prom), **({"clock": clock} if clock else {}))
    if sequential:  # the steps as they ran before: one after another
        steps = bot.services.flows._steps[Change.DECLARED]
        steps[:] = [replace(step, concurrent=False) for step in steps]
    port = free_port()
    runner = await serve_http(bot, "127.0.0.1", port)
    driver = SlackDriver(
        endpoint=f"http://127.0.0.1:{port}/slack/events",
        signing_secret=SIGNING_SECRET,
        emulator=emu,
    )
    incidents = emu.channel_by_name("incidents")
    assert incidents is not None
    announce: list[float] = []
    last: list[float] = []
    calls: list[int] = []
    posts: list[int] = []
    announce_hops: list[int] = []
    last_hops: list[int] = []
    try:
        for i in range(WARMUP + LATENCY_ROUNDS):
            if clock is not None:
                clock.advance(timedelta(minutes=1))
            emu.latency = 0.0 if i < WARMUP else LATENCY
            before_calls = len(emu.calls())
            before_responses = len(emu.responses())
            reply = await driver.command(
                setup.text(f"{int(sequential)}x{i}"),
                user=USER,
                channel=incidents.id,
                settle=False,
            )
            acked = time.perf_counter()
            await driver.settle()
            assert reply.status == 200, reply
            new_calls = emu.calls()[before_calls:]
            answered = [c.answered for c in new_calls] + [
                r.answered for r in emu.response_posts()[before_responses:]
            ]
            [announced] = [
                c.answered
                for c in new_calls
                if c.method == "chat.postMessage" and c.args.get("channel") == incidents.id
            ]
            spans = sorted(
                [(c.arrived, c.answered) for c in new_calls]
                + [(r.arrived, r.answered) for r in emu.response_posts()[before_responses:]]
            )
            depth = hops(spans)
            if i >= WARMUP:
                announce_hops.append(depth[[a for a, _ in spans].index(
                    next(c.arrived for c in new_calls if c.answered == announced)
                )])
                last_hops.append(max(depth))
                announce.append((announced - acked) / LATENCY)
                last.append((max(answered) - acked) / LATENCY)
                calls.append(len(new_calls) + len(emu.responses()) - before_responses)
                channel_posts = [
                    c for c in new_calls
                    if c.method == "chat.postMessage" and c.args.get("channel") != incidents.id
                ]
                posts.append(len(channel_posts))
                if setup.services:  # what declare posts besides the header, or the bench lies
                    said = " ".join(str(c.args.get("text", "")) for c in channel_posts)
                    assert "similar past incident" in said, said
                    if setup.prometheus:
                        assert "first crossed HIGH" in said, said
    finally:
        emu.latency = 0.0
        await runner.cleanup()
        await bot.services.store.aclose()
    return {
        "announce": round(statistics.median(announce), 2),
        "last": round(statistics.median(last), 2),
        "announce_hops": statistics.median(announce_hops),
        "last_hops": statistics.median(last_hops),
        "calls": statistics.median(calls),
        "channel_posts": statistics.median(posts),
    }


def latency_row(
    emu: SlackEmulator, setup: Setup, prom: PrometheusServer | None
) -> dict[str, object]:
    ours = asyncio.run(round_trips(emu, setup, prom, sequential=False))
    before = asyncio.run(round_trips(emu, setup, prom, sequential=True))
    with_what = {
        "plain": "no services, no Prometheus",
        "services+prometheus": f"`services:{SERVICE}` with earlier incidents of it (similar "
        "incidents to post) and Prometheus over the seed scenario (an impact start to offer), "
        "SNAPSHOT_ON_DECLARE=false",
        "services+prometheus+snapshot": f"`services:{SERVICE}` with earlier incidents, "
        "Prometheus and the metrics snapshot (SNAPSHOT_ON_DECLARE=true, the default)",
    }[setup.name]
    how = (
        f"signed `/incident declare` ({with_what}), emulator answering every Web API call and "
        f"reply after {LATENCY * 1000:.0f} ms; round trips = calls in sequence on the longest "
        f"chain (from each call's arrival and answer times), and wall time (emulator answered "
        f"− ack received) / {LATENCY * 1000:.0f} ms; median of {LATENCY_ROUNDS}; follow-ups "
        "as registered vs the same steps one after another, side by side"
    )
    numbers = (
        f"as registered: announcement {ours['announce']:g}, last call {ours['last']:g} round "
        f"trips (calls in sequence: {ours['announce_hops']:g} and {ours['last_hops']:g}); "
        f"one after another: {before['announce']:g} and {before['last']:g} "
        f"({before['announce_hops']:g} and {before['last_hops']:g}); "
        f"{ours['calls']:g} calls (Web API + reply), {ours['channel_posts']:g} posts in the "
        "channel"
    )
    label = "" if setup.name == "plain" else f" ({setup.name})"
    return {
        "bench": "declare_round_trips" + ("" if setup.name == "plain" else f"_{setup.name}"),
        "how": how,
        "latency_seconds": LATENCY,
        "setup": setup.name,
        "concurrent": ours,
        "sequential": before,
        "value": ours["last_hops"],
        "goal": LAST_CALL_GOAL,
        "checks": [
            {
                "what": f"`/incident declare`{label}, announcement visible after the ack "
                "(150 ms/call)",
                "numbers": numbers,
                "value": ours["announce_hops"],
                "unit": "round trips",
                "goal": ANNOUNCE_GOAL,
                "op": "<=",
            },
            {
                "what": f"`/incident declare`{label}, last call answered after the ack "
                "(150 ms/call)",
                "numbers": numbers,
                "value": ours["last_hops"],
                "unit": "round trips",
                "goal": LAST_CALL_GOAL,
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
        r.flushdb()
        with PrometheusServer() as prom:
            timed = [latency_row(emu, setup, prom) for setup in SETUPS]
    finally:
        emu.stop()
        r.flushdb()
    append_result(row)
    for line in timed:
        append_result(line)


if __name__ == "__main__":
    main()
