"""More Prometheus worlds for the metric checks, in other conventions and under other
service names than seed 000 (none of these names appear in bot/ or commands/).

- ``otel``: OpenTelemetry semantic conventions (`http_server_request_duration_seconds`
  histogram, `http_response_status_code`, the service in `job` as the OTel Prometheus
  exporter puts it), HikariCP pools per service (Micrometer names), cAdvisor usage against
  kube-state-metrics limits. Twelve services, so a check shows ten and "2 more services OK".
  The incident: ledger-svc's Hikari pool is exhausted; basket-api, which calls it, follows.
- ``micrometer``: Spring Boot / Micrometer (`http_server_requests_seconds` with `status`
  and `outcome`), the service in the pod label `app` while every series shares one scrape
  `job`, postgres_exporter (`pg_stat_activity_count` vs `pg_settings_max_connections`),
  and only `process_*` for CPU and memory. The incident: the shared Postgres is at 95% of
  max_connections; invoice-hub fails first, courier-dispatch after it.

Both use the seed's timeline (healthy, a two-minute ramp, the incident) and its exact
shaping: rate[1m] on the 30 s grid returns the tables below, P99 falls exactly on target.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sandbox.fleet_scenarios import MIXED
from sandbox.prometheus_scenario import (
    RAMP_STEPS,
    ScenarioTimes,
    generate_openmetrics,
    scenario_times,
)
from sandbox.scenario_kit import (
    Scenario,
    Svc,
    _ok,
    _Writer,
    ramp,
    steady,
)

# --------------------------------------------------------------------------- otel

_QUIET = (
    ("quote-engine", 14.0, 0.02, 120.0),
    ("storefront-bff", 40.0, 0.08, 210.0),
    ("payments-gw", 9.0, 0.01, 180.0),
    ("search-indexer", 6.0, 0.0, 190.0),
    ("notif-relay", 11.0, 0.03, 130.0),
    ("profile-store", 22.0, 0.05, 140.0),
    ("pricing-rules", 17.0, 0.02, 105.0),
    ("media-thumbs", 8.0, 0.01, 260.0),
    ("geo-lookup", 30.0, 0.04, 115.0),
    ("audit-trail", 5.0, 0.0, 125.0),
)

OTEL_SERVICES: tuple[Svc, ...] = (
    Svc(
        "ledger-svc",
        ramp(18.0, 40.0),
        ramp(0.05, 7.0, (0.02, 0.2, 0.6)),
        ramp(120.0, 2400.0, (0.05, 0.2, 0.5)),
        ramp(0.40, 0.88),
        steady(0.55),
    ),
    Svc(
        "basket-api",
        ramp(25.0, 30.0),
        ramp(0.04, 3.1, (0.0, 0.05, 0.3)),
        ramp(150.0, 2200.0, (0.02, 0.1, 0.4)),
        steady(0.30),
        ramp(0.60, 0.80),
    ),
    *(
        Svc(n, steady(r), steady(e), steady(p), steady(0.2), steady(0.4))
        for n, r, e, p in _QUIET
    ),
)
OTEL_POOL = ("ledger-svc", 20.0, ramp(8.0, 20.0, (0.2, 0.5, 0.85)), ramp(0.0, 15.0))
CPU_LIMIT_CORES = 0.5
MEMORY_LIMIT_BYTES = 512 * 2**20


def _write_otel(sc: Scenario, w: _Writer) -> None:
    fam = "http_server_request_duration_seconds"
    w.family(fam, "histogram", "seconds")
    for s in sc.services:
        base = {"job": s.name, "http_request_method": "GET", "url_scheme": "http"}
        w.histogram(
            fam,
            [
                ({**base, "http_response_status_code": "200"}, _ok(s.requests, s.errors)),
                ({**base, "http_response_status_code": "503"}, s.errors),
            ],
            s.p99_ms,
            0.001,
        )
    w.family("up", "gauge")
    for s in sc.services:
        w.series("up", {"job": s.name, "instance": f"{s.name}:9464"}, w.gauge(steady(1.0)))
    # HikariCP through Micrometer's OTel bridge: one pool per JVM service.
    owner, size, active, pending = OTEL_POOL
    jvm = [owner, "payments-gw", "profile-store"]
    for name, kind in (
        ("hikaricp_connections_active", "gauge"),
        ("hikaricp_connections_pending", "gauge"),
        ("hikaricp_connections_max", "gauge"),
    ):
        w.family(name, kind)
        for svc in jvm:
            if name.endswith("_max"):
                values = steady(size if svc == owner else 10.0)
            elif svc == owner:
                values = active if name.endswith("_active") else pending
            else:
                values = steady(3.0) if name.endswith("_active") else steady(0.0)
            w.series(name, {"job": svc, "pool": "HikariPool-1"}, w.gauge(values))
    # cAdvisor per container, kube-state-metrics limits per container.
    w.family("container_cpu_usage_seconds", "counter")
    w.family("container_memory_working_set_bytes", "gauge")
    w.family("kube_pod_container_resource_limits", "gauge")
    for s in sc.services:
        pod = f"{s.name}-7d9f8c6b5-x2x4q"
        where = {"namespace": "shop", "pod": pod, "container": s.name}
        cores = tuple(f * CPU_LIMIT_CORES for f in s.cpu)
        w.series("container_cpu_usage_seconds_total", where, w.counter(cores))  # type: ignore[arg-type]
        mem = tuple(f * MEMORY_LIMIT_BYTES for f in s.memory)
        w.series("container_memory_working_set_bytes", where, w.gauge(mem))  # type: ignore[arg-type]
        w.series(
            "kube_pod_container_resource_limits",
            {**where, "resource": "cpu", "unit": "core"},
            w.gauge(steady(CPU_LIMIT_CORES)),
        )
        w.series(
            "kube_pod_container_resource_limits",
            {**where, "resource": "memory", "unit": "byte"},
            w.gauge(steady(float(MEMORY_LIMIT_BYTES))),
        )
    # the POD sandbox container cAdvisor also reports: must not count
    w.series(
        "container_cpu_usage_seconds_total",
        {"namespace": "shop", "pod": "ledger-svc-7d9f8c6b5-x2x4q", "container": "POD"},
        w.counter(steady(0.001)),
    )


OTEL = Scenario(
    name="otel",
    description="OpenTelemetry HTTP metrics, HikariCP pools, cAdvisor + kube-state-metrics",
    services=OTEL_SERVICES,
    declare_services=("ledger-svc", "basket-api"),
    write=_write_otel,
    expected={
        "ledger_errors": "  - ledger-svc: 7.00 errors/sec (17.5% of requests) [CRITICAL]",
        "basket_errors": "  - basket-api: 3.10 errors/sec (10.3% of requests) [CRITICAL]",
        "ledger_p99": "  - ledger-svc: 2400ms P99 [HIGH]",
        "basket_p99": "  - basket-api: 2200ms P99 [HIGH]",
        "pool": "  - Database Connections (ledger-svc HikariPool-1): 20/20 (100%) [CRITICAL]",
        "waiting": "  - Database Connections Waiting (ledger-svc HikariPool-1): 15",
        "cpu": "  - ledger-svc CPU: 88% [HIGH]",
        "memory": "  - basket-api Memory: 80% [ELEVATED]",
        "more": "2 more services OK",
    },
)


# --------------------------------------------------------------------------- micrometer

MICROMETER_SERVICES: tuple[Svc, ...] = (
    Svc(
        "invoice-hub",
        ramp(20.0, 36.0),
        ramp(0.02, 6.2, (0.02, 0.25, 0.6)),
        ramp(180.0, 3400.0, (0.05, 0.2, 0.5)),
        ramp(0.25, 0.55),
        steady(420 * 2**20),
    ),
    Svc(
        "courier-dispatch",
        ramp(12.0, 15.0),
        ramp(0.01, 2.8, (0.0, 0.05, 0.3)),
        ramp(140.0, 2600.0, (0.02, 0.1, 0.4)),
        steady(0.12),
        steady(300 * 2**20),
    ),
    Svc("tally-service", steady(8.0), steady(0.01), steady(195.0), steady(0.05), steady(2**28)),
    Svc("rota-planner", steady(3.0), steady(0.0), steady(170.0), steady(0.03), steady(2**27)),
    Svc("kiosk-edge", steady(26.0), steady(0.1), steady(130.0), steady(0.2), steady(2**28)),
)
PG_MAX = 200.0
PG_ACTIVE = ramp(70.0, 160.0, (0.2, 0.5, 0.8))
PG_IDLE = ramp(20.0, 30.0)


def _write_micrometer(sc: Scenario, w: _Writer) -> None:
    fam = "http_server_requests_seconds"
    w.family(fam, "histogram", "seconds")
    for s in sc.services:
        base = {"app": s.name, "job": "kubernetes-pods", "method": "GET", "uri": "/api/{id}"}
        ok = {**base, "status": "200", "outcome": "SUCCESS", "exception": "None"}
        bad = {**base, "status": "500", "outcome": "SERVER_ERROR", "exception": "SQLException"}
        w.histogram(fam, [(ok, _ok(s.requests, s.errors)), (bad, s.errors)], s.p99_ms, 0.001)
    w.family("up", "gauge")
    for s in sc.services:
        w.series("up", {"app": s.name, "job": "kubernetes-pods"}, w.gauge(steady(1.0)))
    w.family("process_cpu_seconds", "counter")
    w.family("process_resident_memory_bytes", "gauge")
    for s in sc.services:
        who = {"app": s.name, "job": "kubernetes-pods"}
        w.series("process_cpu_seconds_total", who, w.counter(s.cpu))
        w.series("process_resident_memory_bytes", who, w.gauge(s.memory))
    w.family("pg_stat_activity_count", "gauge")
    w.family("pg_settings_max_connections", "gauge")
    server = {"server": "pg-main:5432", "job": "postgres"}
    for state, values in (("active", PG_ACTIVE), ("idle", PG_IDLE)):
        w.series(
            "pg_stat_activity_count",
            {**server, "datname": "billing", "state": state},
            w.gauge(values),
        )
    w.series("pg_settings_max_connections", server, w.gauge(steady(PG_MAX)))


MICROMETER = Scenario(
    name="micrometer",
    description="Spring Boot / Micrometer HTTP metrics, postgres_exporter, process_* only",
    services=MICROMETER_SERVICES,
    declare_services=("invoice-hub", "courier-dispatch"),
    write=_write_micrometer,
    expected={
        "invoice_errors": "  - invoice-hub: 6.20 errors/sec (17.2% of requests) [CRITICAL]",
        "courier_errors": "  - courier-dispatch: 2.80 errors/sec (18.7% of requests) [CRITICAL]",
        "invoice_p99": "  - invoice-hub: 3400ms P99 [HIGH]",
        "pool": "  - Database Connections: 190/200 (95%) [CRITICAL]",
        "memory": "  - invoice-hub Memory: 420 MiB (no limit known)",
    },
)

SCENARIOS: dict[str, Scenario] = {"otel": OTEL, "micrometer": MICROMETER, "mixed": MIXED}
SCENARIO_NAMES = ("seed", *SCENARIOS)


def generate(
    scenario: Scenario, now: datetime | None = None, extend: timedelta = timedelta(hours=1)
) -> tuple[str, ScenarioTimes]:
    times = scenario_times(now, extend)
    w = _Writer(times)
    scenario.write(scenario, w)
    w.out.append("# EOF")
    return "\n".join(w.out) + "\n", times


def metadata_exposition(scenario: Scenario) -> str:
    """The scenario's families as an exporter would expose them (no timestamps): scraped
    once, they give Prometheus the # TYPE / # UNIT metadata a backfill cannot."""
    w = _Writer(scenario_times(extend=timedelta(minutes=1)))
    scenario.write(scenario, w)
    meta: dict[str, list[str]] = {}
    samples: dict[str, dict[str, None]] = {}
    for line in w.out:
        if line.startswith("#"):
            name = line.split()[2]
            meta.setdefault(name, []).append(line)
            samples.setdefault(name, {})
            continue
        name_labels = line.rsplit(" ", 2)[0]
        metric = name_labels.split("{", 1)[0]
        family = next(
            f
            for f in meta
            if metric == f or metric in (f + x for x in ("_bucket", "_count", "_sum", "_total"))
        )
        samples[family][f"{name_labels} 1"] = None
    out = [line for f in meta for line in (*meta[f], *samples[f])]
    return "\n".join([*out, "# EOF"]) + "\n"


def openmetrics_for(
    name: str, now: datetime | None = None, extend: timedelta = timedelta(hours=1)
) -> Callable[[], tuple[str, ScenarioTimes]]:
    """The generator PrometheusServer(openmetrics=…) takes for a scenario name."""
    if name == "seed":
        return lambda: generate_openmetrics(now, extend)
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; choose one of {', '.join(SCENARIO_NAMES)}")
    scenario = SCENARIOS[name]
    return lambda: generate(scenario, now, extend)


__all__ = ["MICROMETER", "OTEL", "RAMP_STEPS", "SCENARIOS", "SCENARIO_NAMES", "Scenario"]
