"""Bounded load on loopback: signed slash commands and message events at a fixed rate.

* bot: `incident-bot serve` (subprocess; Slack Web API = the local emulator; Redis db 13,
  flushed before and after).
* load: this process declares one incident, then sends open-loop at RATE req/s for
  DURATION s (one request every 1/RATE s, whether or not earlier ones have answered),
  alternating a message event in the incident channel with a slash command (`note`,
  `list`, `roles`, `timeline` in turn); every 10th message event is also re-delivered
  as a Slack retry (same event_id, X-Slack-Retry-Num: 1).

Reported: ack latency p50/p99/max (request sent -> HTTP response read, per kind), errors
(non-200 or a failed request), and whether every message event and every note is stored
exactly once in the timeline. Prints a summary and appends a JSON line
(`{"bench": "load", ...}`) to bench/results.jsonl.

Run: .venv/bin/python -m bench.bench_load [--rate 40] [--duration 15]"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import Counter
from typing import Any

import aiohttp
import redis as sync_redis

from bench import BOT_TOKEN, SIGNING_SECRET, append_result, serve_bot, stop_process
from bot.store import codec, keys
from bot.timeline.models import EVENT_SCHEMA_VERSION, TimelineEvent
from sandbox import slack_requests as sr
from sandbox.slack_emulator import SlackEmulator

REDIS_URL = "redis://127.0.0.1:6379/13"
RATE = 40.0
DURATION = 15.0
P99_GOAL_MS = 500.0
BOB, ALICE = "U0BOB", "U0ALICE"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Load:
    def __init__(self, emu: SlackEmulator, endpoint: str) -> None:
        self.emu = emu
        self.endpoint = endpoint
        self.latency: dict[str, list[float]] = {"command": [], "event": [], "retry": []}
        self.status: Counter[str] = Counter()
        self.errors: list[str] = []

    async def post(
        self, session: aiohttp.ClientSession, kind: str, body: str,
        extra: dict[str, str] | None = None,
    ) -> None:
        headers = sr.signed_headers(SIGNING_SECRET, body)
        headers.update(extra or {})
        started = time.perf_counter()
        try:
            async with session.post(self.endpoint, data=body.encode(), headers=headers) as resp:
                await resp.read()
                status = resp.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            self.errors.append(f"{kind}: {type(exc).__name__}")
            self.status["exception"] += 1
            return
        self.latency[kind].append((time.perf_counter() - started) * 1000)
        self.status[str(status)] += 1
        if status != 200:
            self.errors.append(f"{kind}: HTTP {status}")


async def declare(emu: SlackEmulator, load: Load, session: aiohttp.ClientSession) -> str:
    incidents = emu.channel_by_name("incidents")
    assert incidents is not None
    before = set(emu.channel_ids())
    body = sr.slash_command(
        "/incident", "declare Load test sev:3", ALICE, incidents.id,
        emu.new_response_url(incidents.id), "trig-load-declare",
    )
    await load.post(session, "command", body)
    for _ in range(200):
        created = [c for c in emu.channel_ids() if c not in before]
        if created:
            return created[0]
        await asyncio.sleep(0.05)
    raise RuntimeError("declare did not create a channel")


def stored(redis: sync_redis.Redis, channel: str) -> tuple[Counter[str], Counter[str]]:
    incident_id = redis.get(keys.channel_index(channel))
    assert incident_id, "the incident is not in Redis"
    messages: Counter[str] = Counter()
    notes: Counter[str] = Counter()
    for _, fields in redis.xrange(keys.timeline(str(incident_id))):
        event = codec.loads(TimelineEvent, fields["v"], current=EVENT_SCHEMA_VERSION)
        if event.kind.value == "message":
            messages[event.text] += 1
        elif event.kind.value == "note":
            notes[event.text] += 1
    return messages, notes


async def run(rate: float, duration: float) -> dict[str, Any]:
    redis = sync_redis.Redis.from_url(REDIS_URL, decode_responses=True)
    redis.flushdb()
    emu = SlackEmulator(token=BOT_TOKEN).start()
    proc, port = serve_bot(emu.api_url, REDIS_URL, "load")
    load = Load(emu, f"http://127.0.0.1:{port}/slack/events")
    sent_messages: list[str] = []
    sent_notes: list[str] = []
    try:
        connector = aiohttp.TCPConnector(limit=100)
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            channel = await declare(emu, load, session)
            incidents = emu.channel_by_name("incidents")
            assert incidents is not None
            load.latency["command"].clear()
            load.status.clear()
            total = int(rate * duration)
            commands = ["note", "list", "roles", "timeline"]
            tasks: list[asyncio.Task[None]] = []
            start = time.perf_counter()
            for i in range(total):
                delay = start + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                if i % 2 == 0:
                    text = f"load message {i}"
                    ts = emu.post_as_user(channel, BOB, text)
                    event_id = f"EvLOAD{i:08d}"
                    body = sr.event_callback(
                        {"type": "message", "channel": channel, "user": BOB, "text": text,
                         "ts": ts, "event_ts": ts, "channel_type": "channel"},
                        event_id=event_id,
                    )
                    sent_messages.append(text)
                    tasks.append(asyncio.create_task(load.post(session, "event", body)))
                    if i % 20 == 0:  # every 10th message: Slack re-delivers it
                        retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
                        tasks.append(
                            asyncio.create_task(load.post(session, "retry", body, retry))
                        )
                else:
                    verb = commands[(i // 2) % len(commands)]
                    where = incidents.id if verb == "list" else channel
                    text = verb
                    if verb == "note":
                        text = f"note load note {i}"
                        sent_notes.append(f"load note {i}")
                    body = sr.slash_command(
                        "/incident", text, ALICE, where, emu.new_response_url(where), f"trig-l{i}"
                    )
                    tasks.append(asyncio.create_task(load.post(session, "command", body)))
            sending = time.perf_counter() - start
            await asyncio.gather(*tasks)
        # the bot stores after acking: wait until the timeline stops growing
        deadline = time.monotonic() + 15
        messages, notes = stored(redis, channel)
        while time.monotonic() < deadline:
            await asyncio.sleep(0.25)
            again = stored(redis, channel)
            if again == (messages, notes) and sum(messages.values()) >= len(sent_messages):
                break
            messages, notes = again
    finally:
        stop_process(proc)
        emu.stop()
    redis.flushdb()

    missing = [t for t in sent_messages if messages[t] == 0]
    doubled = [t for t, n in messages.items() if n > 1]
    notes_missing = [t for t in sent_notes if notes[t] == 0]
    notes_doubled = [t for t, n in notes.items() if n > 1]
    exactly_once = not (missing or doubled or notes_missing or notes_doubled)
    everything = load.latency["command"] + load.latency["event"] + load.latency["retry"]
    p50, p99 = pct(everything, 0.50), pct(everything, 0.99)
    by_kind = {
        kind: {
            "n": len(values),
            "p50_ms": round(pct(values, 0.50), 2),
            "p99_ms": round(pct(values, 0.99), 2),
            "max_ms": round(max(values), 2) if values else None,
        }
        for kind, values in load.latency.items()
    }
    errors = len(load.errors)
    return {
        "bench": "load",
        "how": f"open-loop {rate:g} req/s for {duration:g} s to `incident-bot serve` on "
        "loopback: message events and /incident note|list|roles|timeline alternating, "
        "every 10th message re-delivered as a Slack retry; latency = send -> ack read",
        "rate": rate,
        "duration": duration,
        "requests": sum(len(v) for v in load.latency.values()) + load.status["exception"],
        "send_seconds": round(sending, 3),
        "http_status": dict(load.status),
        "errors": errors,
        "error_samples": load.errors[:5],
        "ack_p50_ms": round(p50, 2),
        "ack_p99_ms": round(p99, 2),
        "ack_mean_ms": round(statistics.fmean(everything), 2) if everything else None,
        "by_kind": by_kind,
        "messages_sent": len(sent_messages),
        "messages_stored": sum(messages.values()),
        "messages_missing": len(missing),
        "messages_doubled": len(doubled),
        "notes_sent": len(sent_notes),
        "notes_stored": sum(notes.values()),
        "exactly_once": exactly_once,
        "value": round(p99, 2),
        "goal": P99_GOAL_MS,
        "checks": [
            {
                "what": f"ack latency p99 at {rate:g} req/s (commands + message events)",
                "numbers": f"p50 {p50:.1f} ms, p99 {p99:.1f} ms over "
                f"{len(everything)} requests; errors {errors}",
                "value": round(p99, 2), "unit": "ms", "goal": P99_GOAL_MS, "op": "<=",
                "ok": p99 <= P99_GOAL_MS,
            },
            {
                "what": "errors under load (non-200 or failed requests)",
                "numbers": f"{errors} of {len(everything) + load.status['exception']}",
                "value": errors, "unit": "", "goal": 0, "op": "<=", "ok": errors == 0,
            },
            {
                "what": "every message event (and note) stored exactly once, retries included",
                "numbers": f"messages {sum(messages.values())}/{len(sent_messages)} "
                f"(missing {len(missing)}, doubled {len(doubled)}); notes "
                f"{sum(notes.values())}/{len(sent_notes)}",
                "value": int(exactly_once), "unit": "", "goal": 1, "op": ">=",
                "ok": exactly_once,
            },
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=RATE)
    parser.add_argument("--duration", type=float, default=DURATION)
    args = parser.parse_args()
    row = asyncio.run(run(args.rate, args.duration))
    print(
        f"load: {row['requests']} requests at {row['rate']:g}/s for {row['duration']:g} s; "
        f"ack p50 {row['ack_p50_ms']} ms, p99 {row['ack_p99_ms']} ms; errors {row['errors']}; "
        f"messages stored {row['messages_stored']}/{row['messages_sent']} "
        f"(missing {row['messages_missing']}, doubled {row['messages_doubled']}); "
        f"exactly once: {row['exactly_once']}",
        flush=True,
    )
    append_result(row)


if __name__ == "__main__":
    main()
