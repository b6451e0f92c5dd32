"""Scale-out benches (issue 18), on Redis servers this bench starts itself (free ports, no
persistence), so it never touches a shared Redis.

1. **Ack latency at 200 signed requests/s**: message events in an incident channel (stored
   in Redis *before* the ack — the write-then-ack path) sent open-loop at 200 req/s to
   (a) one `incident-bot serve`, (b) two `serve` replicas behind a round-robin in this
   process (request i goes to replica i mod 2, as a load balancer would spread them), and
   the floors: (c) a bare Bolt AsyncApp whose message listener does nothing, and (d) two
   of those behind the same round-robin; and (e) one `serve` whose writes skip Redis
   (bench/serve_without_redis_io.py: the bot's own path without the round trip before
   the ack, to show where the gap is). Phases alternate, ROUNDS times, PHASE seconds each,
   the load generator's garbage collection held during each and its first LEAD_IN
   requests not timed; latency = request sent → response read, keep-alive loopback.
   Reported: p50/p99 per setup, p99 ratio of one `serve` to one bare app and of two
   replicas to two bare replicas (goal ≤ 1.2× each; two replicas against one bare app is
   shown too), errors, and that every acknowledged event is stored exactly once.
2. **Reminder scan, 100 due among 100k items**: `ReminderScanner.scan()` against a single
   Redis and against a 3-master Redis Cluster (`redis-cli --cluster create`), same data,
   best of repeats.

Prints the result and appends a JSON line to bench/results.jsonl.
Run: .venv/bin/python -m bench.bench_scale [--phase 5]"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import structlog

from bench import (
    BOT_TOKEN,
    ROOT,
    SIGNING_SECRET,
    append_result,
    serve_bot,
    steady_load_generator,
    stop_process,
)
from bench.bench_ack import start_bare
from bench.bench_reminders import DUE, NOW, NullChat
from bench.compare import serve_from
from bench.load import git_worktree, machine
from bot.actions.models import ActionItem, ActionSettings
from bot.actions.reminders import ReminderScanner
from bot.clock import ManualClock
from bot.store import codec, keys
from bot.store.connection import Db, RedisSettings, connect, open_db
from bot.store.redis_store import RedisStore
from bot.timeline.models import EventKind
from sandbox import slack_requests as sr
from sandbox.redis_servers import redis_cluster, start_server
from sandbox.slack_emulator import SlackEmulator

RATE = 200.0
PHASE = 3.0
ROUNDS = 6
GOAL = 1.2
LEAD_IN = 10  # each phase's first requests, after its pause, are sent but not timed
SCAN_GOAL = 2.0  # a cluster may cost a little per command; it must not change the scaling
ITEMS = 100_000
BOB, ALICE = "U0BOB", "U0ALICE"


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


class Setup:
    def __init__(self, name: str, ports: list[int]) -> None:
        self.name = name
        self.ports = ports
        self.urls = [f"http://127.0.0.1:{p}/slack/events" for p in ports]
        self.latencies: list[float] = []
        self.errors: Counter[str] = Counter()
        self.acked: list[str] = []
        self.sent = 0
        self.round_p99: list[float] = []  # each round's p99 (ms)


async def declare(emu: SlackEmulator, url: str, store: RedisStore) -> str:
    incidents = emu.channel_by_name("incidents")
    assert incidents is not None
    before = set(emu.channel_ids())
    body = sr.slash_command("/incident", "declare Bench scale incident sev:3", ALICE,
                            incidents.id, emu.new_response_url(incidents.id), "trig-scale")
    async with aiohttp.ClientSession() as s, s.post(
        url, data=body.encode(), headers=sr.signed_headers(SIGNING_SECRET, body)
    ) as resp:
        assert resp.status == 200, resp.status
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        created = [c for c in emu.channel_ids() if c not in before]
        if created and await store.incident_id_for_channel(created[0]):
            return created[0]
        await asyncio.sleep(0.05)
    raise RuntimeError("declare did not create an incident")


async def phase(
    session: aiohttp.ClientSession, emu: SlackEmulator, setup: Setup, channel: str,
    seconds: float,
) -> None:
    async def one(i: int) -> None:
        text = f"{setup.name} {i}"
        ts = emu.post_as_user(channel, BOB, text)
        event = {"type": "message", "channel": channel, "user": BOB, "text": text, "ts": ts,
                 "channel_type": "channel", "event_ts": ts}
        body = sr.event_callback(event, event_id=f"Ev{setup.name}{i}")
        url = setup.urls[i % len(setup.urls)]  # round-robin over the replicas
        started = time.perf_counter()
        try:
            async with session.post(
                url, data=body.encode(), headers=sr.signed_headers(SIGNING_SECRET, body)
            ) as resp:
                await resp.read()
                status = resp.status
        except aiohttp.ClientError as exc:
            setup.errors[type(exc).__name__] += 1
            return
        if status != 200:
            setup.errors[f"HTTP {status}"] += 1
            return
        if i - start_at >= LEAD_IN:
            setup.latencies.append(time.perf_counter() - started)
        setup.acked.append(ts)

    loop = asyncio.get_running_loop()
    start_at = setup.sent
    total = int(RATE * seconds)
    start = loop.time() + 0.05
    tasks = []
    for k in range(total):
        delay = start + k / RATE - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(setup.sent)))
        setup.sent += 1
    await asyncio.gather(*tasks)


async def ack_latency(phase_seconds: float, rounds: int, before: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ib-bench-") as tmp:
        server = start_server(Path(tmp))
        url = f"redis://127.0.0.1:{server.port}/0"
        emu = SlackEmulator(token=BOT_TOKEN).start()
        procs: list[subprocess.Popen[bytes]] = []
        store = RedisStore(Db(connect(url)))
        try:
            a_proc, a_port = serve_bot(emu.api_url, url, "scale-a")
            procs.append(a_proc)
            b_proc, b_port = serve_bot(emu.api_url, url, "scale-b")
            procs.append(b_proc)
            io_proc, io_port = serve_bot(
                emu.api_url, url, "scale-no-redis-io",
                [sys.executable, "-m", "bench.serve_without_redis_io"])
            procs.append(io_proc)
            bare_proc, bare_port = start_bare(emu.api_url)
            procs.append(bare_proc)
            bare_b_proc, bare_b_port = start_bare(emu.api_url)
            procs.append(bare_b_proc)
            channel = await declare(emu, f"http://127.0.0.1:{a_port}/slack/events", store)
            setups = {
                "bare": Setup("bare", [bare_port]),
                "one": Setup("one", [a_port]),
                "bare2": Setup("bare2", [bare_port, bare_b_port]),
                "two": Setup("two", [a_port, b_port]),
                "no_redis_io": Setup("no_redis_io", [io_port]),
            }
            if before:  # one `serve` of an older commit, side by side
                tree = git_worktree(before, ROOT, Path(tmp) / "before")
                c_proc, c_port = serve_from(tree, Path(tmp) / "no-block", emu.api_url, url,
                                            "scale-before")
                procs.append(c_proc)
                setups["before"] = Setup("before", [c_port])
            conn = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=conn) as session:
                for s in setups.values():  # warm-up, not measured
                    await phase(session, emu, Setup(s.name + "w", s.ports), channel, 0.5)
                for k in range(rounds):
                    order = list(setups.values())
                    for s in order[k % len(order):] + order[: k % len(order)]:
                        first = len(s.latencies)
                        with steady_load_generator():
                            await phase(session, emu, s, channel, phase_seconds)
                        s.round_p99.append(pct(s.latencies[first:], 99) * 1000)
                        await asyncio.sleep(0.3)
            incident_id = await store.incident_id_for_channel(channel)
            assert incident_id is not None
            stored = Counter(
                e.message_ts for _, e in await store.events(incident_id)
                if e.kind is EventKind.MESSAGE
            )
        finally:
            for p in procs:
                stop_process(p)
            await store.aclose()
            emu.stop()
            server.stop()
            if before:
                subprocess.run(["git", "worktree", "prune"], cwd=ROOT, capture_output=True)
    out: dict[str, Any] = {}
    for name, s in setups.items():
        row: dict[str, Any] = {
            "n": len(s.latencies),
            "sent": s.sent,
            "errors": dict(s.errors),
            "p50_ms": round(statistics.median(s.latencies) * 1000, 2),
            "p99_ms": round(pct(s.latencies, 99) * 1000, 2),
            "max_ms": round(max(s.latencies) * 1000, 2),
            "round_p99_ms": [round(v, 2) for v in s.round_p99],
        }
        if name in ("one", "two", "before"):
            row["acked"] = len(s.acked)  # the timed ones and each phase's lead-in
            row["stored_once"] = sum(1 for ts in s.acked if stored[ts] == 1)
            row["missing"] = sum(1 for ts in s.acked if stored[ts] == 0)
            row["doubled"] = sum(1 for ts in s.acked if stored[ts] > 1)
        out[name] = row
    return out


def round_ratio(r: dict[str, Any], bare: dict[str, Any]) -> float:
    """The median over rounds of (this setup's p99 / the bare app's p99 in the same round):
    a round hit by the machine's noise moves it less than it moves the pooled p99."""
    return round(statistics.median(
        a / b for a, b in zip(r["round_p99_ms"], bare["round_p99_ms"], strict=True)), 2)


