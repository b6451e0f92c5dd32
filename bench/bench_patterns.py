"""Matching time per declare against 1k / 10k / 100k past incidents (real Redis, db 8,
flushed). Goal: <= 100 ms per declare at 10k.

What is timed is `PatternService.similar` — the work `on_declare` does before posting:
categorise the new incident, read the pre-filter index (one pipelined round trip), decode
the best candidates and score them (structured reasons + rapidfuzz). Past incidents span two
years over 40 services, 60 tags and every category, so about a quarter are inside the
6-month window. Prints the result and appends a JSON line to bench/results.jsonl.

Run: .venv/bin/python -m bench.bench_patterns [--sizes 1000,10000,100000]"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from bench import append_result
from bot.clock import ManualClock
from bot.incidents.models import Incident, Role, Status
from bot.patterns.matcher import index_keys
from bot.patterns.service import PatternService
from bot.patterns.taxonomy import Category
from bot.store import codec, keys
from bot.store.redis_store import RedisStore, connect

URL = "redis://127.0.0.1:6379/8"
NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
SPAN = timedelta(days=730)
QUERIES = 50
SERVICES = [f"svc-{n}" for n in range(40)]
TAGS = [f"tag-{n}" for n in range(60)]
COMPONENTS = [
    "checkout",
    "listing",
    "search",
    "dashboard",
    "export",
    "billing",
    "login",
    "signup",
    "webhook",
    "queue",
    "scheduler",
    "payments",
    "invoices",
    "reports",
    "profile",
    "notifications",
    "upload",
    "gateway",
    "cache",
]
SYMPTOMS = [
    "slow",
    "timeouts",
    "500s",
    "latency",
    "errors",
    "degraded",
    "unavailable",
    "failing",
    "stuck",
    "backlog",
    "spike",
    "outage",
    "elevated",
]
CAUSES = {
    Category.N_PLUS_ONE: "N+1 query in the {c} endpoint",
    Category.CONNECTION_POOL: "connection pool exhausted on {c}",
    Category.TRAFFIC_SPIKE: "traffic spike on {c} after a campaign",
    Category.BAD_DEPLOY: "bad deploy of {c}, rolled back",
    Category.CONFIG_CHANGE: "configuration change to {c}",
    Category.DEPENDENCY_OUTAGE: "upstream provider for {c} down",
    Category.RESOURCE_EXHAUSTION: "disk full on the {c} hosts",
    Category.OTHER: "unknown blip in {c}",
}


class NullChat:
    async def post(self, channel_id: str, text: str) -> str:
        return "1.0"

    async def direct_message(self, user_id: str, text: str) -> None:
        return None


def fake_incident(rng: random.Random, n: int, at: datetime) -> Incident:
    comp = rng.choice(COMPONENTS)
    cat = rng.choice(list(CAUSES))
    resolved = at + timedelta(minutes=rng.randint(5, 600))
    return Incident(
        id=f"INC-{at:%Y%m%d}-{n:06d}",
        title=" ".join(
            (comp.title(), rng.choice(SYMPTOMS), rng.choice(SYMPTOMS), rng.choice(COMPONENTS))
        ),
        description=CAUSES[cat].format(c=comp),
        services=rng.sample(SERVICES, rng.randint(1, 2)),
        tags=rng.sample(TAGS, rng.randint(0, 3)),
        channel_id=f"C{n:08d}",
        channel_name=f"inc-{n}",
        declared_by="U0ALICE",
        declared_at=at,
        roles={Role.IC: "U0ALICE"},
        status=Status.RESOLVED,
        resolved_at=resolved,
        root_cause_category=cat.value,
    )


async def populate(store: RedisStore, size: int, rng: random.Random) -> None:
    await store.redis.flushdb()
    batch = 2000
    for start in range(0, size, batch):
        async with store.redis.pipeline(transaction=False) as pipe:
            for n in range(start, min(size, start + batch)):
                at = NOW - timedelta(seconds=rng.uniform(3600, SPAN.total_seconds()))
                inc = fake_incident(rng, n, at)
                score = at.timestamp()
                pipe.set(keys.incident(inc.id), codec.dumps(inc))
                pipe.zadd(keys.incidents_all(), {inc.id: score})
                for key in index_keys(inc, inc.root_cause_category):
                    pipe.zadd(key, {inc.id: score})
            await pipe.execute()


async def measure(size: int) -> dict[str, float]:
    rng = random.Random(size)
    redis = connect(URL)
    store = RedisStore(redis)
    try:
        t = time.perf_counter()
        await populate(store, size, rng)
        load = time.perf_counter() - t
        service = PatternService(store=store, chat=NullChat(), clock=ManualClock(NOW))
        queries = [fake_incident(rng, 10_000_000 + q, NOW) for q in range(QUERIES)]
        for q in queries:
            q.status, q.resolved_at, q.root_cause_category = Status.INVESTIGATING, None, None
        await service.similar(queries[0])  # warm up
        times: list[float] = []
        found = 0
        for q in queries:
            t = time.perf_counter()
            matches = await service.similar(q)
            times.append(time.perf_counter() - t)
            found += len(matches)
        times.sort()
        return {
            "size": size,
            "load_seconds": round(load, 2),
            "mean_ms": round(statistics.mean(times) * 1000, 2),
            "p50_ms": round(times[len(times) // 2] * 1000, 2),
            "p95_ms": round(times[int(len(times) * 0.95) - 1] * 1000, 2),
            "max_ms": round(times[-1] * 1000, 2),
            "matches_per_declare": round(found / len(queries), 2),
        }
    finally:
        await redis.flushdb()
        await redis.aclose()


async def main(sizes: list[int]) -> None:
    rows = []
    for size in sizes:
        row = await measure(size)
        rows.append(row)
        print(
            f"{size:>7} past incidents: mean {row['mean_ms']:.1f} ms, p50 {row['p50_ms']:.1f} ms,"
            f" p95 {row['p95_ms']:.1f} ms, max {row['max_ms']:.1f} ms per declare "
            f"({row['matches_per_declare']} matches; loaded in {row['load_seconds']} s)"
        )
    ten_k = next((r for r in rows if r["size"] == 10_000), None)
    line = {
        "bench": "patterns_match",
        "queries": QUERIES,
        "results": rows,
        "goal_ms_at_10k": 100,
        "met": None if ten_k is None else ten_k["p95_ms"] <= 100,
    }
    append_result(line)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    args = parser.parse_args()
    asyncio.run(main([int(s) for s in args.sizes.split(",")]))
