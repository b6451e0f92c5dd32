"""MetricsService: the seed-000 investigation over a MetricsSource. No Slack here.

Every check's queries run concurrently, each bounded by its own timeout, so a check
takes about as long as its slowest query. A query that fails or times out makes only
its part ("could not run: <reason>") fail; the rest of the report is still shown.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from bot.metrics.config import MetricsConfig
from bot.metrics.errors import MetricsQueryError, MetricsUnavailable, MetricsUsageError
from bot.metrics.models import (
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
)
from bot.metrics.prometheus import InstantResult, MetricsSource
from bot.runbooks import RunbookLibrary

LIKELY_CAUSE_POOL = "database connection pool exhaustion"
MAX_CORRELATION_ROWS = 200

# query name -> (part, required for the part)
_QUERIES: dict[str, tuple[Part, bool]] = {
    "up": ("health", True),
    "error_rate": ("errors", True),
    "request_rate": ("errors", False),
    "request_rate_baseline": ("errors", False),
    "latency_p99": ("latency", True),
    "db_active": ("db", True),
    "db_waiting": ("db", False),
    "db_max": ("db", False),
    "cpu": ("resources", True),
    "memory": ("resources", True),
}


def format_value(value: float) -> str:
    """A sample value for humans: up to 6 significant digits, NaN/Inf spelled out."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:.6g}"


def _finite(v: float | None) -> float | None:
    return None if v is None or math.isnan(v) or math.isinf(v) else v


