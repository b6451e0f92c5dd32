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
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from rapidfuzz import process

from bot.metrics import budget, correlation, crossings
from bot.metrics import cascade as cascade_module
from bot.metrics.backend import MetricsSource
from bot.metrics.bindings import Bindings
from bot.metrics.budget import BudgetUse
from bot.metrics.check import run_check
from bot.metrics.config import MetricsConfig
from bot.metrics.discovery import Discovery
from bot.metrics.errors import MetricsUnavailable, MetricsUsageError
from bot.metrics.fleet import Fleet, FleetMember
from bot.metrics.freeform import run_query
from bot.metrics.models import (
    PARTS,
    Cascade,
    CheckReport,
    Correlation,
    QueryResult,
    Verdict,
)
from bot.metrics.queries import QueryRunner
from bot.runbooks import RunbookLibrary


class MetricsService:
    """The metric checks over one Prometheus (`source`) or several (`sources`, by name:
    PROMETHEUS_URLS). Each server has its own discovery and runner."""

    def __init__(
        self,
        *,
        config: MetricsConfig,
        clock: Callable[[], datetime],
        source: MetricsSource | None = None,
        sources: dict[str, MetricsSource] | None = None,
        runbooks: RunbookLibrary | None = None,
        discovery_ttl: timedelta = timedelta(minutes=10),
    ) -> None:
        if (source is None) == (sources is None):
            raise ValueError("give either source or sources")
        self.sources: dict[str, MetricsSource] = sources or {"": source}  # type: ignore[dict-item]
        self.config = config
        self.clock = clock
        self.runbooks = runbooks
        timeout = config.prometheus.query_timeout_seconds
        self._runners = {n: QueryRunner(s, timeout) for n, s in self.sources.items()}
        self.discoveries = {
            name: Discovery(
                source=src if hasattr(src, "metric_names") else None,  # type: ignore[arg-type]
                config=config,
                clock=clock,
                ttl=discovery_ttl,
            )
            for name, src in self.sources.items()
        }

    @property
    def timeout(self) -> float:
        return self.config.prometheus.query_timeout_seconds

    def runner(self, member: str = "") -> QueryRunner:
        return self._runners[member]

    async def fleet(self, *, refresh: bool = False) -> Fleet:
        """Every server's bindings, discovered concurrently (cached per server); a server
        that cannot be asked is a member with the reason, never a failure of the rest."""

        async def one(name: str, discovery: Discovery) -> FleetMember:
            try:
                return FleetMember(name, await discovery.bindings(refresh=refresh))
            except MetricsUnavailable as exc:
                return FleetMember(name, None, exc.message)

        members = await asyncio.gather(*(one(n, d) for n, d in self.discoveries.items()))
        return Fleet.of(list(members))

    async def bindings(self, *, refresh: bool = False, member: str = "") -> Bindings:
        """One server's bindings (the only one's by default); MetricsUnavailable when it
        cannot be asked."""
        name = member or next(iter(self.discoveries))
        return await self.discoveries[name].bindings(refresh=refresh)

    async def known_services(self) -> list[str]:
        return list((await self.fleet()).services)

    @staticmethod
    def resolve(service: str, known: Sequence[str]) -> str:
        """`service` if known (or the one `service@server` of that name); else
        MetricsUsageError naming the closest known names."""
        if service in known:
            return service
        lowered = {k.lower(): k for k in known}
        if service.lower() in lowered:
            return lowered[service.lower()]
        sourced = [k for k in known if k.lower().split("@", 1)[0] == service.lower()]
        if len(sourced) == 1:
            return sourced[0]
        if sourced:
            hint = "it is on several servers: " + " or ".join(f"`{c}`" for c in sourced)
            raise MetricsUsageError(f"which {service!r}? {hint}")
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
        return await run_check(self, PARTS, service, at, first=first, only=services)

    async def health(self, service: str | None = None, at: datetime | None = None) -> CheckReport:
        return await run_check(self, ("health",), service, at)

    async def errors(self, service: str | None = None, at: datetime | None = None) -> CheckReport:
        return await run_check(self, ("errors",), service, at)

    async def latency(self, service: str | None = None, at: datetime | None = None) -> CheckReport:
        return await run_check(self, ("latency",), service, at)

    async def db(self, at: datetime | None = None) -> CheckReport:
        return await run_check(self, ("db",), None, at)

    async def resources(
        self, service: str | None = None, at: datetime | None = None
    ) -> CheckReport:
        return await run_check(self, ("resources",), service, at)

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

    async def budget_consumed(
        self, services: list[str], start: datetime, end: datetime
    ) -> list[BudgetUse]:
        """The error budget each service's SLO lost between `start` and `end` (budget.py)."""
        return await budget.budget_consumed(self, services, start, end)

    # --- free-form query --------------------------------------------------------------

    async def query(self, promql: str, at: datetime | None = None) -> QueryResult:
        """A read-only instant query on every server, at most `max_series` series.

        Raises MetricsUsageError (empty), MetricsQueryError (Prometheus rejected it,
        with Prometheus's message) or MetricsUnavailable (down or timed out)."""
        return await run_query(self, promql, at)