async def fill(client: Any, total: int) -> None:
    await client.flushall() if hasattr(client, "get_nodes") else await client.flushdb()
    async with client.pipeline(transaction=False) as pipe:
        for n in range(total):
            due_soon = n < DUE
            item = ActionItem(
                id=f"AI-{n:06d}", incident_id="INC-1", text="bench", owner=f"U{n % 50:04d}",
                created_by="U0", created_at=NOW - timedelta(days=1),
                due=NOW + (timedelta(hours=1) if due_soon else timedelta(days=30 + n % 300)),
            )
            item.next_reminder_at = item.due - timedelta(hours=24)  # type: ignore[operator]
            pipe.set(keys.action_item(item.id), codec.dumps(item))
            pipe.sadd(keys.action_items_open(), item.id)
            pipe.zadd(keys.action_items_due(), {item.id: item.next_reminder_at.timestamp()})
            if n % 5000 == 4999:
                await pipe.execute()
        await pipe.execute()


async def scan_once(db: Db, repeats: int) -> tuple[float, int]:
    best = float("inf")
    for _ in range(repeats):
        await fill(db.client, ITEMS)
        store = RedisStore(db)
        scanner = ReminderScanner(
            actions_store=store.actions, store=store, chat=NullChat(),  # type: ignore[arg-type]
            clock=ManualClock(NOW), settings=ActionSettings(scan_limit=1000),
        )
        started = time.perf_counter()
        result = await scanner.scan()
        best = min(best, time.perf_counter() - started)
        assert len(result.sent) == DUE, len(result.sent)
    return best, len(result.sent)


