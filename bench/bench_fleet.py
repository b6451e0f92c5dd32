"""Metric checks on a fleet: 1,000 services across three real Prometheus servers, about
200k series, each server speaking three conventions at once (client defaults with process
metrics, Micrometer with JVM gauges, OpenTelemetry with cAdvisor + kube-state-metrics),
five service names on two servers (shown as `name@server`), and SLO recording rules for 100
services (Sloth's on one server, Pyrra's on another) that Prometheus evaluates itself.

Measures, side by side in one run:
- cold discovery of the whole fleet (three servers discovered concurrently, new clients and
  empty caches) — goal <= 3 s;
- `/metrics check` over every service vs its slowest single query: the check's queries (one
  per family and server, aggregated by the family's label) run concurrently on all three
  servers; each round also runs every query alone, one after the other — goal <= 1.3x.

Rules write their results at the time they run, and a TSDB refuses samples older than its
newest block, so the backfilled data ends a little after the servers are expected to be up
(PREPARE) and never later; the checks use a 10-minute rate window so the data's last
samples stay in it while the bench runs. Appends one JSON line to bench/results.jsonl.
"""

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
from bot.metrics import MetricsService, PrometheusSource  # noqa: E402
from bot.metrics.check import slo_keys  # noqa: E402
from bot.metrics.config import load_config  # noqa: E402
from bot.metrics.models import PARTS  # noqa: E402
from bot.metrics.queries import plan_queries  # noqa: E402
from sandbox.prometheus_scenario import (  # noqa: E402
    BUCKETS,
    PrometheusServer,
    ScenarioTimes,
    bucket_fractions,
)
from sandbox.slo_rules import RatioSlo, pyrra_rules, rules_file, sloth_rules  # noqa: E402

SERVERS = ("eu", "us", "ap")
SERVICES = 1000  # display names across the fleet
SHARED = 5  # names on both eu and us
ROUTES = {"client": 11, "micrometer": 10, "otel": 10}
SLOS_PER_SERVER = 50  # Sloth on eu, Pyrra on us
STEP = 60
BEFORE = timedelta(minutes=21)  # the 10m baseline offset reads 10m..20m back
PREPARE = timedelta(seconds=90)  # backfill + start of three servers, roughly
COLD_ROUNDS = 5
WARMUP = 1
ROUNDS = 5
COLD_GOAL, RATIO_GOAL = 3.0, 1.3
CONFIG = "rate_window: 10m\nprometheus:\n  query_timeout_seconds: 30\n"


def members() -> dict[str, list[str]]:
    """Service names per server: 1,000 display names, five of them on eu and us."""
    per = (SERVICES - 2 * SHARED) // len(SERVERS)
    names = {s: [f"{s}-svc-{i:03d}" for i in range(per)] for s in SERVERS}
    names["eu"] += [f"edge-{i}" for i in range(SHARED)]
    names["us"] += [f"edge-{i}" for i in range(SHARED)]
    names["ap"] += [f"ap-svc-{i:03d}" for i in range(per, SERVICES - 2 * SHARED - 2 * per)]
    return names


