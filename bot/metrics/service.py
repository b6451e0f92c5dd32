"""MetricsService: the seed-000 investigation over whatever Prometheus has.

Discovery (bot/metrics/discovery.py) says which metric, labels and unit each check reads.
What the service does is split by what it does: run the queries (queries.py), judge the
results (judging.py), rank the services (ranking.py), name the likely cause (cause.py),
correlate over time (correlation.py) and follow the cascade (cascade.py). A query that
fails or times out makes only its part ("could not run: <reason>") fail; a check that
found nothing to read says what it looked for; the rest of the report is still shown.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from rapidfuzz import process

from bot.metrics import cascade as cascade_module
from bot.metrics import correlation, crossings
from bot.metrics.bindings import Bindings
from bot.metrics.cause import likely_cause
from bot.metrics.config import MetricsConfig
from bot.metrics.discovery import Discovery
from bot.metrics.errors import MetricsUnavailable, MetricsUsageError
from bot.metrics.judging import judge
from bot.metrics.models import (
    PARTS,
    Cascade,
    CheckReport,
    Correlation,
    Part,
    QueryResult,
    QuerySeries,
    Verdict,
)
from bot.metrics.prometheus import MetricsSource
from bot.metrics.queries import QueryRunner, plan_queries
from bot.metrics.ranking import in_rank_order
from bot.runbooks import RunbookLibrary


def format_value(value: float) -> str:
    """A sample value for humans: up to 6 significant digits, NaN/Inf spelled out."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:.6g}"


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
        self.runner = QueryRunner(source, config.prometheus.query_timeout_seconds)
        catalog = source if hasattr(source, "metric_names") else None
        self.discovery = discovery or Discovery(
            source=catalog,  # type: ignore[arg-type]
            config=config,
            clock=clock,
            ttl=discovery_ttl,
        )

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
        narrowed = service is not None or only is not None
        plan = plan_queries(parts, b, services if narrowed else None, self.config)
        out = await self.runner.run(plan, when)
        wall = time.perf_counter() - started
        j = judge(parts, b, services, narrowed, plan, out, self.config)
        report = CheckReport(
            at=when,
            parts=list(parts),
            service=service,
            services=services,
            health=j.health,
            errors=j.errors,
            latency=j.latency,
            db=j.pools[0] if j.pools else None,
            pools=j.pools,
            resources=j.resources,
            traffic=j.traffic,
            failures={p: j.failures[p] for p in parts if p in j.failures},
            not_found=j.not_found,
            query_seconds=out.seconds,
            wall_seconds=wall,
            total_services=len(services),
        )
        report = in_rank_order(report, first, self.config.primary_service)
        cause = likely_cause(report, self.config, self.runbooks)
        return report.model_copy(update={"likely_cause": cause}) if cause else report

    # --- over time ------------------------------------------------------------------

    async def first_crossings(
        self,
        services: Sequence[str],
        at: datetime | None = None,
        *,
        level: Verdict = Verdict.HIGH,
        window: timedelta = crossings.CROSSING_WINDOW,
        step: timedelta = crossings.CROSSING_STEP,
    ) -> dict[str, datetime]:
        """When each service's error rate or P99 began its current run at `level`."""
        return await crossings.first_crossings(
            self, services, at, level=level, window=window, step=step
        )

    async def correlate(
        self,
        window: timedelta = timedelta(minutes=10),
        step: timedelta = timedelta(seconds=30),
        end: datetime | None = None,
        service: str | None = None,
    ) -> Correlation:
        """Error rate, DB pool and P99 of one service over a window (see correlation.py)."""
        return await correlation.correlate(self, window, step, end, service)

    async def cascade(self, at: datetime | None = None) -> Cascade:
        """The chain of services in trouble and where the failure starts (cascade.py)."""
        return await cascade_module.cascade(self, at)

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