class MetricsService:
    def __init__(
        self,
        *,
        source: MetricsSource,
        config: MetricsConfig,
        clock: Callable[[], datetime],
        runbooks: RunbookLibrary | None = None,
    ) -> None:
        self.source = source
        self.config = config
        self.clock = clock
        self.runbooks = runbooks

    # --- plumbing ---------------------------------------------------------------------

    @property
    def timeout(self) -> float:
        return self.config.prometheus.query_timeout_seconds

    def _services(self, service: str | None) -> list[str]:
        if service is None:
            return list(self.config.services)
        if service not in self.config.services:
            known = ", ".join(self.config.services)
            raise MetricsUsageError(f"unknown service {service!r}; known services: {known}")
        return [service]

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

    async def _run_parts(
        self, parts: Sequence[Part], services: list[str], at: datetime
    ) -> tuple[dict[str, InstantResult], dict[str, str], dict[str, float]]:
        names = [n for n, (part, _) in _QUERIES.items() if part in parts]
        outcomes = await asyncio.gather(
            *(self._timed_instant(self.config.promql(n, services), at) for n in names)
        )
        results: dict[str, InstantResult] = {}
        failures: dict[str, str] = {}
        timings: dict[str, float] = {}
        for name, (result, reason, seconds) in zip(names, outcomes, strict=True):
            timings[name] = seconds
            part, required = _QUERIES[name]
            if result is not None:
                results[name] = result
            elif required and part not in failures:
                failures[part] = reason or "unknown error"
        return results, failures, timings

    def _by_service(self, result: InstantResult | None) -> dict[str, float]:
        label = self.config.labels.service
        out: dict[str, float] = {}
        for s in result.samples if result else []:
            name = s.labels.get(label)
            if name is not None:
                out[name] = s.value
        return out

    @staticmethod
    def _scalar(result: InstantResult | None) -> float | None:
        if result is None or not result.samples:
            return None
        return _finite(result.samples[0].value)

    # --- the check ------------------------------------------------------------------

    async def check(
        self, service: str | None = None, at: datetime | None = None
    ) -> CheckReport:
        """The full investigation: health, errors, latency, db, resources, assessment."""
        return await self._check(("health", "errors", "latency", "db", "resources"), service, at)

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

    async def _check(
        self, parts: Sequence[Part], service: str | None, at: datetime | None
    ) -> CheckReport:
        services = self._services(service)
        when = (at or self.clock()).astimezone(UTC)
        started = time.perf_counter()
        results, failures, timings = await self._run_parts(parts, services, when)
        wall = time.perf_counter() - started
        th = self.config.thresholds

        health: list[ServiceUp] | None = None
        if "health" in parts and "health" not in failures:
            ups = self._by_service(results.get("up"))
            health = [
                ServiceUp(service=s, up=None if s not in ups else ups[s] >= 1) for s in services
            ]

        errors: list[ErrorRate] | None = None
        traffic: Traffic | None = None
        if "errors" in parts and "errors" not in failures:
            rates = self._by_service(results.get("error_rate"))
            errors = []
            for s in services:
                v = _finite(rates.get(s))
                if v is None and s in rates:
                    v = 0.0
                if v is None and results.get("error_rate") is not None:
                    v = 0.0 if self._by_service(results.get("request_rate")).get(s) else None
                errors.append(
                    ErrorRate(
                        service=s,
                        per_second=v,
                        verdict=Verdict.OK if v is None else th.error_rate.verdict(v),
                    )
                )
            now_rates = self._by_service(results.get("request_rate"))
            if now_rates:
                base = self._by_service(results.get("request_rate_baseline"))
                traffic = Traffic(
                    now_per_second=sum(v for v in now_rates.values() if _finite(v) is not None),
                    baseline_per_second=(
                        sum(v for v in base.values() if _finite(v) is not None) if base else None
                    ),
                )

        latency: list[LatencyReading] | None = None
        if "latency" in parts and "latency" not in failures:
            p99 = self._by_service(results.get("latency_p99"))
            latency = []
            for s in services:
                v = _finite(p99.get(s))
                latency.append(
                    LatencyReading(
                        service=s,
                        p99_ms=v,
                        verdict=Verdict.OK if v is None else th.latency_p99_ms.verdict(v),
                    )
                )

        db: DbPool | None = None
        if "db" in parts and "db" not in failures:
            active = self._scalar(results.get("db_active"))
            if active is None:
                failures["db"] = f"no data for {self.config.metrics.db_active}"
            else:
                pool_metric = self._scalar(results.get("db_max"))
                pool = pool_metric if pool_metric and pool_metric > 0 else None
                size = pool if pool is not None else float(self.config.pool_size)
                percent = 100.0 * active / size
                db = DbPool(
                    active=active,
                    waiting=self._scalar(results.get("db_waiting")),
                    pool_size=size,
                    pool_size_source="metric" if pool is not None else "config",
                    percent=percent,
                    verdict=th.db_pool_percent.verdict(round(percent)),
                )

        resources: list[ResourceReading] | None = None
        if "resources" in parts and "resources" not in failures:
            cpu = self._by_service(results.get("cpu"))
            mem = self._by_service(results.get("memory"))
            resources = []
            for s in services:
                for kind, values, bands in (
                    ("cpu", cpu, th.cpu_percent),
                    ("memory", mem, th.memory_percent),
                ):
                    v = _finite(values.get(s))
                    if v is None:
                        continue
                    pct = 100.0 * v
                    resources.append(
                        ResourceReading(
                            service=s,
                            kind="cpu" if kind == "cpu" else "memory",
                            percent=pct,
                            verdict=bands.verdict(round(pct)),
                        )
                    )

        report = CheckReport(
            at=when,
            parts=list(parts),
            service=service,
            services=services,
            health=health,
            errors=errors,
            latency=latency,
            db=db,
            resources=resources,
            traffic=traffic,
            failures={p: failures[p] for p in parts if p in failures},
            primary_service=self.config.primary_service,
            query_seconds=timings,
            wall_seconds=wall,
        )
        cause = self._likely_cause(report)
        return report.model_copy(update={"likely_cause": cause}) if cause else report

    def _likely_cause(self, report: CheckReport) -> LikelyCause | None:
        db = report.db
        sig = self.config.signature
        if db is None or round(db.percent) < sig.pool_percent:
            return None
        bad_errors = [e for e in report.errors or [] if e.verdict is not Verdict.OK]
        bad_latency = [lat for lat in report.latency or [] if lat.verdict is not Verdict.OK]
        if not bad_errors or not bad_latency:
            return None
        evidence = [
            f"database connection pool at {round(db.percent)}% "
            f"({round(db.active)}/{round(db.pool_size)} connections active)",
            "error rates up: "
            + ", ".join(f"{e.service} {e.per_second or 0:.2f}/s" for e in bad_errors),
            "P99 latency up: "
            + ", ".join(f"{lat.service} {round(lat.p99_ms or 0)}ms" for lat in bad_latency),
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

    # --- correlation ------------------------------------------------------------------

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

    async def correlate(
        self,
        window: timedelta = timedelta(minutes=10),
        step: timedelta = timedelta(seconds=30),
        end: datetime | None = None,
        service: str | None = None,
    ) -> Correlation:
        """Error rate, DB pool and P99 of one service (default: primary) over a window."""
        if window <= timedelta(0) or step <= timedelta(0):
            raise MetricsUsageError("window and step must be positive durations")
        if step > window:
            raise MetricsUsageError("step must not be longer than the window")
        if window / step > MAX_CORRELATION_ROWS:
            raise MetricsUsageError(
                f"window/step gives more than {MAX_CORRELATION_ROWS} rows; use a larger step"
            )
        target = service or self.config.primary_service
        self._services(target)
        stop = (end or self.clock()).astimezone(UTC).replace(microsecond=0)
        start = stop - window
        names = ["error_rate", "db_active", "db_max", "latency_p99"]
        outcomes = await asyncio.gather(
            *(
                self._timed_range(self.config.promql(n, [target]), start, stop, step)
                for n in names
            )
        )
        series: dict[str, dict[int, float]] = {}
        failures: dict[str, str] = {}
        for name, (data, reason) in zip(names, outcomes, strict=True):
            if data is None:
                if name != "db_max":
                    failures[name] = reason or "unknown error"
                continue
            points: dict[int, float] = {}
            for s in data:
                svc = s.labels.get(self.config.labels.service)
                if svc not in (None, target):
                    continue
                for ts, v in s.points:
                    points[round(ts)] = v
            series[name] = points

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
            pool = pool_metric if pool_metric and pool_metric > 0 else float(self.config.pool_size)
            pct = None if active is None else 100.0 * active / pool
            lat = _finite(series.get("latency_p99", {}).get(key))
            turned = (
                not marked
                and err is not None
                and pct is not None
                and lat is not None
                and th.error_rate.verdict(err).at_least(Verdict.HIGH)
                and th.db_pool_percent.verdict(round(pct)).at_least(Verdict.HIGH)
                and th.latency_p99_ms.verdict(lat).at_least(Verdict.HIGH)
            )
            marked = marked or turned
            rows.append(
                CorrelationRow(
                    offset=at - start,
                    at=at,
                    errors_per_second=err,
                    db_active=active,
                    pool_size=pool,
                    db_percent=pct,
                    latency_p99_ms=lat,
                    incident=turned,
                )
            )
        return Correlation(
            service=target, start=start, end=stop, step=step, rows=rows, failures=failures
        )

    # --- cascade ----------------------------------------------------------------------

    async def cascade(self, at: datetime | None = None) -> Cascade:
        """The dependency chain with each node's state; origin = deepest unhealthy node."""
        report = await self.check(at=at)
        chain: list[CascadeNode] = []
        errors = {e.service: e for e in report.errors or []}
        lat = {x.service: x for x in report.latency or []}
        down = set(report.down_services)
        for name in self.config.dependency_chain():
            if name == self.config.database_node:
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
            worst = max(verdicts, key=lambda v: v.rank) if verdicts else None
            chain.append(
                CascadeNode(
                    name=name,
                    kind="service",
                    verdict=worst,
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
