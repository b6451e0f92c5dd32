"""MetricsService: the seed-000 investigation over whatever Prometheus has.

Discovery (bot/metrics/discovery.py) says which metric, labels and unit each check reads.
Every check's queries aggregate `by (<service label>)` over all services and run
concurrently, each bounded by its own timeout, so a check over every service takes about
as long as its slowest query. A query that fails or times out makes only its part
("could not run: <reason>") fail; a check that found nothing to read says what it looked
for; the rest of the report is still shown.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

from rapidfuzz import process

from bot.metrics.bindings import (
    Bindings,
    PoolBinding,
    Query,
    ResourceBinding,
    latency_query,
    pool_queries,
    requests_queries,
    resource_queries,
    up_query,
)
from bot.metrics.config import Bands, MetricsConfig
from bot.metrics.discovery import Discovery
from bot.metrics.errors import MetricsQueryError, MetricsUnavailable, MetricsUsageError
from bot.metrics.models import (
    PARTS,
    Cascade,
    CascadeNode,
    CheckReport,
    Correlation,
    CorrelationRow,
    DbPool,
    ErrorRate,
    LatencyReading,
    LikelyCause,
    Part,
    QueryResult,
    QuerySeries,
    RangeSeries,
    ResourceReading,
    RunbookRef,
    ServiceUp,
    Traffic,
    Verdict,
    worst,
)
from bot.metrics.prometheus import InstantResult, MetricsSource
from bot.runbooks import RunbookLibrary


class _PerService(Protocol):
    @property
    def service(self) -> str: ...


T = TypeVar("T", bound=_PerService)

LIKELY_CAUSE_POOL = "database connection pool exhaustion"
MAX_CORRELATION_ROWS = 200
CROSSING_WINDOW = timedelta(minutes=30)
CROSSING_STEP = timedelta(seconds=30)


def format_value(value: float) -> str:
    """A sample value for humans: up to 6 significant digits, NaN/Inf spelled out."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:.6g}"


def _finite(v: float | None) -> float | None:
    return None if v is None or math.isnan(v) or math.isinf(v) else v


def _mib(value: float) -> str:
    return f"{value / 2**20:.0f} MiB"


