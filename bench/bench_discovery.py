"""Metric discovery and `/metrics check` over every service, on a Prometheus sized like a
real one: 220 services in the OpenTelemetry convention (13 routes × 2 status codes × a
7-bucket histogram each), HikariCP pools, cAdvisor usage and kube-state-metrics limits,
`up` — about 54k series, backfilled with promtool and served by the real `prometheus`.

Measures (medians, side by side in one run):
- cold discovery: a new MetricsService (new HTTP client, empty cache) asking Prometheus
  for names, metadata, label names and label values — goal <= 2 s;
- cached discovery: `bindings()` on a warm service — goal <= 5 ms;
- `/metrics check` over all services vs its slowest single query: the check's queries
  (aggregated `by (job)`, one per reading, never one per service) run concurrently; each
  round also runs every query alone, one after the other — goal <= 1.3x.
Appends one JSON line to bench/results.jsonl."""

from __future__ import annotations

import asyncio
import math
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import append_result  # noqa: E402
from bot.metrics import MetricsService, PrometheusSource, load_config  # noqa: E402
from bot.metrics.models import PARTS  # noqa: E402
from bot.metrics.queries import plan_queries  # noqa: E402
from sandbox.prometheus_scenario import (  # noqa: E402
    BUCKETS,
    PrometheusServer,
    ScenarioTimes,
    bucket_fractions,
)

SERVICES = 220
ROUTES = 13
TROUBLED = 6  # services with 5xx and slow P99
STEP = 30
BEFORE = timedelta(minutes=8)
AFTER = timedelta(minutes=1)
COLD_ROUNDS = 5
CACHED_CALLS = 2000
WARMUP = 2
ROUNDS = 10
COLD_GOAL, CACHED_GOAL_MS, RATIO_GOAL = 2.0, 5.0, 1.3


def service_name(i: int) -> str:
    return f"svc-{i:03d}"


def generate(now: datetime) -> tuple[str, ScenarioTimes, int]:
    start = now - BEFORE
    points = int((BEFORE + AFTER) / timedelta(seconds=STEP)) + 1
    stamps = [int(start.timestamp()) + STEP * k for k in range(points)]
    t0 = stamps[0] - 600  # counters began 10 min before the first sample
    out: list[str] = []
    series = 0

    def counter(name: str, labels: str, rate: float) -> None:
        nonlocal series
        series += 1
        out.extend(f"{name}{{{labels}}} {rate * (ts - t0):.3f} {ts}" for ts in stamps)

    def gauge(name: str, labels: str, value: float) -> None:
        nonlocal series
        series += 1
        out.extend(f"{name}{{{labels}}} {value} {ts}" for ts in stamps)

    fam = "http_server_request_duration_seconds"
    out.append(f"# TYPE {fam} histogram")
    for i in range(SERVICES):
        svc = service_name(i)
        bad = i < TROUBLED
        fractions = bucket_fractions(2400.0 if bad else 150.0 + i % 7 * 20)
        for r in range(ROUTES):
            for status, rate in (("200", 2.0 + i % 5), ("503", 0.6 if bad else 0.002)):
                base = (
                    f'job="{svc}",http_route="/r{r}",http_request_method="GET",'
                    f'http_response_status_code="{status}"'
                )
                for b, f in zip(BUCKETS, fractions, strict=True):
                    le = "+Inf" if math.isinf(b) else f"{b / 1000:g}"
                    counter(f"{fam}_bucket", f'{base},le="{le}"', rate * f)
                counter(f"{fam}_count", base, rate)
                counter(f"{fam}_sum", base, rate * 0.1)
    out.append("# TYPE up gauge")
    for i in range(SERVICES):
        gauge("up", f'job="{service_name(i)}",instance="10.0.{i // 250}.{i % 250}:9464"', 1)
    for name in ("hikaricp_connections_active", "hikaricp_connections_max"):
        out.append(f"# TYPE {name} gauge")
        for i in range(0, SERVICES, 2):
            value = (20 if i < TROUBLED else 4) if name.endswith("active") else 20
            gauge(name, f'job="{service_name(i)}",pool="HikariPool-1"', value)
    out.append("# TYPE container_cpu_usage_seconds counter")
    for i in range(SERVICES):
        for pod in range(2):
            where = f'namespace="shop",pod="{service_name(i)}-{pod}",container="{service_name(i)}"'
            counter("container_cpu_usage_seconds_total", where, 0.1 + (i % 10) / 40)
    out.append("# TYPE container_memory_working_set_bytes gauge")
    for i in range(SERVICES):
        for pod in range(2):
            where = f'namespace="shop",pod="{service_name(i)}-{pod}",container="{service_name(i)}"'
            gauge("container_memory_working_set_bytes", where, 2.0e8 + i * 1e5)
    out.append("# TYPE kube_pod_container_resource_limits gauge")
    for i in range(SERVICES):
        for pod in range(2):
            where = f'namespace="shop",pod="{service_name(i)}-{pod}",container="{service_name(i)}"'
            gauge("kube_pod_container_resource_limits", where + ',resource="cpu",unit="core"', 0.5)
            gauge(
                "kube_pod_container_resource_limits",
                where + ',resource="memory",unit="byte"',
                5.12e8,
            )
    out.append("# EOF")
    times = ScenarioTimes(
        start=start, healthy_at=now, ramp_start=now, ramp_end=now, incident_at=now, now=now,
        end=now + AFTER,
    )
    return "\n".join(out) + "\n", times, series


