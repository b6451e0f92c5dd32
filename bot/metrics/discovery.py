"""Discovery: ask Prometheus what exists and bind each check to it.

Three rounds of concurrent catalog calls: (1) metric names and metadata, (2) the label
names of every candidate family present, (3) the values of the candidate labels. From
them: the service label and services, requests/errors, latency (unit from metadata, else
the name's suffix), database pools, CPU and memory, and `up`. The result is cached for
METRICS_DISCOVERY_TTL; `refresh=True` asks again. METRICS_CONFIG pins always win.

The conventions known (names checked against the exporters' own docs):
- requests: OpenTelemetry semantic conventions (`http_server_request_duration_seconds`
  with `http_response_status_code`; before semconv 1.20 `http_server_duration_milliseconds`
  with `http_status_code`), Micrometer/Spring (`http_server_requests_seconds` with
  `status` or `outcome`), Prometheus client defaults (`http_requests_total` with `status`
  or `code`). A status may be a code (`503`), a class (`5xx`) or an outcome (`SERVER_ERROR`).
- pools: HikariCP via Micrometer (`hikaricp_connections_active/_pending/_max`, `pool`),
  postgres_exporter (`pg_stat_activity_count` against `pg_settings_max_connections`),
  pgbouncer_exporter (`pgbouncer_pools_server_active_connections`, `…_client_waiting_…`,
  `pgbouncer_databases_pool_size`), and `db_connections_*`.
- CPU/memory: cAdvisor (`container_cpu_usage_seconds_total`,
  `container_memory_working_set_bytes`) against kube-state-metrics limits
  (`kube_pod_container_resource_limits{resource=…}`), then `process_cpu_seconds_total` /
  `process_resident_memory_bytes`, then `container_{cpu,memory}_usage_ratio` gauges.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

import yaml

from bot.metrics.bindings import (
    Bindings,
    LatencyBinding,
    PoolBinding,
    RequestsBinding,
    ResourceBinding,
    UpBinding,
)
from bot.metrics.config import MetricsConfig
from bot.metrics.errors import MetricsQueryError, MetricsUnavailable
from bot.metrics.prometheus import CatalogSource

T = TypeVar("T")
Unit = Literal["seconds", "milliseconds", "microseconds"]


@dataclass(frozen=True)
class _RequestFamily:
    convention: str
    metric: str
    status_labels: tuple[str, ...]
    latency: str  # the histogram of the same family (…_bucket)


REQUEST_FAMILIES: tuple[_RequestFamily, ...] = (
    _RequestFamily(
        "OpenTelemetry",
        "http_server_request_duration_seconds_count",
        ("http_response_status_code",),
        "http_server_request_duration_seconds_bucket",
    ),
    _RequestFamily(
        "OpenTelemetry (semconv before 1.20)",
        "http_server_duration_milliseconds_count",
        ("http_status_code",),
        "http_server_duration_milliseconds_bucket",
    ),
    _RequestFamily(
        "OpenTelemetry (semconv before 1.20)",
        "http_server_duration_seconds_count",
        ("http_status_code",),
        "http_server_duration_seconds_bucket",
    ),
    _RequestFamily(
        "Micrometer",
        "http_server_requests_seconds_count",
        ("status", "outcome"),
        "http_server_requests_seconds_bucket",
    ),
    _RequestFamily(
        "Prometheus client",
        "http_requests_total",
        ("status", "code", "status_code"),
        "http_request_duration_seconds_bucket",
    ),
    _RequestFamily(
        "Prometheus client",
        "http_server_requests_total",
        ("code", "status"),
        "http_server_request_duration_seconds_bucket",
    ),
)
LATENCY_HISTOGRAMS: tuple[str, ...] = (
    "http_server_request_duration_seconds_bucket",
    "http_server_duration_milliseconds_bucket",
    "http_server_duration_seconds_bucket",
    "http_server_requests_seconds_bucket",
    "http_request_duration_seconds_bucket",
    "http_request_duration_milliseconds_bucket",
)
# Summaries with a precomputed quantile="0.99" (Micrometer percentiles, client summaries).
LATENCY_SUMMARIES: tuple[str, ...] = (
    "http_server_requests_seconds",
    "http_request_duration_seconds",
    "http_request_duration_milliseconds",
)
_GENERIC_LATENCY = re.compile(r"^http_\w*(duration|latency)\w*_bucket$")


@dataclass(frozen=True)
class _PoolFamily:
    kind: str
    active: str
    max: str | None
    waiting: str | None
    pool_labels: tuple[str, ...]
    max_pool_labels: tuple[str, ...] = ()


POOL_FAMILIES: tuple[_PoolFamily, ...] = (
    _PoolFamily(
        "HikariCP",
        "hikaricp_connections_active",
        "hikaricp_connections_max",
        "hikaricp_connections_pending",
        ("pool",),
    ),
    _PoolFamily(
        "postgres_exporter",
        "pg_stat_activity_count",
        "pg_settings_max_connections",
        None,
        ("server", "instance"),
    ),
    _PoolFamily(
        "pgbouncer_exporter",
        "pgbouncer_pools_server_active_connections",
        "pgbouncer_databases_pool_size",
        "pgbouncer_pools_client_waiting_connections",
        ("database",),
        ("name",),
    ),
    _PoolFamily(
        "db_connections gauges",
        "db_connections_active",
        "db_connections_max",
        "db_connections_waiting",
        ("database", "pool", "db", "datname"),
    ),
)
POOLS_LOOKED_FOR = (
    "hikaricp_connections_*, pg_stat_activity_count with pg_settings_max_connections, "
    "pgbouncer_pools_*, db_connections_*"
)


@dataclass(frozen=True)
class _ResourceSource:
    source: str
    usage: str
    usage_kind: Literal["counter", "gauge", "ratio"]
    limit: str | None = None
    limit_filter: str = ""
    joins: bool = False  # may join on container/app labels instead of the service label


CPU_SOURCES: tuple[_ResourceSource, ...] = (
    _ResourceSource(
        "cAdvisor + kube-state-metrics",
        "container_cpu_usage_seconds_total",
        "counter",
        "kube_pod_container_resource_limits",
        'resource="cpu"',
        joins=True,
    ),
    _ResourceSource(
        "cAdvisor + kube-state-metrics v1",
        "container_cpu_usage_seconds_total",
        "counter",
        "kube_pod_container_resource_limits_cpu_cores",
        joins=True,
    ),
    _ResourceSource("process metrics (% of one core)", "process_cpu_seconds_total", "counter"),
    _ResourceSource("ratio gauge", "container_cpu_usage_ratio", "ratio"),
)
MEMORY_SOURCES: tuple[_ResourceSource, ...] = (
    _ResourceSource(
        "cAdvisor + kube-state-metrics",
        "container_memory_working_set_bytes",
        "gauge",
        "kube_pod_container_resource_limits",
        'resource="memory"',
        joins=True,
    ),
    _ResourceSource(
        "cAdvisor + kube-state-metrics v1",
        "container_memory_working_set_bytes",
        "gauge",
        "kube_pod_container_resource_limits_memory_bytes",
        joins=True,
    ),
    _ResourceSource("process metrics (no limit known)", "process_resident_memory_bytes", "gauge"),
    _ResourceSource("ratio gauge", "container_memory_usage_ratio", "ratio"),
)
JOIN_LABELS = ("container", "app", "app_kubernetes_io_name", "deployment")


def unit_from_name(name: str) -> Unit | None:
    base = name.removesuffix("_bucket").removesuffix("_count").removesuffix("_sum")
    for suffix, unit in (
        ("_seconds", "seconds"),
        ("_milliseconds", "milliseconds"),
        ("_ms", "milliseconds"),
        ("_microseconds", "microseconds"),
    ):
        if base.endswith(suffix):
            return unit  # type: ignore[return-value]
    return None


def unit_from_metadata(name: str, metadata: dict[str, list[dict[str, str]]]) -> Unit | None:
    base = name.removesuffix("_bucket")
    for entry in metadata.get(base, []):
        unit = entry.get("unit", "").lower()
        if unit in ("seconds", "s"):
            return "seconds"
        if unit in ("milliseconds", "ms"):
            return "milliseconds"
        if unit in ("microseconds", "us"):
            return "microseconds"
    return None


class Discovery:
    """Finds and caches the bindings. One discovery at a time; callers share its result."""

    def __init__(
        self,
        *,
        source: CatalogSource | None,
        config: MetricsConfig,
        clock: Callable[[], datetime],
        ttl: timedelta = timedelta(minutes=10),
    ) -> None:
        self.source = source
        self.config = config
        self.clock = clock
        self.ttl = ttl
        self._cached: Bindings | None = None
        self._cached_at = 0.0
        self._lock = asyncio.Lock()

    @property
    def timeout(self) -> float:
        return self.config.prometheus.query_timeout_seconds

    def cached(self) -> Bindings | None:
        if (
            self._cached is not None
            and time.monotonic() - self._cached_at < self.ttl.total_seconds()
        ):
            return self._cached
        return None

    async def bindings(self, *, refresh: bool = False) -> Bindings:
        """The cached bindings, or a new discovery (raises MetricsUnavailable when
        Prometheus cannot be asked; nothing is cached then)."""
        if not refresh and (hit := self.cached()) is not None:
            return hit
        async with self._lock:
            if not refresh and (hit := self.cached()) is not None:
                return hit
            started = time.perf_counter()
            found = await self._discover()
            found = found.model_copy(
                update={"discovered_at": self.clock(), "seconds": time.perf_counter() - started}
            )
            self._cached, self._cached_at = found, time.monotonic()
            return found

    # --- plumbing --------------------------------------------------------------------

    async def _ask(self, call: Awaitable[T]) -> T:
        try:
            return await asyncio.wait_for(call, self.timeout)
        except TimeoutError as exc:
            raise MetricsUnavailable(f"timeout after {self.timeout:g}s") from exc

    async def _maybe(self, call: Awaitable[T], default: T) -> T:
        try:
            return await self._ask(call)
        except (MetricsUnavailable, MetricsQueryError):
            return default

    def _pinned_only(self) -> Bindings | None:
        """When METRICS_CONFIG pins everything, Prometheus is not asked at all."""
        c = self.config
        p = c.checks
        if not (c.service_label and c.services) or None in (p.requests, p.latency, p.pools):
            return None
        if None in (p.cpu, p.memory, p.up):
            return None
        return Bindings(
            service_label=c.service_label,
            services=list(c.services),
            requests=p.requests,
            latency=p.latency,
            pools=list(p.pools or []),
            cpu=p.cpu,
            memory=p.memory,
            up=p.up,
            pinned=[
                "service_label",
                "services",
                "requests",
                "latency",
                "db",
                "cpu",
                "memory",
                "up",
            ],
        )

    # --- discovery -------------------------------------------------------------------

    async def _discover(self) -> Bindings:
        pinned = self._pinned_only()
        if pinned is not None:
            return pinned
        if self.source is None:
            raise MetricsUnavailable("no Prometheus to discover metrics from")
        src = self.source
        end = self.clock()
        start = end - _lookback(self.config.discovery.lookback)

        names_list, metadata = await asyncio.gather(
            self._ask(src.metric_names(start, end)),
            self._maybe(src.metadata(), {}),
        )
        names = set(names_list)

        # Round 2: label names of every candidate family that exists.
        wanted: set[str] = set()
        families = [f for f in REQUEST_FAMILIES if f.metric in names]
        wanted.update(f.metric for f in families[:1])
        latency_names = [n for n in LATENCY_HISTOGRAMS if n in names]
        latency_names += sorted(
            n for n in names if _GENERIC_LATENCY.match(n) and n not in latency_names
        )
        summaries = [n for n in LATENCY_SUMMARIES if n in names]
        wanted.update(latency_names + summaries)
        for pool in POOL_FAMILIES:
            for metric in (pool.active, pool.max):
                if metric and metric in names:
                    wanted.add(metric)
        for res in (*CPU_SOURCES, *MEMORY_SOURCES):
            for metric in (res.usage, res.limit):
                if metric and metric in names:
                    wanted.add(metric)
        if "up" in names:
            wanted.add("up")
        order = sorted(wanted)
        label_lists = await asyncio.gather(
            *(self._maybe(src.label_names(m, start, end), list[str]()) for m in order)
        )
        labels_of: dict[str, set[str]] = {
            m: set(ls) for m, ls in zip(order, label_lists, strict=True)
        }

        # Round 3: values of the labels that decide: service label candidates on the
        # request metric (or the latency family without one), status labels, join labels.
        family = families[0] if families else None
        anchor = family.metric if family else next(iter(latency_names), None)
        svc_candidates = list(self.config.discovery.service_labels)
        if self.config.service_label:
            svc_candidates = [self.config.service_label]
        asks: list[tuple[str, str]] = []  # (label, metric)
        if anchor is not None:
            asks += [(lbl, anchor) for lbl in svc_candidates if lbl in labels_of.get(anchor, set())]
        if family is not None:
            asks += [
                (lbl, family.metric)
                for lbl in family.status_labels
                if lbl in labels_of.get(family.metric, set())
            ]
        for res in (*CPU_SOURCES, *MEMORY_SOURCES):
            if res.usage not in names:
                continue
            for lbl in (*svc_candidates, *JOIN_LABELS):
                if lbl in labels_of.get(res.usage, set()):
                    asks.append((lbl, res.usage))
        for pool in POOL_FAMILIES:
            if pool.active in names:
                asks += [
                    (lbl, pool.active)
                    for lbl in svc_candidates
                    if lbl in labels_of.get(pool.active, set())
                ]
        if "up" in names:
            asks += [
                (lbl, "up") for lbl in (*svc_candidates, "job") if lbl in labels_of.get("up", set())
            ]
        asks = list(dict.fromkeys(asks))
        value_lists = await asyncio.gather(
            *(self._maybe(src.label_values(lbl, m, start, end), list[str]()) for lbl, m in asks)
        )
        values: dict[tuple[str, str], set[str]] = {
            k: set(v) for k, v in zip(asks, value_lists, strict=True)
        }
        return self._bind(names, metadata, labels_of, values, family, latency_names, summaries)

    def _bind(
        self,
        names: set[str],
        metadata: dict[str, list[dict[str, str]]],
        labels_of: dict[str, set[str]],
        values: dict[tuple[str, str], set[str]],
        family: _RequestFamily | None,
        latency_names: list[str],
        summaries: list[str],
    ) -> Bindings:
        c = self.config
        missing: dict[str, str] = {}
        pinned: list[str] = []
        svc_candidates = [c.service_label] if c.service_label else list(c.discovery.service_labels)

        # service label and services
        anchor = family.metric if family else next(iter(latency_names), None)
        service_label: str | None = None
        services: list[str] = []
        if anchor is not None:
            service_label = choose_service_label(
                [(lbl, values.get((lbl, anchor), set())) for lbl in svc_candidates]
            )
            if service_label is not None:
                services = sorted(values[(service_label, anchor)])
        if c.service_label:
            service_label = c.service_label
            pinned.append("service_label")
        if c.services:
            services = list(c.services)
            pinned.append("services")
        if service_label is None:
            looked = ", ".join(svc_candidates)
            where = anchor or "the request metrics"
            missing["services"] = f"no label naming services on {where} (looked for {looked})"
        known = set(services)

        # requests and errors
        requests: RequestsBinding | None = None
        if family is not None and service_label is not None:
            present = [lbl for lbl in family.status_labels if (lbl, family.metric) in values]
            status = present[0] if present else None
            if status is not None:
                seen = values[(status, family.metric)]
                outcome = status == "outcome" or "SERVER_ERROR" in seen
                requests = RequestsBinding(
                    convention=family.convention,
                    metric=family.metric,
                    status_label=status,
                    error_match='="SERVER_ERROR"' if outcome else '=~"5.."',
                )
            else:
                missing["requests"] = (
                    f"{family.metric} has no status label "
                    f"(looked for {', '.join(family.status_labels)})"
                )
        elif family is None:
            looked = ", ".join(f.metric for f in REQUEST_FAMILIES)
            missing["requests"] = f"no request counter found (looked for {looked})"
        if c.checks.requests is not None:
            requests = c.checks.requests
            missing.pop("requests", None)
            pinned.append("requests")

        # latency: the request family's own histogram first, then any other with the label
        latency: LatencyBinding | None = None
        order = list(latency_names)
        if family is not None and family.latency in order:
            order.remove(family.latency)
            order.insert(0, family.latency)
        skipped: list[str] = []
        for metric in order:
            if service_label is None or service_label not in labels_of.get(metric, set()):
                continue
            unit = unit_from_metadata(metric, metadata)
            source: Literal["metadata", "name"] = "metadata"
            if unit is None:
                unit, source = unit_from_name(metric), "name"
            if unit is None:
                skipped.append(f"{metric} (no unit in its name or metadata)")
                continue
            latency = LatencyBinding(
                convention=_convention_of(metric), metric=metric, unit=unit, unit_from=source
            )
            break
        if latency is None:
            for metric in summaries:
                unit = unit_from_metadata(metric, metadata) or unit_from_name(metric)
                labels = labels_of.get(metric, set())
                if unit and "quantile" in labels and service_label in labels:
                    latency = LatencyBinding(
                        convention=_convention_of(metric),
                        metric=metric,
                        kind="summary",
                        unit=unit,
                        unit_from="metadata" if unit_from_metadata(metric, metadata) else "name",
                    )
                    break
        if c.checks.latency is not None:
            latency = c.checks.latency
            pinned.append("latency")
        elif latency is None:
            looked = ", ".join(LATENCY_HISTOGRAMS)
            extra = f"; skipped {', '.join(skipped)}" if skipped else ""
            by = f" by {service_label}" if service_label else ""
            missing["latency"] = f"no latency histogram{by} found (looked for {looked}{extra})"

        # database pools
        pools: list[PoolBinding] = []
        for fam in POOL_FAMILIES:
            if fam.active not in names:
                continue
            active_labels = labels_of.get(fam.active, set())
            has_max = fam.max is not None and fam.max in names
            max_labels = labels_of.get(fam.max or "", set())
            pool_label = next((lbl for lbl in fam.pool_labels if lbl in active_labels), None)
            max_pool_label = pool_label
            if fam.max_pool_labels:
                max_pool_label = next(
                    (lbl for lbl in fam.max_pool_labels if lbl in max_labels), None
                )
            elif pool_label is not None and pool_label not in max_labels:
                max_pool_label = None
            tied = (
                service_label
                if service_label in active_labels
                and values.get((service_label, fam.active), set()) & known
                else None
            )
            pools.append(
                PoolBinding(
                    kind=fam.kind,
                    active=fam.active,
                    max=fam.max if has_max else None,
                    waiting=fam.waiting if fam.waiting and fam.waiting in names else None,
                    pool_label=pool_label,
                    max_pool_label=max_pool_label if max_pool_label != pool_label else None,
                    service_label=tied,
                )
            )
        if c.checks.pools is not None:
            pools = list(c.checks.pools)
            pinned.append("db")
        elif not pools:
            missing["db"] = f"no database pool metrics found (looked for {POOLS_LOOKED_FOR})"

        # CPU and memory
        cpu = self._resource("cpu", CPU_SOURCES, names, labels_of, values, service_label, known)
        memory = self._resource(
            "memory", MEMORY_SOURCES, names, labels_of, values, service_label, known
        )
        if c.checks.cpu is not None:
            cpu = c.checks.cpu
            pinned.append("cpu")
        elif cpu is None:
            missing["cpu"] = (
                "no CPU metrics for these services (looked for " + _looked(CPU_SOURCES) + ")"
            )
        if c.checks.memory is not None:
            memory = c.checks.memory
            pinned.append("memory")
        elif memory is None:
            missing["memory"] = (
                "no memory metrics for these services (looked for " + _looked(MEMORY_SOURCES) + ")"
            )

        # up
        up: UpBinding | None = None
        if "up" in names:
            for lbl in (service_label, "job"):
                if lbl and values.get((lbl, "up"), set()) & known:
                    up = UpBinding(key_label=lbl)
                    break
        if c.checks.up is not None:
            up = c.checks.up
            pinned.append("up")
        elif up is None:
            by = f"{service_label} or job" if service_label else "job"
            missing["up"] = f"no `up` series name these services (looked for up by {by})"

        return Bindings(
            service_label=service_label,
            services=services,
            requests=requests,
            latency=latency,
            pools=pools,
            cpu=cpu,
            memory=memory,
            up=up,
            missing=missing,
            pinned=pinned,
        )

    def _resource(
        self,
        kind: str,
        sources: tuple[_ResourceSource, ...],
        names: set[str],
        labels_of: dict[str, set[str]],
        values: dict[tuple[str, str], set[str]],
        service_label: str | None,
        known: set[str],
    ) -> ResourceBinding | None:
        for res in sources:
            if res.usage not in names or (res.limit and res.limit not in names):
                continue
            joins = [service_label] if service_label else []
            if res.joins:
                joins += [j for j in JOIN_LABELS if j != service_label]
            for key in joins:
                if not key or not values.get((key, res.usage), set()) & known:
                    continue
                if res.limit and key not in labels_of.get(res.limit, set()):
                    continue
                usage_labels = labels_of.get(res.usage, set())
                return ResourceBinding(
                    source=res.source,
                    usage=res.usage,
                    usage_kind=res.usage_kind,
                    limit=res.limit,
                    limit_filter=res.limit_filter,
                    key_label=key,
                    usage_filter='container!="POD"' if "container" in usage_labels else "",
                )
        return None


def choose_service_label(candidates: list[tuple[str, set[str]]]) -> str | None:
    """The first candidate with values; but a label with one value (e.g. a shared scrape
    `job`) gives way to a later one that tells several services apart."""
    with_values = [(lbl, vals) for lbl, vals in candidates if vals]
    if not with_values:
        return None
    first, first_values = with_values[0]
    if len(first_values) == 1:
        for lbl, vals in with_values[1:]:
            if len(vals) > 1:
                return lbl
    return first


def _convention_of(metric: str) -> str:
    for fam in REQUEST_FAMILIES:
        if fam.latency == metric:
            return fam.convention
    if metric.startswith("http_server_requests_seconds"):
        return "Micrometer"
    if metric.startswith("http_request_duration"):
        return "Prometheus client"
    return "histogram found by name"


def _looked(sources: tuple[_ResourceSource, ...]) -> str:
    parts: list[str] = []
    for res in sources:
        text = res.usage + (f" with {res.limit}" if res.limit else "")
        if text not in parts:
            parts.append(text)
    return ", ".join(parts)


def _lookback(text: str) -> timedelta:
    amount, unit = int(text[:-1] if not text.endswith("ms") else text[:-2]), text[-1]
    if text.endswith("ms"):
        return timedelta(milliseconds=amount)
    return timedelta(seconds=amount * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit])


def bindings_yaml_data(b: Bindings) -> dict[str, Any]:
    """The pins `metrics discover --write` emits (a METRICS_CONFIG fragment)."""
    checks: dict[str, Any] = {}
    for name in ("requests", "latency", "cpu", "memory", "up"):
        value = getattr(b, name)
        if value is not None:
            checks[name] = value.model_dump(mode="json")
    if b.pools:
        checks["pools"] = [p.model_dump(mode="json") for p in b.pools]
    return {"service_label": b.service_label, "services": list(b.services), "checks": checks}


def pins_yaml(b: Bindings, source: str) -> str:
    """A METRICS_CONFIG file pinning what was found, with a header saying how to edit it."""
    header = (
        f"# Metric bindings discovered in {source}"
        + (f" at {b.discovered_at:%Y-%m-%d %H:%M} UTC" if b.discovered_at else "")
        + ".\n"
        "# Pass this file as METRICS_CONFIG: what it pins always wins over discovery.\n"
        "# Delete `services` to keep finding new services; delete a check under `checks` to\n"
        "# let discovery choose it again; add `thresholds`, `dependencies` or `pool_size`\n"
        "# (see bot/metrics/defaults.yml) to change those too.\n"
    )
    body = yaml.safe_dump(bindings_yaml_data(b), sort_keys=False, allow_unicode=True)
    return header + body


async def discover_once(prometheus_url: str, config_path: str | None) -> Bindings:
    """One discovery against `prometheus_url` (the CLI's `metrics discover`)."""
    from bot.metrics.config import load_config
    from bot.metrics.prometheus import PrometheusSource

    config = load_config(config_path)
    source = PrometheusSource(prometheus_url, timeout=config.prometheus.query_timeout_seconds)
    try:
        return await Discovery(source=source, config=config, clock=_utcnow).bindings()
    finally:
        source.close()


def _utcnow() -> datetime:
    return datetime.now(UTC)
