"""`/metrics check` wall time vs its slowest single query, against a real Prometheus
serving the seed-000 scenario (sandbox.prometheus_scenario).

Each round runs one full check (all queries concurrent) and then every query of the
check alone, one after the other, on the same source. The ratio is
median(check wall) / median(slowest solo query) — goal <= 1.3: a check costs about as
much as its slowest query, not the sum of them. Prints the result and appends a JSON line
to bench/results.jsonl.

On the tiny backfilled TSDB Prometheus answers in well under a millisecond, so each query's
cost is the Python HTTP client's CPU time, which threads cannot overlap (GIL): the ratio
there is about check/sequential. A second measurement wraps the same real source with a
fixed simulated server latency (SIMULATED_LATENCY per query, asyncio.sleep) to show the
concurrency when the server dominates, as it does on a production-sized Prometheus."""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import append_result  # noqa: E402
from bot.metrics import MetricsService, MetricsSource, PrometheusSource, load_config  # noqa: E402
from bot.metrics.models import (  # noqa: E402
    PARTS,
    RangeSeries,
)
from bot.metrics.prometheus import InstantResult  # noqa: E402
from bot.metrics.queries import plan_queries  # noqa: E402
from bot.runbooks import RunbookLibrary  # noqa: E402
from sandbox.prometheus_scenario import PrometheusServer  # noqa: E402

ROUNDS = 30
WARMUP = 3
GOAL = 1.3
SIMULATED_LATENCY = 0.05
QUERY_COUNT = 0


class _Delayed:
    """The real source plus a fixed delay per query (a slower, bigger Prometheus)."""

    def __init__(self, inner: PrometheusSource, delay: float) -> None:
        self.inner = inner
        self.delay = delay

    def __getattr__(self, name: str) -> object:  # discovery's catalog calls
        return getattr(self.inner, name)

    async def instant(self, promql: str, at: datetime | None = None) -> InstantResult:
        await asyncio.sleep(self.delay)
        return await self.inner.instant(promql, at)

    async def range(
        self, promql: str, start: datetime, end: datetime, step: timedelta
    ) -> list[RangeSeries]:
        await asyncio.sleep(self.delay)
        return await self.inner.range(promql, start, end, step)


async def measure(
    server: PrometheusServer, source: MetricsSource, rounds: int
) -> tuple[float, float, float]:
    """Medians of (check wall, slowest solo query, sum of solo queries)."""
    assert server.times is not None
    at = server.times.incident_at
    config = load_config()
    svc = MetricsService(
        source=source,
        config=config,
        clock=lambda: at,
        runbooks=RunbookLibrary.from_folder(ROOT / "runbooks"),
    )
    bindings = await svc.bindings()
    queries = [q.promql for q in plan_queries(PARTS, bindings, None, svc.config).values()]
    global QUERY_COUNT
    QUERY_COUNT = len(queries)
    walls: list[float] = []
    slowest: list[float] = []
    sums: list[float] = []
    for i in range(WARMUP + rounds):
        started = time.perf_counter()
        report = await svc.check(at=at)
        wall = time.perf_counter() - started
        assert report.complete, report.failures
        solo: list[float] = []
        for q in queries:
            t0 = time.perf_counter()
            await source.instant(q, at)
            solo.append(time.perf_counter() - t0)
        if i >= WARMUP:
            walls.append(wall)
            slowest.append(max(solo))
            sums.append(sum(solo))
    return statistics.median(walls), statistics.median(slowest), statistics.median(sums)


async def run(server: PrometheusServer) -> dict[str, object]:
    source = PrometheusSource(server.url, timeout=5.0)
    check_s, slowest_s, seq_s = await measure(server, source, ROUNDS)
    sim_check, sim_slowest, sim_seq = await measure(
        server, _Delayed(source, SIMULATED_LATENCY), 10
    )
    source.close()
    return {
        "bench": "metrics_check",
        "queries": QUERY_COUNT,
        "rounds": ROUNDS,
        "check_seconds": round(check_s, 5),
        "slowest_query_seconds": round(slowest_s, 5),
        "sequential_seconds": round(seq_s, 5),
        "ratio": round(check_s / slowest_s, 2),
        "simulated_latency_seconds": SIMULATED_LATENCY,
        "simulated_check_seconds": round(sim_check, 5),
        "simulated_slowest_query_seconds": round(sim_slowest, 5),
        "simulated_sequential_seconds": round(sim_seq, 5),
        "simulated_ratio": round(sim_check / sim_slowest, 2),
        "goal": GOAL,
    }


def main() -> None:
    with PrometheusServer() as server:
        result = asyncio.run(run(server))
    append_result(result)


if __name__ == "__main__":
    main()