def generate(server: str, services: list[str], end: datetime) -> tuple[str, ScenarioTimes, int]:
    start = end - BEFORE
    points = int(BEFORE / timedelta(seconds=STEP)) + 1
    stamps = [int(start.timestamp()) + STEP * k for k in range(points)]
    t0 = stamps[0] - 600
    out: list[str] = []
    count = 0

    def counter(name: str, labels: str, rate: float) -> None:
        nonlocal count
        count += 1
        out.extend(f"{name}{{{labels}}} {rate * (ts - t0):.3f} {ts}" for ts in stamps)

    def gauge(name: str, labels: str, value: float) -> None:
        nonlocal count
        count += 1
        out.extend(f"{name}{{{labels}}} {value} {ts}" for ts in stamps)

    def histogram(fam: str, base: str, rate: float, fractions: list[float]) -> None:
        for b, f in zip(BUCKETS, fractions, strict=True):
            le = "+Inf" if math.isinf(b) else f"{b / 1000:g}"
            counter(f"{fam}_bucket", f'{base},le="{le}"', rate * f)
        counter(f"{fam}_count", base, rate)
        counter(f"{fam}_sum", base, rate * 0.1)

    kinds = ("client", "micrometer", "otel")
    for i, svc in enumerate(services):
        kind = kinds[i % 3]
        bad = i < 4  # a few services in trouble on each server
        fractions = bucket_fractions(2400.0 if bad else 150.0 + i % 7 * 20)
        err = 0.6 if bad else 0.002
        for r in range(ROUTES[kind]):
            for code, rate in (("200", 2.0 + i % 5), ("503", err)):
                if kind == "client":
                    base = f'job="go",service="{svc}",handler="/r{r}"'
                    counter("http_requests_total", f'{base},code="{code}"', rate)
                    histogram(
                        "http_request_duration_seconds", f'{base},code="{code}"', rate, fractions
                    )
                elif kind == "micrometer":
                    outcome = "SUCCESS" if code == "200" else "SERVER_ERROR"
                    base = (
                        f'job="kubernetes-pods",app="{svc}",uri="/r{r}",status="{code}",'
                        f'outcome="{outcome}"'
                    )
                    histogram("http_server_requests_seconds", base, rate, fractions)
                else:
                    base = f'job="{svc}",http_route="/r{r}",http_response_status_code="{code}"'
                    histogram("http_server_request_duration_seconds", base, rate, fractions)
        if kind == "client":
            counter("process_cpu_seconds_total", f'job="go",service="{svc}"', 0.2 + i % 5 / 10)
            gauge("process_resident_memory_bytes", f'job="go",service="{svc}"', 1.5e8)
            gauge("up", f'job="go",service="{svc}"', 1)
        elif kind == "micrometer":
            for n in range(2):
                inst = f'job="kubernetes-pods",app="{svc}",instance="10.{n}.{i // 250}.{i % 250}"'
                gauge("process_cpu_usage", inst, 0.2 + n / 10)
                for pool, used, top in (("G1 Eden Space", 2e8, -1), ("G1 Old Gen", 3e8, 1e9)):
                    where = f'{inst},area="heap",id="{pool}"'
                    gauge("jvm_memory_used_bytes", where, used)
                    gauge("jvm_memory_max_bytes", where, top)
            gauge("up", f'job="kubernetes-pods",app="{svc}"', 1)
        else:
            where = f'namespace="shop",pod="{svc}-0",container="{svc}"'
            counter("container_cpu_usage_seconds_total", where, 0.2)
            gauge("container_memory_working_set_bytes", where, 2e8)
            gauge("kube_pod_container_resource_limits", where + ',resource="cpu"', 0.5)
            gauge("kube_pod_container_resource_limits", where + ',resource="memory"', 5.12e8)
            gauge("up", f'job="{svc}"', 1)
    out.append("# EOF")
    times = ScenarioTimes(
        start=start,
        healthy_at=end,
        ramp_start=end,
        ramp_end=end,
        incident_at=end,
        now=end,
        end=end,
    )
    return "\n".join(out) + "\n", times, count


def rules_for(server: str, services: list[str]) -> str | None:
    """Sloth's rules for 50 client-default services on eu, Pyrra's for 50 on us."""
    client = [s for i, s in enumerate(services) if i % 3 == 0][:SLOS_PER_SERVER]
    slos = [
        RatioSlo(s, "availability", 99.9, "http_requests_total", f'service="{s}"', 'code=~"5.."')
        for s in client
    ]
    if server == "eu":
        return sloth_rules(slos)
    if server == "us":
        pyrra = [
            RatioSlo(s.service, f"{s.service}-availability", 99.0, s.metric, s.selector, s.errors)
            for s in slos
        ]
        return rules_file(pyrra_rules(pyrra, service_label="service"))
    return None


async def measure(servers: dict[str, PrometheusServer], config_path: Path) -> dict[str, object]:
    config = load_config(config_path)

    def service() -> MetricsService:
        return MetricsService(
            sources={n: PrometheusSource(p.url, timeout=30.0) for n, p in servers.items()},
            config=config,
            clock=lambda: datetime.now(UTC),
        )

    cold: list[float] = []
    for _ in range(COLD_ROUNDS):
        fresh = service()
        started = time.perf_counter()
        fleet = await fresh.fleet()
        cold.append(time.perf_counter() - started)
    assert len(fleet.services) == SERVICES and not fleet.down, (len(fleet.services), fleet.down)

    warm = service()
    fleet = await warm.fleet()
    plans = {}
    for m in fleet.up:
        assert m.bindings is not None
        keys = slo_keys(warm.config, fleet, m.name, m.bindings.services)
        plans[m.name] = plan_queries(PARTS, m.bindings, None, warm.config, keys)
    walls: list[float] = []
    slowest: list[float] = []
    sequential: list[float] = []
    per_server: list[float] = []  # one server's queries at once / its own slowest query
    slowest_name = ""
    for i in range(WARMUP + ROUNDS):
        now = datetime.now(UTC)
        started = time.perf_counter()
        report = await warm.check(at=now)
        wall = time.perf_counter() - started
        assert report.complete and len(report.services) == SERVICES, report.failures
        solo: dict[str, float] = {}
        for member, plan in plans.items():
            for name, q in plan.items():
                t0 = time.perf_counter()
                await warm.sources[member].instant(q.promql, now)
                solo[f"{member}/{name}"] = time.perf_counter() - t0
        alone: list[float] = []
        for member, plan in plans.items():
            t0 = time.perf_counter()
            await warm.runner(member).run(plan, now)
            own = max(v for k, v in solo.items() if k.startswith(f"{member}/"))
            alone.append((time.perf_counter() - t0) / own)
        if i >= WARMUP:
            per_server.append(max(alone))
            walls.append(wall)
            slowest.append(max(solo.values()))
            sequential.append(sum(solo.values()))
            slowest_name = max(solo, key=lambda n: solo[n])
    return {
        "cold": cold,
        "walls": walls,
        "slowest": slowest,
        "sequential": sequential,
        "queries": sum(len(p) for p in plans.values()),
        "slowest_name": slowest_name,
        "per_server": per_server,
        "slos": len(report.slos),
        "affected": len(report.affected_services),
    }


