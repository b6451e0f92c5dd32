"""Timeline ingestion: channel `message` events stored per second, against a bare Bolt
AsyncApp's ack rate on the same events, side by side in one run.

The bot runs as `incident-bot serve` (subprocess; Slack Web API = the local emulator, on a
Redis this bench starts). One incident is declared through a signed `/incident declare`;
then this process sends EVENTS signed Events API `message` envelopes from that incident
channel to POST /slack/events, CONCURRENCY at a time over keep-alive loopback connections
(bodies are built and signed before the clock starts), in ROUNDS that alternate with the
same number of events to a bare Bolt AsyncApp with an empty `message` listener (the floor;
the order flips every round). The bot's rate is its events / (first send -> every message
stored in Redis, polled on the incident's message index), summed over its rounds; the bare
app's is its events / (first send -> last ack).

Then, untimed, Slack's duplicates are replayed — RETRIES retries with the same event_id and
RETRIES re-deliveries with a new event_id but the same message ts — and the store is checked:
every message ts in the index exactly once, pointing at a stream entry, and exactly one
MESSAGE event per ts in the timeline stream.

Finally the store-only rate: `TimelineService.record_message` called directly in this
process (same concurrency, same incident, new message ts), to show where the time goes.
Goal: the bot's rate >= 0.8 x the bare app's (issue 31).

Run: .venv/bin/python -m bench.bench_timeline"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import aiohttp
import redis as sync_redis

from bench import BOT_TOKEN, ROOT, SIGNING_SECRET, append_result, serve_bot, stop_process
from bench.bench_ack import start_bare
from bench.compare import serve_from
from bench.load import git_worktree, machine
from bot.clock import system_clock
from bot.store import keys
from bot.store.redis_store import RedisStore, connect
from bot.timeline.models import EventKind
from bot.timeline.service import TimelineService
from sandbox import slack_requests as sr
from sandbox.redis_servers import start_server
from sandbox.slack_emulator import SlackEmulator

EVENTS = 3000
ROUNDS = 4
CONCURRENCY = 20
RETRIES = 300
GOAL = 0.8  # the bot's stored rate / the bare Bolt app's ack rate
USER = "U0BOB"
BASE_TS = 1795000000


def message_body(channel: str, ts: str, event_id: str) -> str:
    event = {
        "type": "message",
        "channel": channel,
        "user": USER,
        "text": f"bench message {ts}: checking the checkout pods, error rate still 4%",
        "ts": ts,
        "channel_type": "channel",
        "event_ts": ts,
    }
    return sr.event_callback(event, event_id=event_id)


async def send_all(
    url: str, bodies: list[str], concurrency: int, extra: dict[str, str] | None = None
) -> list[int]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    statuses: list[int] = []
    prepared = {}
    for b in bodies:
        headers = sr.signed_headers(SIGNING_SECRET, b)
        headers.update(extra or {})
        prepared[b] = (b.encode(), headers)

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            data, headers = prepared[queue.get_nowait()]
            async with session.post(url, data=data, headers=headers) as resp:
                await resp.read()
                statuses.append(resp.status)

    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return statuses


def stored_count(r: sync_redis.Redis, incident_id: str) -> int:
    return int(r.hlen(keys.timeline_messages(incident_id)))


async def declare(emu: SlackEmulator, url: str, r: sync_redis.Redis) -> tuple[str, str]:
    before = set(emu.channel_ids())
    incidents = emu.channel_by_name("incidents")
    assert incidents is not None
    body = sr.slash_command(
        "/incident", "declare Bench timeline incident sev:3", "U0ALICE", incidents.id,
        emu.new_response_url(incidents.id), "trig-declare",
    )
    statuses = await send_all(url, [body], 1)
    assert statuses == [200], statuses
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        created = [c for c in emu.channel_ids() if c not in before]
        if created:
            incident_id = r.get(keys.channel_index(created[0]))
            if incident_id:
                return created[0], incident_id.decode()
        await asyncio.sleep(0.05)
    raise RuntimeError("declare did not create an indexed incident channel")


async def bot_round(url: str, bodies: list[str], incident_id: str, r: sync_redis.Redis
                    ) -> tuple[float, float, list[int]]:
    """Send `bodies` to the bot: (seconds to every ack, seconds until all are stored, statuses)."""
    base = stored_count(r, incident_id)
    started = time.perf_counter()
    statuses = await send_all(url, bodies, CONCURRENCY)
    acked = time.perf_counter()
    deadline = time.monotonic() + 60
    while stored_count(r, incident_id) - base < len(bodies) and time.monotonic() < deadline:
        await asyncio.sleep(0.002)
    return acked - started, time.perf_counter() - started, statuses


async def bare_round(url: str, bodies: list[str]) -> tuple[float, list[int]]:
    started = time.perf_counter()
    statuses = await send_all(url, bodies, CONCURRENCY)
    return time.perf_counter() - started, statuses


async def side_by_side(
    sides: dict[str, str], channel: str, incident_id: str, r: sync_redis.Redis
) -> dict[str, dict[str, object]]:
    """ROUNDS rounds; in each, EVENTS/ROUNDS events to every side (name -> URL; "bare" is the
    bare Bolt app, the others are bots), the order rotating every round; then Slack's
    duplicates to every bot, untimed."""
    per = EVENTS // ROUNDS
    n = per * ROUNDS
    names = list(sides)
    tss = {name: [f"{BASE_TS + 3 * i}.{k:06d}" for k in range(n)] for i, name in enumerate(names)}
    ids = {name: [f"Ev{i}B{k:08d}" for k in range(n)] for i, name in enumerate(names)}
    seconds = {name: [0.0, 0.0] for name in names}  # acked, stored
    statuses: dict[str, list[int]] = {name: [] for name in names}
    base = stored_count(r, incident_id)
    for k in range(ROUNDS):
        order = names[k % len(names):] + names[: k % len(names)]
        for name in order:
            bodies = [message_body(channel, tss[name][i], ids[name][i])
                      for i in range(k * per, (k + 1) * per)]
            if name == "bare":
                b, st = await bare_round(sides[name], bodies)
                seconds[name][0] += b
                seconds[name][1] += b
            else:
                a, s_, st = await bot_round(sides[name], bodies, incident_id, r)
                seconds[name][0] += a
                seconds[name][1] += s_
            statuses[name] += st
    stored_total = stored_count(r, incident_id) - base
    out: dict[str, dict[str, object]] = {}
    for name in names:
        row: dict[str, object] = {
            "events": n,
            "http_status": dict(Counter(statuses[name])),
            "acked_seconds": round(seconds[name][0], 4),
            "acks_per_second": round(n / seconds[name][0], 1),
        }
        if name != "bare":
            # Slack's duplicates, untimed: retries (same event_id), re-deliveries (new one)
            retry_bodies = [message_body(channel, tss[name][i], ids[name][i])
                            for i in range(0, n, 10)]
            redeliveries = [message_body(channel, tss[name][i], f"EvR{uuid.uuid4().hex[:8]}")
                            for i in range(5, n, 10)]
            dup = await send_all(sides[name], retry_bodies, CONCURRENCY, {
                "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
            dup += await send_all(sides[name], redeliveries, CONCURRENCY)
            row.update({
                "duplicate_http_status": dict(Counter(dup)),
                "stored_seconds": round(seconds[name][1], 4),
                "events_per_second": round(n / seconds[name][1], 1),
                "sent_ts": tss[name],
            })
        out[name] = row
    out["bare"]["stored_by_all_bots"] = stored_total
    await asyncio.sleep(1.0)
    return out


def verify(r: sync_redis.Redis, incident_id: str, expected: set[str], *, only: bool = False
           ) -> dict[str, object]:
    """Every expected ts once in the index and once in the stream (with `only`: and
    nothing else; several sides share the incident, so each is checked on its own ts)."""
    raw = r.hgetall(keys.timeline_messages(incident_id))
    index = {k.decode(): v.decode() for k, v in raw.items()}
    stream = r.xrange(keys.timeline(incident_id))
    per_ts: Counter[str] = Counter()
    for _sid, fields in stream:
        doc = json.loads(fields[b"v"])
        if doc.get("kind") == EventKind.MESSAGE.value and doc.get("message_ts"):
            per_ts[doc["message_ts"]] += 1
    stream_ids = {sid.decode() for sid, _ in stream}
    missing = expected - set(index)
    dup = [ts for ts, n in per_ts.items() if n > 1 and (only or ts in expected)]
    pending = [ts for ts, v in index.items() if v not in stream_ids]
    once = all(per_ts[ts] == 1 for ts in expected)
    if only:
        once = once and set(per_ts) == expected and set(index) == expected
    return {
        "expected": len(expected),
        "indexed": len(index),
        "missing": len(missing),
        "stream_message_events": sum(per_ts.values()),
        "duplicated": len(dup),
        "index_not_pointing_at_stream": len(pending),
        "exactly_once": not missing and not dup and not pending and once,
    }


async def store_only_rate(channel: str, redis_url: str) -> dict[str, object]:
    store = RedisStore(connect(redis_url))
    timeline = TimelineService(store=store, clock=system_clock)
    tss = [f"{BASE_TS + 1}.{n:06d}" for n in range(EVENTS)]
    queue: asyncio.Queue[str] = asyncio.Queue()
    for ts in tss:
        queue.put_nowait(ts)
    results: list[bool] = []

    async def worker() -> None:
        while not queue.empty():
            ts = queue.get_nowait()
            results.append(await timeline.record_message(channel, USER, f"bench {ts}", ts))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    elapsed = time.perf_counter() - started
    await store.redis.aclose()
    assert all(results) and len(results) == EVENTS
    return {
        "store_only_seconds": round(elapsed, 4),
        "store_only_per_second": round(EVENTS / elapsed, 1),
        "store_only_ts": tss,
    }


def main(before: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="ib-bench-") as tmp:
        server = start_server(Path(tmp))
        tree = git_worktree(before, ROOT, Path(tmp) / "before") if before else None
        try:
            run(f"redis://127.0.0.1:{server.port}/0", before, tree)
        finally:
            server.stop()
            if tree is not None:
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT,
                               capture_output=True)


def run(redis_url: str, before: str | None, tree: Path | None) -> None:
    r = sync_redis.Redis.from_url(redis_url)
    emu = SlackEmulator(token=BOT_TOKEN).start()
    procs = []
    try:
        proc, port = serve_bot(emu.api_url, redis_url, "timeline-bot")
        procs.append(proc)
        bare_proc, bare_port = start_bare(emu.api_url)
        procs.append(bare_proc)
        url = f"http://127.0.0.1:{port}/slack/events"
        sides = {"bot": url, "bare": f"http://127.0.0.1:{bare_port}/slack/events"}
        if tree is not None:
            b_proc, b_port = serve_from(tree, tree / ".no-block", emu.api_url, redis_url,
                                        "timeline-before")
            procs.append(b_proc)
            sides["before"] = f"http://127.0.0.1:{b_port}/slack/events"
        channel, incident_id = asyncio.run(declare(emu, url, r))
        result = asyncio.run(side_by_side(sides, channel, incident_id, r))
        sent = {name: set(row.pop("sent_ts"))  # type: ignore[arg-type]
                for name, row in result.items() if name != "bare"}
        checks = {name: verify(r, incident_id, ts) for name, ts in sent.items()}
        store = asyncio.run(store_only_rate(channel, redis_url))
        everything = set(store.pop("store_only_ts"))  # type: ignore[arg-type]
        for ts in sent.values():
            everything |= ts
        check_all = verify(r, incident_id, everything, only=True)
    finally:
        for p in procs:
            stop_process(p)
        emu.stop()
    bot, bare = result["bot"], result["bare"]
    rate = float(bot["events_per_second"])  # type: ignore[arg-type]
    bare_rate = float(bare["acks_per_second"])  # type: ignore[arg-type]
    ratio = round(rate / bare_rate, 2)
    store_rate = float(store["store_only_per_second"])  # type: ignore[arg-type]
    numbers = (
        f"bot {rate:.0f}/s (stored in {bot['stored_seconds']} s, acks "
        f"{bot['acks_per_second']}/s); bare Bolt AsyncApp, empty listener: {bare_rate:.0f} "
        f"acks/s; exactly once incl. {RETRIES}+{RETRIES} duplicates: "
        f"{checks['bot']['exactly_once']}; store-only (TimelineService.record_message) "
        f"{store_rate:.0f}/s"
    )
    row_checks = [{
        "what": "timeline ingestion: events stored per second / a bare Bolt app's acks per "
                "second, same events, side by side",
        "numbers": numbers, "value": ratio, "unit": "x", "goal": GOAL, "op": ">=",
        "ok": bool(checks["bot"]["exactly_once"]) and ratio >= GOAL,
    }]
    if "before" in result:
        b_rate = float(result["before"]["events_per_second"])  # type: ignore[arg-type]
        row_checks.append({
            "what": f"timeline ingestion, this code / before (`{before}`), side by side",
            "numbers": (f"after {rate:.0f}/s, before {b_rate:.0f}/s (before / bare "
                        f"{b_rate / bare_rate:.2f} x); before exactly once: "
                        f"{checks['before']['exactly_once']}"),
            "value": round(rate / b_rate, 2), "unit": "x",
        })
    append_result(
        {
            "bench": "timeline_ingest",
            "how": (
                f"{bot['events']} signed `message` events to `incident-bot serve` and as many "
                f"to a bare Bolt AsyncApp, {CONCURRENCY} concurrent, keep-alive loopback, in "
                f"{ROUNDS} rounds, the order rotating; bot rate = events / (first send -> all "
                "stored in Redis), bare rate = events / (first send -> last ack); then retries "
                "and re-deliveries replayed and exactly-once checked; own Redis"
            ),
            "sides": result,
            **store,
            "verify": checks,
            "verify_after_store_only": check_all,
            "machine": machine(),
            "value": ratio,
            "goal": GOAL,
            "checks": row_checks,
        }
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.bench_timeline")
    parser.add_argument("--before", help="also a `serve` of this git ref, side by side")
    main(parser.parse_args().before)
