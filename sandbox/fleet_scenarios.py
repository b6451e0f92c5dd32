"""Prometheus worlds for a mixed fleet, under service names that appear nowhere in bot/
or commands/.

- ``mixed``: one Prometheus, three conventions side by side, each with its own resources:
  - Go services in the client libraries' defaults (`http_requests_total` with `code`,
    `http_request_duration_seconds`), the service in `service`, CPU and memory from
    `process_*`;
  - Spring services in Micrometer (`http_server_requests_seconds` with `status` and
    `outcome`), the service in the pod label `app` while the scrape `job` is shared, two
    instances each, CPU from `process_cpu_usage` and heap from `jvm_memory_used_bytes` /
    `jvm_memory_max_bytes` per G1 pool (eden and survivor have no max: -1), a HikariCP
    pool;
  - Node services in OpenTelemetry (`http_server_request_duration_seconds` with
    `http_response_status_code`, the service in `job`), CPU and memory from cAdvisor
    against kube-state-metrics limits.
  The incident: vault-teller's Hikari pool is exhausted (errors, heap and CPU up),
  sprocket-gw errors, orbit-cart is slow and near its CPU limit.
- ``annex``: a second, smaller Prometheus (another region) in the client defaults; one of
  its services has the same name as one of ``mixed``'s.
"""

from __future__ import annotations

from sandbox.scenario_kit import Phases, Scenario, Svc, _ok, _Writer, ramp, steady

GIB = float(2**30)
MIB = float(2**20)

GO: tuple[Svc, ...] = (
    # cpu: cores used (process_cpu_seconds_total), memory: resident bytes
    Svc(
        "sprocket-gw",
        steady(60.0),
        ramp(0.05, 3.0, (0.1, 0.4, 0.8)),
        steady(140.0),
        ramp(0.2, 0.75),
        steady(180 * MIB),
    ),
    Svc("relay-pulse", steady(25.0), steady(0.02), steady(110.0), steady(0.1), steady(90 * MIB)),
)
SPRING: tuple[Svc, ...] = (
    # cpu: process_cpu_usage of the busier instance, memory: heap used as a fraction of max
    Svc(
        "vault-teller",
        ramp(30.0, 40.0),
        ramp(0.03, 6.0, (0.05, 0.3, 0.7)),
        ramp(160.0, 3000.0, (0.05, 0.2, 0.5)),
        ramp(0.30, 0.82),
        ramp(0.50, 0.90),
    ),
    Svc("quill-billing", steady(12.0), steady(0.01), steady(210.0), steady(0.20), steady(0.40)),
)
NODE: tuple[Svc, ...] = (
    # cpu and memory: fractions of the containers' limits
    Svc(
        "orbit-cart",
        steady(45.0),
        steady(0.09),
        ramp(180.0, 2600.0, (0.1, 0.3, 0.6)),
        ramp(0.4, 0.9),
        steady(0.5),
    ),
    Svc("lumen-search", steady(18.0), steady(0.0), steady(120.0), steady(0.25), steady(0.3)),
)
HEAP_MAX = 1.0 * GIB  # per instance: the G1 old generation's max, the heap's
CPU_LIMIT = 0.5
MEMORY_LIMIT = 512 * MIB
# G1's heap pools: (id, share of the heap used, max); only the old generation has a max
G1_POOLS: tuple[tuple[str, float, float], ...] = (
    ("G1 Eden Space", 0.25, -1.0),
    ("G1 Old Gen", 0.7, HEAP_MAX),
    ("G1 Survivor Space", 0.05, -1.0),
)
POOL = ("vault-teller", 20.0, ramp(9.0, 19.0, (0.2, 0.5, 0.85)), ramp(0.0, 12.0))


def _scaled(p: Phases, k: float) -> Phases:
    return tuple(v * k for v in p)  # type: ignore[return-value]


def write_go(w: _Writer, services: tuple[Svc, ...], job: str = "go-services") -> None:
    w.family("http_requests", "counter")
    w.family("http_request_duration_seconds", "histogram", "seconds")
    for s in services:
        base = {"job": job, "service": s.name, "method": "GET"}
        w.series(
            "http_requests_total", {**base, "code": "200"}, w.counter(_ok(s.requests, s.errors))
        )
        w.series("http_requests_total", {**base, "code": "500"}, w.counter(s.errors))
        w.histogram(
            "http_request_duration_seconds",
            [({"job": job, "service": s.name}, s.requests)],
            s.p99_ms,
            0.001,
        )
    w.family("process_cpu_seconds", "counter")
    w.family("process_resident_memory_bytes", "gauge")
    w.family("up", "gauge")
    for s in services:
        who = {"job": job, "service": s.name}
        w.series("process_cpu_seconds_total", who, w.counter(s.cpu))
        w.series("process_resident_memory_bytes", who, w.gauge(s.memory))
        w.series("up", {**who, "instance": f"{s.name}:8080"}, w.gauge(steady(1.0)))