async def reminder_scan(repeats: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ib-bench-") as tmp:
        server = start_server(Path(tmp))
        try:
            single = Db(connect(f"redis://127.0.0.1:{server.port}/0"))
            single_s, sent = await scan_once(single, repeats)
            await single.aclose()
        finally:
            server.stop()
    with redis_cluster(3) as cluster:
        db = await open_db(RedisSettings(url=cluster.url, cluster=True))
        try:
            cluster_s, _ = await scan_once(db, repeats)
        finally:
            await db.aclose()
    return {"single_s": round(single_s, 4), "cluster_s": round(cluster_s, 4), "sent": sent}


async def main(phase_seconds: float, rounds: int, repeats: int, before: str | None) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    acks = await ack_latency(phase_seconds, rounds, before)
    scan = await reminder_scan(repeats)
    bare99 = acks["bare"]["p99_ms"]
    checks = []
    # each deployment against the same deployment of a bare Bolt app: one process against
    # one, two replicas behind the round-robin against two (on this machine two processes
    # of anything answer slower than one; the ratio to one bare process is shown too)
    for name, label, floor, floor_label in (
        ("one", "one `serve`", "bare", "bare Bolt"),
        ("two", "two `serve` replicas, round-robin", "bare2",
         "two bare Bolt replicas, round-robin"),
    ):
        r, f = acks[name], acks[floor]
        ratio = r["p99_ms"] / f["p99_ms"]
        r["ratio_p99"] = round(ratio, 2)
        checks.append({
            "what": f"ack p99 at 200 req/s, {label} / {floor_label}",
            "numbers": (
                f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms ({floor_label} p50 "
                f"{f['p50_ms']} ms, p99 {f['p99_ms']} ms); n={r['n']}, errors "
                f"{sum(r['errors'].values())}; stored once {r['stored_once']}/{r['acked']}; "
                f"median of the {len(r['round_p99_ms'])} rounds' p99 ratios "
                f"{round_ratio(r, f)}"
            ),
            "value": round(ratio, 2), "unit": "x", "goal": GOAL, "op": "<=",
            "ok": ratio <= GOAL and not r["errors"] and r["missing"] == r["doubled"] == 0,
        })
    gap = acks["no_redis_io"]
    checks.append({
        "what": "ack p99 at 200 req/s, one `serve` whose writes skip Redis / bare Bolt "
                "(where the gap is: everything but the Redis round trip before the ack)",
        "numbers": (f"p50 {gap['p50_ms']} ms, p99 {gap['p99_ms']} ms (bare p50 "
                    f"{acks['bare']['p50_ms']} ms, p99 {bare99} ms; the real `serve` p50 "
                    f"{acks['one']['p50_ms']} ms, p99 {acks['one']['p99_ms']} ms)"),
        "value": round(gap["p99_ms"] / bare99, 2), "unit": "x",
    })
    two = acks["two"]
    checks.append({
        "what": "ack p99 at 200 req/s, two `serve` replicas / ONE bare Bolt process",
        "numbers": (f"two replicas p99 {two['p99_ms']} ms, one bare process p99 {bare99} ms; "
                    f"two bare replicas p99 {acks['bare2']['p99_ms']} ms "
                    f"= {round(acks['bare2']['p99_ms'] / bare99, 2)}x one bare process"),
        "value": round(two["p99_ms"] / bare99, 2), "unit": "x",
    })
    if before:
        r = acks["before"]
        checks.append({
            "what": f"ack p99 at 200 req/s, one `serve` of `{before}` (before) / bare Bolt",
            "numbers": (
                f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms (bare p99 {bare99} ms, this "
                f"code's one `serve` p99 {acks['one']['p99_ms']} ms); n={r['n']}, stored once "
                f"{r['stored_once']}/{r['acked']}"
            ),
            "value": round(r["p99_ms"] / bare99, 2), "unit": "x",
        })
    checks.append({
        "what": "reminder scan, 100 due among 100k items: 3-master cluster / single Redis",
        "numbers": f"cluster {scan['cluster_s']} s, single {scan['single_s']} s, "
                   f"sent {scan['sent']}",
        "value": round(scan["cluster_s"] / scan["single_s"], 2), "unit": "x",
        "goal": SCAN_GOAL, "op": "<=",
    })
    append_result({
        "bench": "scale",
        "how": (
            f"message events stored before the ack, open loop {RATE:g} req/s, phases "
            f"bare/one/bare2/two/no-redis-io ×{rounds} of {phase_seconds:g} s (order rotating), "
            f"the first {LEAD_IN} requests of each untimed, the load generator's garbage "
            "collection held during each phase, serve replicas "
            "as subprocesses on a Redis the bench starts; reminder scan via "
            "ReminderScanner.scan() on a single Redis vs a 3-master cluster the bench starts, "
            "best of repeats"
        ),
        "acks": acks,
        "scan": scan,
        "machine": machine(),
        "checks": checks,
    })


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--phase", type=float, default=PHASE)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--before", help="also one `serve` of this git ref, side by side")
    args = parser.parse_args()
    asyncio.run(main(args.phase, args.rounds, args.repeats, args.before))