def main() -> None:
    end = datetime.now(UTC).replace(microsecond=0) + PREPARE
    names = members()
    series: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        servers: dict[str, PrometheusServer] = {}
        started = time.monotonic()
        try:
            for server in SERVERS:

                def openmetrics(server: str = server) -> tuple[str, ScenarioTimes]:
                    text, times, count = generate(server, names[server], end)
                    series[server] = count
                    return text, times

                prom = PrometheusServer(
                    openmetrics=openmetrics,
                    workdir=Path(tmp) / server,
                    ready_timeout=120,
                    rules=rules_for(server, names[server]),
                    evaluation_interval="30s",  # as Sloth's and Pyrra's groups run
                )
                servers[server] = prom.start()
            prepared = time.monotonic() - started
            # rule results count only once the clock is past the data's end
            wait = (end - datetime.now(UTC)).total_seconds() + 5
            if wait > 0:
                time.sleep(wait)
            # every rule group has run once (groups run at their own offsets)
            for server, record in (
                ("eu", "slo:objective:ratio"),
                ("eu", "slo:sli_error:ratio_rate5m"),
                ("us", "pyrra_objective"),
                ("us", "http_requests:burnrate5m"),
            ):
                servers[server].wait_for_series(
                    f"count({record}) == {SLOS_PER_SERVER}", timeout=90
                )
            config_path = Path(tmp) / "metrics.yml"
            config_path.write_text(CONFIG)
            m = asyncio.run(measure(servers, config_path))
        finally:
            for prom in servers.values():
                prom.stop()
    total = sum(series.values())
    cold = statistics.median(m["cold"])  # type: ignore[arg-type]
    wall = statistics.median(m["walls"])  # type: ignore[arg-type]
    slow = statistics.median(m["slowest"])  # type: ignore[arg-type]
    seq = statistics.median(m["sequential"])  # type: ignore[arg-type]
    ratio = wall / slow
    server_ratio = statistics.median(m["per_server"])  # type: ignore[arg-type]
    how = (
        f"three real Prometheus servers on one 2-core machine, {SERVICES} services, "
        f"{total:,} series (client defaults + process, Micrometer + JVM, OpenTelemetry + "
        f"cAdvisor/kube-state-metrics on each server), SLO rules for {2 * SLOS_PER_SERVER} "
        f"services (Sloth, Pyrra) evaluated by Prometheus; prepared in {prepared:.0f} s; "
        f"medians of {COLD_ROUNDS} cold discoveries and {ROUNDS} checks after {WARMUP} warm-up, "
        "each with its queries then run alone"
    )
    append_result(
        {
            "bench": "metrics_fleet",
            "how": how,
            "services": SERVICES,
            "series": total,
            "servers": len(SERVERS),
            "cold_seconds": round(cold, 4),
            "check_seconds": round(wall, 4),
            "slowest_query_seconds": round(slow, 4),
            "sequential_seconds": round(seq, 4),
            "ratio": round(ratio, 2),
            "per_server_ratio": round(server_ratio, 2),
            "checks": [
                {
                    "what": "metric discovery of a 3-server fleet, cold",
                    "numbers": (
                        f"median {cold * 1000:.0f} ms, max {max(m['cold']) * 1000:.0f} ms "  # type: ignore[arg-type]
                        f"over {total:,} series, {SERVICES} services, 3 servers"
                    ),
                    "value": round(cold, 3),
                    "unit": "s",
                    "goal": COLD_GOAL,
                    "op": "<=",
                },
                {
                    "what": (
                        f"`/metrics check` over {SERVICES} services, 3 servers / its slowest query"
                    ),
                    "numbers": (
                        f"check {wall * 1000:.0f} ms, slowest query ({m['slowest_name']}) "
                        f"{slow * 1000:.0f} ms, its {m['queries']} queries one by one "
                        f"{seq * 1000:.0f} ms; {m['slos']} SLOs read, "
                        f"{m['affected']} services affected"
                    ),
                    "value": round(ratio, 2),
                    "unit": "x",
                    "goal": RATIO_GOAL,
                    "op": "<=",
                },
                {
                    "what": "one server's check queries at once / its slowest query (worst server)",
                    "numbers": (
                        "what each server sees when it has its own cores; here three servers "
                        "and the bot share 2 cores, so the fleet check waits on their sum / 2"
                    ),
                    "value": round(server_ratio, 2),
                    "unit": "x",
                    "goal": RATIO_GOAL,
                    "op": "<=",
                },
            ],
        }
    )


if __name__ == "__main__":
    main()
