"""Timeline ingestion: channel `message` events stored per second.

The bot runs as `incident-bot serve` (subprocess; Slack Web API = the local emulator, Redis
db 11, flushed). One incident is declared through a signed `/incident declare`; then this
process sends EVENTS signed Events API `message` envelopes from that incident channel to
POST /slack/events, CONCURRENCY at a time over keep-alive loopback connections (bodies are
built and signed before the clock starts). The rate is EVENTS / (first send → every message
stored in Redis), polled on the incident's message index.

Then, untimed, Slack's duplicates are replayed — RETRIES retries with the same event_id and
RETRIES re-deliveries with a new event_id but the same message ts — and the store is checked:
every message ts in the index exactly once, pointing at a stream entry, and exactly one
MESSAGE event per ts in the timeline stream.

Finally the store-only rate: `TimelineService.record_message` called directly in this
process (same concurrency, same incident, new message ts), to show where the time goes.
Goal: >= 2,000 events/s through the endpoint.

Run: .venv/bin/python -m bench.bench_timeline"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter

import aiohttp
import redis as sync_redis

from bench import BOT_TOKEN, SIGNING_SECRET, append_result, serve_bot, stop_process
from bench.bench_ack import start_bare
from bot.clock import system_clock
from bot.store import keys
from bot.store.redis_store import RedisStore, connect
from bot.timeline.models import EventKind
from bot.timeline.service import TimelineService
from sandbox import slack_requests as sr
from sandbox.slack_emulator import SlackEmulator

REDIS_URL = "redis://127.0.0.1:6379/11"
EVENTS = 3000
CONCURRENCY = 20
RETRIES = 300
GOAL = 2000.0
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


async def endpoint_rate(
    url: str, channel: str, incident_id: str, r: sync_redis.Redis
) -> dict[str, object]:
    tss = [f"{BASE_TS}.{n:06d}" for n in range(EVENTS)]
    ids = [f"EvB{n:08d}" for n in range(EVENTS)]
    bodies = [message_body(channel, ts, ev) for ts, ev in zip(tss, ids, strict=True)]
    base = stored_count(r, incident_id)
    started = time.perf_counter()
    statuses = await send_all(url, bodies, CONCURRENCY)
    acked = time.perf_counter()
    deadline = time.monotonic() + 60
    while stored_count(r, incident_id) - base < EVENTS and time.monotonic() < deadline:
        await asyncio.sleep(0.005)
    stored_at = time.perf_counter()
    stored = stored_count(r, incident_id) - base
    elapsed = stored_at - started

    # Slack's duplicates, untimed: retries (same event_id) and re-deliveries (new event_id)
    retry_bodies = [message_body(channel, tss[n], ids[n]) for n in range(0, EVENTS, 10)]
    redeliveries = [
        message_body(channel, tss[n], f"EvR{uuid.uuid4().hex[:8]}")
        for n in range(5, EVENTS, 10)
    ]
    dup_statuses = await send_all(
        url, retry_bodies, CONCURRENCY, {"X-Slack-Retry-Num": "1",
                                         "X-Slack-Retry-Reason": "http_timeout"}
    )
    dup_statuses += await send_all(url, redeliveries, CONCURRENCY)
    await asyncio.sleep(1.0)
    return {
        "events": EVENTS,
        "concurrency": CONCURRENCY,
        "http_status": dict(Counter(statuses)),
        "duplicate_http_status": dict(Counter(dup_statuses)),
        "acked_seconds": round(acked - started, 4),
        "stored_seconds": round(elapsed, 4),
        "stored": stored,
        "events_per_second": round(stored / elapsed, 1),
        "acks_per_second": round(EVENTS / (acked - started), 1),
        "sent_ts": tss,
    }


def verify(r: sync_redis.Redis, incident_id: str, expected: set[str]) -> dict[str, object]:
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
    dup = [ts for ts, n in per_ts.items() if n > 1]
    pending = [ts for ts, v in index.items() if v not in stream_ids]
    return {
        "expected": len(expected),
        "indexed": len(index),
        "missing": len(missing),
        "stream_message_events": sum(per_ts.values()),
        "duplicated": len(dup),
        "index_not_pointing_at_stream": len(pending),
        "exactly_once": not missing and not dup and not pending
        and set(per_ts) == expected and set(index) == expected,
    }


async def bare_rate(url: str, channel: str) -> dict[str, object]:
    """The same events to a bare Bolt AsyncApp with an empty `message` listener: the floor."""
    bodies = [
        message_body(channel, f"{BASE_TS + 2}.{n:06d}", f"EvF{n:08d}") for n in range(EVENTS)
    ]
    started = time.perf_counter()
    statuses = await send_all(url, bodies, CONCURRENCY)
    elapsed = time.perf_counter() - started
    return {
        "bare_bolt_http_status": dict(Counter(statuses)),
        "bare_bolt_acks_per_second": round(EVENTS / elapsed, 1),
    }


async def store_only_rate(channel: str) -> dict[str, object]:
    store = RedisStore(connect(REDIS_URL))
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


def main() -> None:
    r = sync_redis.Redis.from_url(REDIS_URL)
    r.flushdb()
    emu = SlackEmulator(token=BOT_TOKEN).start()
    proc, port = serve_bot(emu.api_url, REDIS_URL, "timeline-bot")
    url = f"http://127.0.0.1:{port}/slack/events"
    try:
        channel, incident_id = asyncio.run(declare(emu, url, r))
        http = asyncio.run(endpoint_rate(url, channel, incident_id, r))
        sent = set(http.pop("sent_ts"))  # type: ignore[arg-type]
        check_http = verify(r, incident_id, sent)
        store = asyncio.run(store_only_rate(channel))
        stored_ts = set(store.pop("store_only_ts"))  # type: ignore[arg-type]
        check_all = verify(r, incident_id, sent | stored_ts)
        stop_process(proc)
        bare_proc, bare_port = start_bare(emu.api_url)
        try:
            bare = asyncio.run(bare_rate(f"http://127.0.0.1:{bare_port}/slack/events", channel))
        finally:
            stop_process(bare_proc)
    finally:
        stop_process(proc)
        emu.stop()
        r.flushdb()
    rate = float(http["events_per_second"])  # type: ignore[arg-type]
    store_rate = float(store["store_only_per_second"])  # type: ignore[arg-type]
    append_result(
        {
            "bench": "timeline_ingest",
            "how": (
                f"{EVENTS} signed `message` events to `incident-bot serve`, {CONCURRENCY} "
                "concurrent, keep-alive loopback; rate = events / (first send -> all stored "
                "in Redis); then retries/re-deliveries replayed and exactly-once checked"
            ),
            **http,
            **store,
            **bare,
            "verify_after_http": check_http,
            "verify_after_store_only": check_all,
            "value": rate,
            "goal": GOAL,
            "checks": [
                {
                    "what": "timeline ingestion through /slack/events, events stored per second",
                    "numbers": (
                        f"{http['stored']}/{EVENTS} stored in {http['stored_seconds']} s "
                        f"(acks {http['acks_per_second']}/s); exactly once incl. "
                        f"{RETRIES}+{RETRIES} duplicates: {check_http['exactly_once']}; "
                        f"store-only (TimelineService.record_message) {store_rate:.0f}/s; "
                        f"bare Bolt AsyncApp, empty listener, same events: "
                        f"{bare['bare_bolt_acks_per_second']} acks/s"
                    ),
                    "value": rate,
                    "unit": "/s",
                    "goal": GOAL,
                    "op": ">=",
                    "ok": bool(check_http["exactly_once"]) and rate >= GOAL,
                },
            ],
        }
    )


if __name__ == "__main__":
    main()
