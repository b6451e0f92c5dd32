"""The hot path's load, shared by bench/profile_serve.py and bench/compare.py: signed Events
API `message` envelopes from one incident channel (stored in Redis before the ack), sent
open loop at RATE per target to several targets at once, interleaved request by request
(the order rotates every tick), over keep-alive loopback connections.

Per target: ack latency (request sent → response read), errors, the CPU the target's
process used over the run (utime + stime from /proc/<pid>/stat) per event, and, for the
bot's targets, whether every acknowledged event is stored exactly once (the message-ts
index and the timeline stream both read back)."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import redis as sync_redis

from bench import SIGNING_SECRET, steady_load_generator
from bot.store import keys
from bot.timeline.models import EventKind
from sandbox import slack_requests as sr
from sandbox.slack_emulator import SlackEmulator

USER, DECLARER = "U0BOB", "U0ALICE"
TICKS = os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far (its own threads, not its children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass
class Target:
    """One server under load: a name, its port and the process whose CPU is counted."""

    name: str
    port: int
    pid: int
    stores: bool = True  # a bot (checked for exactly-once); False for the bare Bolt floor
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    acked: list[str] = field(default_factory=list)
    sent: int = 0
    cpu: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"


def message_body(channel: str, ts: str, event_id: str) -> str:
    event = {"type": "message", "channel": channel, "user": USER, "ts": ts, "event_ts": ts,
             "text": f"checking the checkout pods, error rate still 4% ({ts})",
             "channel_type": "channel"}
    return sr.event_callback(event, event_id=event_id)


async def declare(emu: SlackEmulator, port: int, redis_url: str,
                  title: str = "Bench hot path") -> str:
    """One signed `/incident declare` through a bot; its channel once the incident exists."""
    incidents = emu.channel_by_name("incidents")
    assert incidents is not None
    before = set(emu.channel_ids())
    body = sr.slash_command("/incident", f"declare {title} sev:3", DECLARER,
                            incidents.id, emu.new_response_url(incidents.id), "trig-bench")
    async with aiohttp.ClientSession() as s, s.post(
        f"http://127.0.0.1:{port}/slack/events", data=body.encode(),
        headers=sr.signed_headers(SIGNING_SECRET, body),
    ) as resp:
        assert resp.status == 200, resp.status
    r = sync_redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        created = [c for c in emu.channel_ids() if c not in before]
        if created and r.exists(keys.channel_index(created[0])):
            return created[0]
        await asyncio.sleep(0.05)
    raise RuntimeError("declare did not create an indexed incident channel")


async def _one(session: aiohttp.ClientSession, target: Target, data: bytes,
               headers: dict[str, str], ts: str, record: bool) -> None:
    started = time.perf_counter()
    try:
        async with session.post(target.url, data=data, headers=headers) as resp:
            await resp.read()
            status = resp.status
    except aiohttp.ClientError as exc:
        target.errors[type(exc).__name__] += 1
        return
    if status != 200:
        target.errors[f"HTTP {status}"] += 1
        return
    if record:
        target.latencies.append(time.perf_counter() - started)
        target.acked.append(ts)


async def run_load(targets: list[Target], channel: str, events: int, rate: float,
                   warmup: int = 100, ts_base: int = 1795000000) -> None:
    """`events` message events to EACH target at `rate` per target, interleaved; the first
    `warmup` per target are not measured. Bodies are signed before the clock starts."""
    plan: list[tuple[Target, bytes, dict[str, str], str, bool]] = []
    for n in range(warmup + events):
        k = n % len(targets)
        order = targets[k:] + targets[:k]  # rotate who goes first each tick
        for t in order:
            idx = targets.index(t)
            ts = f"{ts_base + idx}.{n:06d}"
            body = message_body(channel, ts, f"Ev{idx}x{n:07d}")
            plan.append((t, body.encode(), sr.signed_headers(SIGNING_SECRET, body), ts,
                         n >= warmup))
    per_tick = len(targets)
    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn) as session:
        loop = asyncio.get_running_loop()
        tasks: list[asyncio.Task[None]] = []
        # warm-up, unmeasured, then the CPU counters start
        for t, data, headers, ts, record in plan[: warmup * per_tick]:
            await _one(session, t, data, headers, ts, record)
        await asyncio.sleep(0.5)
        with steady_load_generator():
            cpu0 = {t.name: cpu_seconds(t.pid) for t in targets}
            start = loop.time() + 0.05
            for tick in range(events):
                delay = start + tick / rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                base = (warmup + tick) * per_tick
                for t, data, headers, ts, record in plan[base : base + per_tick]:
                    t.sent += 1
                    tasks.append(asyncio.create_task(_one(session, t, data, headers, ts, record)))
            await asyncio.gather(*tasks)
        for t in targets:
            t.cpu = cpu_seconds(t.pid) - cpu0[t.name]


def stored_once(redis_url: str, channel: str, acked: list[str]) -> dict[str, int]:
    """How many acknowledged message ts are in the index and the stream exactly once."""
    r = sync_redis.Redis.from_url(redis_url)
    incident_id = r.get(keys.channel_index(channel))
    assert incident_id is not None
    iid = incident_id.decode()
    index = {k.decode(): v.decode() for k, v in r.hgetall(keys.timeline_messages(iid)).items()}
    per_ts: Counter[str] = Counter()
    ids = set()
    for sid, fields_ in r.xrange(keys.timeline(iid)):
        ids.add(sid.decode())
        doc = json.loads(fields_[b"v"])
        if doc.get("kind") == EventKind.MESSAGE.value:
            per_ts[doc["message_ts"]] += 1
    return {
        "stored_once": sum(1 for ts in acked if per_ts[ts] == 1 and index.get(ts) in ids),
        "missing": sum(1 for ts in acked if per_ts[ts] == 0 or ts not in index),
        "doubled": sum(1 for ts in acked if per_ts[ts] > 1),
    }


def summary(t: Target, events: int) -> dict[str, Any]:
    lat = t.latencies or [float("nan")]
    return {
        "n": len(t.latencies), "sent": t.sent, "errors": dict(t.errors),
        "p50_ms": round(statistics.median(lat) * 1000, 3),
        "p99_ms": round(pct(lat, 99) * 1000, 3) if len(lat) > 1 else float("nan"),
        "max_ms": round(max(lat) * 1000, 3),
        "cpu_s": round(t.cpu, 2),
        "cpu_us_per_event": round(t.cpu / events * 1e6, 1),
    }


def machine() -> dict[str, Any]:
    """What the figures were measured on: cores, CPU model, load average at the end."""
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown")
    return {"nproc": os.cpu_count(), "cpu": model,
            "loadavg": [round(x, 2) for x in os.getloadavg()]}


def git_worktree(ref: str, root: Path, into: Path) -> Path:
    """A detached checkout of `ref` (the code measured as 'before'), removed by the caller
    with `git worktree remove --force`."""
    subprocess.run(["git", "worktree", "add", "--detach", "-f", str(into), ref], cwd=root,
                   check=True, capture_output=True)
    return into