async def measure(prom: PrometheusServer, now: datetime) -> dict[str, object]:
    config = load_config()

    def service() -> MetricsService:
        return MetricsService(
            source=PrometheusSource(prom.url, timeout=10.0), config=config, clock=lambda: now
        )

    cold: list[float] = []
    for _ in range(COLD_ROUNDS):
        fresh = service()
        started = time.perf_counter()
        found = await fresh.bindings()
        cold.append(time.perf_counter() - started)
    assert len(found.services) == SERVICES and not found.missing, found.missing

    warm = service()
    await warm.bindings()
    per_call: list[float] = []
    for _ in range(CACHED_CALLS):
        started = time.perf_counter()
        await warm.bindings()
        per_call.append(time.perf_counter() - started)

    plan = plan_queries(PARTS, await warm.bindings(), None, warm.config)
    walls: list[float] = []
    slowest: list[float] = []
    sequential: list[float] = []
    slowest_name = ""
    for i in range(WARMUP + ROUNDS):
        started = time.perf_counter()
        report = await warm.check()
        wall = time.perf_counter() - started
        assert report.complete and len(report.services) == SERVICES, report.failures
        solo: dict[str, float] = {}
        for name, q in plan.items():
            t0 = time.perf_counter()
            await warm.sources[""].instant(q.promql, now)
            solo[name] = time.perf_counter() - t0
        if i >= WARMUP:
            walls.append(wall)
            slowest.append(max(solo.values()))
            sequential.append(sum(solo.values()))
            slowest_name = max(solo, key=lambda n: solo[n])
    return {
        "cold": cold,
        "cached": per_call,
        "walls": walls,
        "slowest": slowest,
        "sequential": sequential,
        "queries": len(plan),
        "slowest_name": slowest_name,
        "troubled": report.affected_services[:TROUBLED],
    }


def main() -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    made: dict[str, int] = {}

    def openmetrics() -> tuple[str, ScenarioTimes]:
        text, times, series = generate(now)
        made["series"] = series
        return text, times

    with (
        tempfile.TemporaryDirectory(prefix="bench-discovery-") as tmp,
        PrometheusServer(openmetrics=openmetrics, workdir=Path(tmp), ready_timeout=120) as prom,
    ):
        m = asyncio.run(measure(prom, now))
        backfill = prom.backfill_seconds
    cold = statistics.median(m["cold"])  # type: ignore[arg-type]
    cached_ms = statistics.median(m["cached"]) * 1000  # type: ignore[arg-type]
    wall = statistics.median(m["walls"])  # type: ignore[arg-type]
    slow = statistics.median(m["slowest"])  # type: ignore[arg-type]
    seq = statistics.median(m["sequential"])  # type: ignore[arg-type]
    ratio = wall / slow
    how = (
        f"real Prometheus, {SERVICES} services, {made['series']:,} series (OpenTelemetry "
        f"histograms, HikariCP, cAdvisor + kube-state-metrics, up), backfilled in "
        f"{backfill:.0f} s; medians: {COLD_ROUNDS} cold discoveries, {CACHED_CALLS} cached "
        f"calls, {ROUNDS} checks after {WARMUP} warm-up, each with its queries run alone"
    )
    append_result(
        {
            "bench": "metrics_discovery",
            "how": how,
            "services": SERVICES,
            "series": made["series"],
            "cold_seconds": round(cold, 4),
            "cached_ms": round(cached_ms, 5),
            "check_seconds": round(wall, 4),
            "slowest_query_seconds": round(slow, 4),
            "sequential_seconds": round(seq, 4),
            "ratio": round(ratio, 2),
            "checks": [
                {
                    "what": "metric discovery, cold (names, metadata, labels, label values)",
                    "numbers": (
                        f"median {cold * 1000:.0f} ms, max {max(m['cold']) * 1000:.0f} ms "  # type: ignore[arg-type]
                        f"over {made['series']:,} series, {SERVICES} services"
                    ),
                    "value": round(cold, 3),
                    "unit": "s",
                    "goal": COLD_GOAL,
                    "op": "<=",
                },
                {
                    "what": "metric discovery, cached",
                    "numbers": f"median {cached_ms * 1000:.1f} µs per call",
                    "value": round(cached_ms, 4),
                    "unit": "ms",
                    "goal": CACHED_GOAL_MS,
                    "op": "<=",
                },
                {
                    "what": f"`/metrics check` over all {SERVICES} services / its slowest query",
                    "numbers": (
                        f"check {wall * 1000:.0f} ms, slowest query ({m['slowest_name']}) "
                        f"{slow * 1000:.0f} ms, its {m['queries']} queries one by one "
                        f"{seq * 1000:.0f} ms; worst services {', '.join(m['troubled'])}"  # type: ignore[arg-type]
                    ),
                    "value": round(ratio, 2),
                    "unit": "x",
                    "goal": RATIO_GOAL,
                    "op": "<=",
                },
            ],
        }
    )


if __name__ == "__main__":
    main()