class MetricsService:
    def __init__(
        self,
        *,
        source: MetricsSource,
        config: MetricsConfig,
        clock: Callable[[], datetime],
        runbooks: RunbookLibrary | None = None,
        discovery: Discovery | None = None,
        discovery_ttl: timedelta = timedelta(minutes=10),
    ) -> None:
        self.source = source
        self.config = config
        self.clock = clock
        self.runbooks = runbooks
        catalog = source if hasattr(source, "metric_names") else None
        self.discovery = discovery or Discovery(
            source=catalog,  # type: ignore[arg-type]
            config=config,
            clock=clock,
            ttl=discovery_ttl,
        )

    # --- plumbing ---------------------------------------------------------------------

    @property
    def timeout(self) -> float:
        return self.config.prometheus.query_timeout_seconds

    async def bindings(self, *, refresh: bool = False) -> Bindings:
        return await self.discovery.bindings(refresh=refresh)

    async def known_services(self) -> list[str]:
        return list((await self.bindings()).services)

    @staticmethod
    def resolve(service: str, known: Sequence[str]) -> str:
        """`service` if known; else MetricsUsageError naming the closest known names."""
        if service in known:
            return service
        lowered = {k.lower(): k for k in known}
        if service.lower() in lowered:
            return lowered[service.lower()]
        close = [m[0] for m in process.extract(service, list(known), limit=3, score_cutoff=50)]
        if close:
            hint = "did you mean " + " or ".join(f"`{c}`" for c in close) + "?"
        elif known:
            hint = f"known services: {', '.join(list(known)[:10])}" + (
                f" and {len(known) - 10} more" if len(known) > 10 else ""
            )
        else:
            hint = "no services were found in Prometheus"
        raise MetricsUsageError(f"unknown service {service!r}; {hint}")

    async def _timed_instant(
        self, promql: str, at: datetime
    ) -> tuple[InstantResult | None, str | None, float]:
        started = time.perf_counter()
        try:
            result = await asyncio.wait_for(self.source.instant(promql, at), self.timeout)
            return result, None, time.perf_counter() - started
        except TimeoutError:
            reason = f"timeout after {self.timeout:g}s"
        except MetricsUnavailable as exc:
            reason = exc.message
        except MetricsQueryError as exc:
            reason = f"Prometheus rejected the query: {exc.message}"
        return None, reason, time.perf_counter() - started

    async def _run(
        self, queries: dict[str, Query], at: datetime
    ) -> tuple[dict[str, InstantResult], dict[str, str], dict[str, float]]:
        names = list(queries)
        outcomes = await asyncio.gather(
            *(self._timed_instant(queries[n].promql, at) for n in names)
        )
        results: dict[str, InstantResult] = {}
        failures: dict[str, str] = {}
        timings: dict[str, float] = {}
        for name, (result, reason, seconds) in zip(names, outcomes, strict=True):
            timings[name] = seconds
            if result is not None:
                results[name] = result
            else:
                failures[name] = reason or "unknown error"
        return results, failures, timings

    @staticmethod
    def _by_key(result: InstantResult | None, key: str | None) -> dict[str, float]:
        out: dict[str, float] = {}
        for s in result.samples if result else []:
            name = s.labels.get(key or "", "") if key else ""
            if key is None or name:
                out[name] = s.value
        return out

    # --- the check ------------------------------------------------------------------

    async def check(
        self,
        service: str | None = None,
        at: datetime | None = None,
        *,
        first: Sequence[str] = (),
        services: Sequence[str] | None = None,
    ) -> CheckReport:
        """The full investigation over one service, the given services, or every service
        found (ranked worst first; `first` come before the ranking)."""
        return await self._check(PARTS, service, at, first=first, only=services)

    async def health(self, service: str | None = None, at: datetime | None = None) -> CheckReport:
        return await self._check(("health",), service, at)

    async def errors(self, service: str | None = None, at: datetime | None = None) -> CheckReport:
        return await self._check(("errors",), service, at)

    async def latency(
        self, service: str | None = None, at: datetime | None = None
    ) -> CheckReport:
        return await self._check(("latency",), service, at)

    async def db(self, at: datetime | None = None) -> CheckReport:
        return await self._check(("db",), None, at)

    async def resources(
        self, service: str | None = None, at: datetime | None = None
    ) -> CheckReport:
        return await self._check(("resources",), service, at)

    def _plan(
        self, parts: Sequence[Part], b: Bindings, services: list[str] | None
    ) -> dict[str, Query]:
        cfg = self.config
        plan: dict[str, Query] = {}
        if "health" in parts and (q := up_query(b)) is not None:
            plan["up"] = q
        if "errors" in parts:
            plan.update(
                requests_queries(b, cfg.rate_window, cfg.traffic_baseline_offset, services)
            )
        if "latency" in parts and (q := latency_query(b, cfg.rate_window, services)) is not None:
            plan["latency_p99"] = q
        if "db" in parts:
            for i, pool in enumerate(b.pools):
                for what, q in pool_queries(pool).items():
                    plan[f"db{i}_{what}"] = q
        if "resources" in parts:
            for kind, res in (("cpu", b.cpu), ("memory", b.memory)):
                if res is not None:
                    for what, q in resource_queries(res, cfg.rate_window).items():
                        plan[f"{kind}_{what}"] = q
        return plan

    async def _check(
        self,
        parts: Sequence[Part],
        service: str | None,
        at: datetime | None,
        *,
        first: Sequence[str] = (),
        only: Sequence[str] | None = None,
    ) -> CheckReport:
        when = (at or self.clock()).astimezone(UTC)
        started = time.perf_counter()
        try:
            b = await self.bindings()
        except MetricsUnavailable as exc:
            return CheckReport(
                at=when,
                parts=list(parts),
                service=service,
                services=[service] if service else [],
                failures={p: exc.message for p in parts},
                wall_seconds=time.perf_counter() - started,
            )
        if service is not None:
            services = [self.resolve(service, b.services)]
        elif only is not None:
            services = [s for s in only if s in b.services]
        else:
            services = list(b.services)
        narrowed = services if (service is not None or only is not None) else None
        plan = self._plan(parts, b, narrowed)
        results, failed, timings = await self._run(plan, when)
        wall = time.perf_counter() - started
        th = self.config.thresholds
        failures: dict[str, str] = {}
        not_found: dict[str, str] = {}
        no_services = b.missing.get("services")

        def unavailable(part: Part, names: Sequence[str], missing_key: str) -> bool:
            if missing_key in b.missing or (no_services and part != "db"):
                not_found[part] = b.missing.get(missing_key) or no_services or "not found"
                return True
            bad = [failed[n] for n in names if n in failed]
            if bad:
                failures[part] = bad[0]
                return True
            return False

        health: list[ServiceUp] | None = None
        if "health" in parts and not unavailable("health", ["up"], "up"):
            key = b.up.key_label if b.up else None
            ups = self._by_key(results.get("up"), key)
            health = [
                ServiceUp(service=s, up=None if s not in ups else ups[s] >= 1) for s in services
            ]

        errors: list[ErrorRate] | None = None
        traffic: Traffic | None = None
        if "errors" in parts and not unavailable("errors", ["error_rate"], "requests"):
            key = b.service_label
            rates = self._by_key(results.get("error_rate"), key)
            totals = self._by_key(results.get("request_rate"), key)
            errors = []
            for s in services:
                v = _finite(rates.get(s))
                if v is None and s in rates:
                    v = 0.0
                if v is None:
                    v = 0.0 if totals.get(s) else None
                errors.append(
                    ErrorRate(
                        service=s,
                        per_second=v,
                        verdict=Verdict.OK if v is None else th.error_rate.verdict(v),
                    )
                )
            wanted = set(services)
            now_rates = {s: v for s, v in totals.items() if s in wanted}
            if now_rates:
                base = self._by_key(results.get("request_rate_baseline"), key)
                base = {s: v for s, v in base.items() if s in wanted}
                traffic = Traffic(
                    now_per_second=sum(v for v in now_rates.values() if _finite(v) is not None),
                    baseline_per_second=(
                        sum(v for v in base.values() if _finite(v) is not None) if base else None
                    ),
                )

        latency: list[LatencyReading] | None = None
        if "latency" in parts and not unavailable("latency", ["latency_p99"], "latency"):
            scale = b.latency.to_ms if b.latency else 1.0
            p99 = self._by_key(results.get("latency_p99"), b.service_label)
            latency = []
            for s in services:
                raw = _finite(p99.get(s))
                v = None if raw is None else raw * scale
                latency.append(
                    LatencyReading(
                        service=s,
                        p99_ms=v,
                        verdict=Verdict.OK if v is None else th.latency_p99_ms.verdict(v),
                    )
                )

        pools: list[DbPool] = []
        if "db" in parts and not b.pools:
            not_found["db"] = b.missing.get("db") or "no database pool metrics found"
        elif "db" in parts:
            reasons: list[str] = []
            for i, pool in enumerate(b.pools):
                if f"db{i}_active" in failed:
                    reasons.append(failed[f"db{i}_active"])
                    continue
                pools += self._pools(pool, i, results, set(services), narrowed is not None)
            if not pools and reasons:
                failures["db"] = reasons[0]
            elif not pools:
                looked = ", ".join(p.active for p in b.pools)
                not_found["db"] = f"no data for {looked}"
            pools.sort(key=lambda p: (-p.percent, p.name or ""))

        resources: list[ResourceReading] | None = None
        if "resources" in parts:
            cpu_missing = b.cpu is None and "cpu" in b.missing
            mem_missing = b.memory is None and "memory" in b.missing
            if (cpu_missing and mem_missing) or no_services:
                not_found["resources"] = (
                    no_services or f"{b.missing['cpu']}; {b.missing['memory']}"
                )
            else:
                names = [n for n in plan if n.startswith(("cpu_", "memory_"))]
                bad = [failed[n] for n in names if n.endswith("_usage") and n in failed]
                if bad and len(bad) == len([n for n in names if n.endswith("_usage")]):
                    failures["resources"] = bad[0]
                else:
                    resources = []
                    tables = {
                        kind: (
                            res,
                            self._by_key(results.get(f"{kind}_usage"), res.key_label),
                            self._by_key(results.get(f"{kind}_limit"), res.key_label),
                        )
                        for kind, res in (("cpu", b.cpu), ("memory", b.memory))
                        if res is not None
                    }
                    for s in services:
                        for kind, (res, usages, limits) in tables.items():
                            reading = self._resource(kind, res, s, usages, limits)
                            if reading is not None:
                                resources.append(reading)
                    for kind, missing in (("cpu", cpu_missing), ("memory", mem_missing)):
                        if missing:
                            not_found[f"resources.{kind}"] = b.missing[kind]

        report = CheckReport(
            at=when,
            parts=list(parts),
            service=service,
            services=services,
            health=health,
            errors=errors,
            latency=latency,
            db=pools[0] if pools else None,
            pools=pools,
            resources=resources,
            traffic=traffic,
            failures={p: failures[p] for p in parts if p in failures},
            not_found=not_found,
            primary_service=None,
            query_seconds=timings,
            wall_seconds=wall,
            total_services=len(services),
        )
        ranked = self._rank(report, first)
        order = {s: i for i, s in enumerate(ranked)}

        def in_rank(items: list[T] | None) -> list[T] | None:
            return None if items is None else sorted(items, key=lambda x: order[x.service])

        report = report.model_copy(
            update={
                "services": ranked,
                "health": in_rank(report.health),
                "errors": in_rank(report.errors),
                "latency": in_rank(report.latency),
                "resources": in_rank(report.resources),
                "primary_service": self.config.primary_service
                if self.config.primary_service in ranked
                else (ranked[0] if ranked else None),
            }
        )
        cause = self._likely_cause(report)
        return report.model_copy(update={"likely_cause": cause}) if cause else report

    def _pools(
        self,
        pool: PoolBinding,
        i: int,
        results: dict[str, InstantResult],
        services: set[str],
        narrowed: bool,
    ) -> list[DbPool]:
        th = self.config.thresholds

        def rows(name: str, pool_label: str | None) -> dict[tuple[str, str], float]:
            out: dict[tuple[str, str], float] = {}
            result = results.get(f"db{i}_{name}")
            for sample in result.samples if result else []:
                svc = sample.labels.get(pool.service_label, "") if pool.service_label else ""
                name_ = sample.labels.get(pool_label, "") if pool_label else ""
                out[(svc, name_)] = sample.value
            return out

        active = rows("active", pool.pool_label)
        maxes = rows("max", pool.max_pool_label or pool.pool_label)
        waiting = rows("waiting", pool.pool_label)
        out: list[DbPool] = []
        for (svc, name), value in sorted(active.items()):
            v = _finite(value)
            if v is None:
                continue
            if pool.service_label and narrowed and svc not in services:
                continue
            limit = _finite(maxes.get((svc, name)))
            if limit is None and len(maxes) == 1:
                limit = _finite(next(iter(maxes.values())))
            size = limit if limit and limit > 0 else float(self.config.pool_size)
            percent = 100.0 * v / size
            label = " ".join(x for x in (svc, name) if x) or None
            out.append(
                DbPool(
                    name=label,
                    service=svc or None,
                    kind=pool.kind,
                    pool_key=name,
                    active=v,
                    waiting=_finite(waiting.get((svc, name))),
                    pool_size=size,
                    pool_size_source="metric" if limit and limit > 0 else "config",
                    percent=percent,
                    verdict=th.db_pool_percent.verdict(round(percent)),
                )
            )
        return out

    def _resource(
        self,
        kind: str,
        res: ResourceBinding,
        service: str,
        usages: dict[str, float],
        limits: dict[str, float],
    ) -> ResourceReading | None:
        usage = _finite(usages.get(service))
        if usage is None:
            return None
        th = self.config.thresholds
        bands = th.cpu_percent if kind == "cpu" else th.memory_percent
        label: str = "cpu" if kind == "cpu" else "memory"
        pct: float | None = None
        detail: str | None = None
        if res.usage_kind == "ratio":
            pct = 100.0 * usage
        elif res.limit is not None:
            limit = _finite(limits.get(service))
            if limit is None or limit <= 0:
                pct = None
                detail = (
                    f"{usage:.2f} cores (no limit found)"
                    if kind == "cpu"
                    else f"{_mib(usage)} (no limit found)"
                )
            else:
                pct = 100.0 * usage / limit
        elif kind == "cpu":
            pct = 100.0 * usage
            detail = "of one core"
        else:
            detail = f"{_mib(usage)} (no limit known)"
        return ResourceReading(
            service=service,
            kind="cpu" if label == "cpu" else "memory",
            percent=pct,
            verdict=Verdict.OK if pct is None else bands.verdict(round(pct)),
            detail=detail,
        )

    @staticmethod
    def _rank(report: CheckReport, first: Sequence[str]) -> list[str]:
        errors = {e.service: e.per_second or 0.0 for e in report.errors or []}
        p99 = {x.service: x.p99_ms or 0.0 for x in report.latency or []}

        index = report.readings()

        def score(s: str) -> tuple[int, int, float, float, str]:
            verdicts = [v for v, _ in index.get(s, [])]
            return (
                -max((v.rank for v in verdicts), default=0),
                -sum(v.rank for v in verdicts),
                -errors.get(s, 0.0),
                -p99.get(s, 0.0),
                s,
            )

        head = [s for s in dict.fromkeys(first) if s in report.services]
        rest = sorted((s for s in report.services if s not in head), key=score)
        return head + rest

    def _likely_cause(self, report: CheckReport) -> LikelyCause | None:
        db = report.db
        sig = self.config.signature
        if db is None or round(db.percent) < sig.pool_percent:
            return None
        bad_errors = [e for e in report.errors or [] if e.verdict is not Verdict.OK]
        bad_latency = [lat for lat in report.latency or [] if lat.verdict is not Verdict.OK]
        if not bad_errors or not bad_latency:
            return None
        pool = f" {db.name}" if db.name and len(report.pools) > 1 else ""
        evidence = [
            f"database connection pool{pool} at {round(db.percent)}% "
            f"({round(db.active)}/{round(db.pool_size)} connections active)",
            "error rates up: "
            + ", ".join(f"{e.service} {e.per_second or 0:.2f}/s" for e in bad_errors[:5]),
            "P99 latency up: "
            + ", ".join(f"{lat.service} {round(lat.p99_ms or 0)}ms" for lat in bad_latency[:5]),
        ]
        if db.waiting:
            evidence.append(f"{round(db.waiting)} requests waiting for a connection")
        spike = (
            report.traffic is not None
            and report.traffic.ratio is not None
            and report.traffic.ratio >= self.config.traffic_spike_ratio
        )
        if spike and report.traffic is not None and report.traffic.ratio is not None:
            evidence.append(
                f"request rate {report.traffic.ratio:.1f}x the rate "
                f"{self.config.traffic_baseline_offset} earlier"
            )
        citation: RunbookRef | None = None
        if self.runbooks is not None:
            keywords = sig.traffic_spike_keywords if spike else sig.runbook_keywords
            found = self.runbooks.find(keywords)
            if found is not None:
                citation = RunbookRef(
                    file=found.file, path=list(found.path), rendered=found.rendered
                )
        return LikelyCause(name=LIKELY_CAUSE_POOL, evidence=evidence, citation=citation)

    # --- over time ----------------------------------------------------------------------

    async def _timed_range(
        self, promql: str, start: datetime, end: datetime, step: timedelta
    ) -> tuple[list[RangeSeries] | None, str | None]:
        try:
            coro = self.source.range(promql, start, end, step)
            return await asyncio.wait_for(coro, self.timeout), None
        except TimeoutError:
            return None, f"timeout after {self.timeout:g}s"
        except MetricsUnavailable as exc:
            return None, exc.message
        except MetricsQueryError as exc:
            return None, f"Prometheus rejected the query: {exc.message}"

    async def first_crossings(
        self,
        services: Sequence[str],
        at: datetime | None = None,
        *,
        level: Verdict = Verdict.HIGH,
        window: timedelta = CROSSING_WINDOW,
        step: timedelta = CROSSING_STEP,
    ) -> dict[str, datetime]:
        """For each service whose error rate or P99 is at `level` or worse at the end of
        the window: when that run began (the first point of the run that reaches `at`)."""
        b = await self.bindings()
        wanted = [s for s in services if s in b.services]
        if not wanted or b.service_label is None:
            return {}
        stop = (at or self.clock()).astimezone(UTC).replace(microsecond=0)
        start = stop - window
        th = self.config.thresholds
        asks: list[tuple[str, float, Bands]] = []
        cfg = self.config
        reqs = requests_queries(b, cfg.rate_window, cfg.traffic_baseline_offset, wanted)
        if "error_rate" in reqs:
            asks.append((reqs["error_rate"].promql, 1.0, th.error_rate))
        lat = latency_query(b, self.config.rate_window, wanted)
        if lat is not None and b.latency is not None:
            asks.append((lat.promql, b.latency.to_ms, th.latency_p99_ms))
        outcomes = await asyncio.gather(
            *(self._timed_range(q, start, stop, step) for q, _, _ in asks)
        )
        found: dict[str, datetime] = {}
        for (_, scale, bands), (series, _) in zip(asks, outcomes, strict=True):
            for s in series or []:
                name = s.labels.get(b.service_label, "")
                if name not in wanted:
                    continue
                begin = _run_start(s.points, scale, bands, level)
                if begin is not None and (name not in found or begin < found[name]):
                    found[name] = begin
        return found

    async def correlate(
        self,
        window: timedelta = timedelta(minutes=10),
        step: timedelta = timedelta(seconds=30),
        end: datetime | None = None,
        service: str | None = None,
    ) -> Correlation:
        """Error rate, DB pool and P99 of one service over a window: the named service,
        else the worst service now (the first in trouble)."""
        if window <= timedelta(0) or step <= timedelta(0):
            raise MetricsUsageError("window and step must be positive durations")
        if step > window:
            raise MetricsUsageError("step must not be longer than the window")
        if window / step > MAX_CORRELATION_ROWS:
            raise MetricsUsageError(
                f"window/step gives more than {MAX_CORRELATION_ROWS} rows; use a larger step"
            )
        stop = (end or self.clock()).astimezone(UTC).replace(microsecond=0)
        start = stop - window
        try:
            b = await self.bindings()
        except MetricsUnavailable as exc:
            why = exc.message
            return Correlation(
                service=service or "(none)",
                start=start,
                end=stop,
                step=step,
                rows=[],
                failures={"error_rate": why, "db_active": why, "latency_p99": why},
            )
        pool_hint: DbPool | None = None
        if service is not None:
            target = self.resolve(service, b.services)
        else:
            now = await self.check(at=stop)
            if not now.services:
                raise MetricsUsageError(
                    "no services found to correlate: " + (b.missing.get("services") or "none")
                )
            target = now.services[0]
            pool_hint = next((p for p in now.pools if p.service == target), now.db)
        cfg = self.config
        asks: dict[str, str] = {}
        reqs = requests_queries(b, cfg.rate_window, cfg.traffic_baseline_offset, [target])
        if "error_rate" in reqs:
            asks["error_rate"] = reqs["error_rate"].promql
        lat = latency_query(b, cfg.rate_window, [target])
        if lat is not None:
            asks["latency_p99"] = lat.promql
        pool, pool_key = self._pool_for(b, target, pool_hint)
        if pool is not None:
            for what, q in pool_queries(pool).items():
                if what != "waiting":
                    asks[f"db_{what}"] = q.promql
        names = list(asks)
        outcomes = await asyncio.gather(
            *(self._timed_range(asks[n], start, stop, step) for n in names)
        )
        failures: dict[str, str] = {}
        for name, looked in (
            ("error_rate", b.missing.get("requests")),
            ("latency_p99", b.missing.get("latency")),
            ("db_active", b.missing.get("db")),
        ):
            if name not in asks:
                failures[name] = looked or "not found"
        series: dict[str, dict[int, float]] = {}
        for name, (data, reason) in zip(names, outcomes, strict=True):
            if data is None:
                if name != "db_max":
                    failures[name] = reason or "unknown error"
                continue
            points: dict[int, float] = {}
            for s in data:
                if name.startswith("db_"):
                    if pool is None or not _pool_row_matches(s.labels, pool, pool_key, name):
                        continue
                else:
                    svc = s.labels.get(b.service_label or "")
                    if svc not in (None, target):
                        continue
                for ts, v in s.points:
                    points[round(ts)] = v
            series[name] = points
        scale = b.latency.to_ms if b.latency else 1.0

        th = self.config.thresholds
        rows: list[CorrelationRow] = []
        marked = False
        n = int(window / step)
        for i in range(n + 1):
            at = start + i * step
            key = round(at.timestamp())
            err = _finite(series.get("error_rate", {}).get(key))
            active = _finite(series.get("db_active", {}).get(key))
            pool_metric = _finite(series.get("db_max", {}).get(key))
            size = pool_metric if pool_metric and pool_metric > 0 else float(self.config.pool_size)
            pct = None if active is None else 100.0 * active / size
            raw = _finite(series.get("latency_p99", {}).get(key))
            lat_ms = None if raw is None else raw * scale
            turned = (
                not marked
                and err is not None
                and pct is not None
                and lat_ms is not None
                and th.error_rate.verdict(err).at_least(Verdict.HIGH)
                and th.db_pool_percent.verdict(round(pct)).at_least(Verdict.HIGH)
                and th.latency_p99_ms.verdict(lat_ms).at_least(Verdict.HIGH)
            )
            marked = marked or turned
            rows.append(
                CorrelationRow(
                    offset=at - start,
                    at=at,
                    errors_per_second=err,
                    db_active=active,
                    pool_size=size,
                    db_percent=pct,
                    latency_p99_ms=lat_ms,
                    incident=turned,
                )
            )
        return Correlation(
            service=target, start=start, end=stop, step=step, rows=rows, failures=failures
        )

    @staticmethod
    def _pool_for(
        b: Bindings, service: str, hint: DbPool | None
    ) -> tuple[PoolBinding | None, tuple[str, str]]:
        """The pool to chart with `service`: its own pool, else the fullest one now."""
        own = hint.pool_key if hint is not None and hint.service == service else ""
        for pool in b.pools:
            if pool.service_label:
                return pool, (service, own)
        if hint is not None:
            for pool in b.pools:
                if pool.kind == hint.kind:
                    return pool, ("", hint.pool_key)
        if b.pools:
            return b.pools[0], ("", "")
        return None, ("", "")

    # --- cascade ----------------------------------------------------------------------

    async def cascade(self, at: datetime | None = None) -> Cascade:
        """The chain of services in trouble down to the database, and where it starts.
        With `dependencies` in METRICS_CONFIG the chain is that graph; otherwise the
        services in trouble are ordered by when each crossed its threshold: the first to
        fail sits next to the database, its callers follow."""
        report = await self.check(at=at)
        errors = {e.service: e for e in report.errors or []}
        lat = {x.service: x for x in report.latency or []}
        down = set(report.down_services)
        database = self.config.database_node
        if self.config.dependencies:
            names = self.config.dependency_chain()
        else:
            index = report.readings()
            troubled = [
                s
                for s in report.services
                if worst(v for v, _ in index.get(s, [])) is not Verdict.OK
            ]
            troubled = [
                s
                for s in troubled
                if s in down
                or (errors.get(s) and errors[s].verdict is not Verdict.OK)
                or (lat.get(s) and lat[s].verdict is not Verdict.OK)
            ][:5]
            crossed = await self.first_crossings(troubled, report.at, level=Verdict.ELEVATED)
            far_future = report.at + timedelta(days=1)

            def began(s: str) -> tuple[datetime, float]:
                rate = errors[s].per_second or 0.0 if s in errors else 0.0
                return crossed.get(s, far_future), -rate

            order = sorted(troubled, key=began)
            names = list(reversed(order))
            if report.pools:
                names.append(database)
        chain: list[CascadeNode] = []
        for name in names:
            if name == database:
                chain.append(
                    CascadeNode(
                        name=name,
                        kind="database",
                        verdict=report.db.verdict if report.db else None,
                        db=report.db,
                    )
                )
                continue
            e, la = errors.get(name), lat.get(name)
            verdicts = [v.verdict for v in (e, la) if v is not None]
            if name in down:
                verdicts.append(Verdict.CRITICAL)
            node_verdict = max(verdicts, key=lambda v: v.rank) if verdicts else None
            chain.append(
                CascadeNode(
                    name=name,
                    kind="service",
                    verdict=node_verdict,
                    error_rate=e.per_second if e else None,
                    latency_p99_ms=la.p99_ms if la else None,
                )
            )
        origin = next(
            (
                node.name
                for node in reversed(chain)
                if node.verdict is not None and node.verdict is not Verdict.OK
            ),
            None,
        )
        return Cascade(chain=chain, origin=origin, report=report)

    # --- free-form query --------------------------------------------------------------

    async def query(self, promql: str, at: datetime | None = None) -> QueryResult:
        """A read-only instant query, at most `max_series` series, values formatted.

        Raises MetricsUsageError (empty), MetricsQueryError (Prometheus rejected it,
        with Prometheus's message) or MetricsUnavailable (down or timed out)."""
        text = promql.strip()
        if not text:
            raise MetricsUsageError("give a PromQL expression, e.g. `/metrics query up`")
        when = (at or self.clock()).astimezone(UTC)
        try:
            result = await asyncio.wait_for(self.source.instant(text, when), self.timeout)
        except TimeoutError as exc:
            raise MetricsUnavailable(f"query timed out after {self.timeout:g}s") from exc
        limit = self.config.prometheus.max_series
        if result.result_type == "string":
            series = [QuerySeries(labels={}, value=result.text or "")]
        else:
            ordered = sorted(result.samples, key=lambda s: sorted(s.labels.items()))
            series = [
                QuerySeries(labels=dict(s.labels), value=format_value(s.value))
                for s in ordered[:limit]
            ]
        total = len(result.samples) if result.result_type != "string" else 1
        return QueryResult(
            promql=text,
            at=when,
            result_type=result.result_type,
            series=series,
            total=total,
            truncated=total > len(series),
        )


def _run_start(
    points: list[tuple[float, float]], scale: float, bands: Bands, level: Verdict
) -> datetime | None:
    """Start of the run of points at `level` or worse that reaches the last point."""
    begin: float | None = None
    for ts, raw in points:
        v = _finite(raw)
        hot = v is not None and bands.verdict(v * scale).at_least(level)
        if hot and begin is None:
            begin = ts
        elif not hot:
            begin = None
    return None if begin is None else datetime.fromtimestamp(begin, UTC)


def _pool_row_matches(
    labels: dict[str, str], pool: PoolBinding, key: tuple[str, str], name: str
) -> bool:
    svc, pool_name = key
    if pool.service_label and svc and labels.get(pool.service_label, "") != svc:
        return False
    label = pool.pool_label if name != "db_max" else (pool.max_pool_label or pool.pool_label)
    return not (label and pool_name and labels.get(label, "") != pool_name)