def _write_spring(w: _Writer) -> None:
    fam = "http_server_requests_seconds"
    w.family(fam, "histogram", "seconds")
    w.family("process_cpu_usage", "gauge")
    w.family("jvm_memory_used_bytes", "gauge")
    w.family("jvm_memory_max_bytes", "gauge")
    for s in SPRING:
        pod = {"app": s.name, "job": "kubernetes-pods"}
        base = {**pod, "method": "POST", "uri": "/api/{id}"}
        ok = {**base, "status": "200", "outcome": "SUCCESS", "exception": "None"}
        bad = {**base, "status": "503", "outcome": "SERVER_ERROR", "exception": "SQLException"}
        w.histogram(fam, [(ok, _ok(s.requests, s.errors)), (bad, s.errors)], s.p99_ms, 0.001)
        for n, share in enumerate((1.0, 0.6)):  # the second instance is less busy
            inst = {**pod, "instance": f"10.0.{n}.7:8080"}
            w.series("process_cpu_usage", inst, w.gauge(_scaled(s.cpu, share)))
            used = _scaled(s.memory, HEAP_MAX)
            for pool, part, top in G1_POOLS:
                heap = {**inst, "area": "heap", "id": pool}
                w.series("jvm_memory_used_bytes", heap, w.gauge(_scaled(used, part)))
                w.series("jvm_memory_max_bytes", heap, w.gauge(steady(top)))
            meta = {**inst, "area": "nonheap", "id": "Metaspace"}
            w.series("jvm_memory_used_bytes", meta, w.gauge(steady(300 * MIB)))
            w.series("jvm_memory_max_bytes", meta, w.gauge(steady(-1.0)))
    w.family("up", "gauge")
    for s in SPRING:
        w.series("up", {"app": s.name, "job": "kubernetes-pods"}, w.gauge(steady(1.0)))
    owner, size, active, pending = POOL
    for name, values in (
        ("hikaricp_connections_active", active),
        ("hikaricp_connections_pending", pending),
        ("hikaricp_connections_max", steady(size)),
    ):
        w.family(name, "gauge")
        w.series(
            name, {"app": owner, "job": "kubernetes-pods", "pool": "HikariPool-1"}, w.gauge(values)
        )


def _write_node(w: _Writer) -> None:
    fam = "http_server_request_duration_seconds"
    w.family(fam, "histogram", "seconds")
    w.family("container_cpu_usage_seconds", "counter")
    w.family("container_memory_working_set_bytes", "gauge")
    w.family("kube_pod_container_resource_limits", "gauge")
    for s in NODE:
        base = {"job": s.name, "http_request_method": "GET"}
        w.histogram(
            fam,
            [
                ({**base, "http_response_status_code": "200"}, _ok(s.requests, s.errors)),
                ({**base, "http_response_status_code": "500"}, s.errors),
            ],
            s.p99_ms,
            0.001,
        )
        where = {"namespace": "shop", "pod": f"{s.name}-5c7d9-q8x2z", "container": s.name}
        w.series("container_cpu_usage_seconds_total", where, w.counter(_scaled(s.cpu, CPU_LIMIT)))
        w.series(
            "container_memory_working_set_bytes", where, w.gauge(_scaled(s.memory, MEMORY_LIMIT))
        )
        for resource, unit, limit in (("cpu", "core", CPU_LIMIT), ("memory", "byte", MEMORY_LIMIT)):
            w.series(
                "kube_pod_container_resource_limits",
                {**where, "resource": resource, "unit": unit},
                w.gauge(steady(limit)),
            )
    w.family("up", "gauge")
    for s in NODE:
        w.series("up", {"job": s.name, "instance": f"{s.name}:9464"}, w.gauge(steady(1.0)))


def _write_mixed(sc: Scenario, w: _Writer) -> None:
    write_go(w, GO)
    _write_spring(w)
    _write_node(w)


MIXED = Scenario(
    name="mixed",
    description="client defaults, Micrometer (JVM CPU, heap) and OpenTelemetry in one Prometheus",
    services=(*GO, *SPRING, *NODE),
    declare_services=("vault-teller", "sprocket-gw"),
    write=_write_mixed,
    expected={
        "go_errors": "  - sprocket-gw: 3.00 errors/sec",
        "spring_errors": "  - vault-teller: 6.00 errors/sec",
        "node_p99": "  - orbit-cart: 2600ms P99 [HIGH]",
        "pool": "  - Database Connections: 19/20 (95%) [CRITICAL]",
        "spring_cpu": "  - vault-teller CPU: 82% [HIGH]",
        "spring_heap": "  - vault-teller Memory: 90% [HIGH]",
        "node_cpu": "  - orbit-cart CPU: 90% [HIGH]",
        "go_cpu": "  - sprocket-gw CPU: 75% of one core [ELEVATED]",
    },
)

ANNEX_SERVICES: tuple[Svc, ...] = (
    Svc("orbit-cart", steady(20.0), steady(0.01), steady(150.0), steady(0.1), steady(64 * MIB)),
    Svc("harbor-dns", steady(80.0), steady(0.0), steady(40.0), steady(0.05), steady(30 * MIB)),
)


def _write_annex(sc: Scenario, w: _Writer) -> None:
    write_go(w, sc.services, job="edge")


ANNEX = Scenario(
    name="annex",
    description="a second region's Prometheus, client defaults; one name also in `mixed`",
    services=ANNEX_SERVICES,
    declare_services=("harbor-dns",),
    write=_write_annex,
)
