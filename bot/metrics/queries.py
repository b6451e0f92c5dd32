"""Running a check's queries: the plan (one PromQL query per reading and family,
aggregated by the family's service label over every service it serves) and the runner,
which runs them all concurrently, each bounded by its own timeout, so a check takes
about as long as its slowest query. A query that fails or times out fails only its
reading, with the reason."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.metrics.backend import InstantResult, MetricsSource
from bot.metrics.bindings import Bindings
from bot.metrics.config import MetricsConfig
from bot.metrics.errors import MetricsQueryError, MetricsUnavailable
from bot.metrics.models import Part, RangeSeries
from bot.metrics.promql import (
    Query,
    latency_query,
    narrowed,
    pool_queries,
    requests_queries,
    resource_queries,
    up_query,
)
from bot.metrics.slos import config_query, pyrra_queries, sloth_query


def plan_queries(
    parts: Sequence[Part],
    b: Bindings,
    services: list[str] | None,
    config: MetricsConfig,
    slo_keys: dict[str, str] | None = None,
) -> dict[str, Query]:
    """The queries a check over `parts` runs (`services`: narrow to these; None: all).
    Keys name the reading and the family's index: `error_rate.0`, `cpu.1_usage`, `db0_max`.
    `slo_keys`: services with an SLO in METRICS_CONFIG -> its key there."""
    plan: dict[str, Query] = {}
    if "errors" in parts:
        plan.update(slo_queries(b, services, config, slo_keys or {}))
    if "health" in parts:
        for i, up in enumerate(b.up):
            if narrowed(up.services, services) != []:
                plan[f"up.{i}"] = up_query(up)
    if "errors" in parts:
        for i, r in enumerate(b.requests):
            only = narrowed(r.services, services)
            if only != []:
                window, offset = config.rate_window, config.traffic_baseline_offset
                for what, q in requests_queries(b, r, window, offset, only).items():
                    plan[f"{what}.{i}"] = q
    if "latency" in parts:
        for i, lat in enumerate(b.latency):
            only = narrowed(lat.services, services)
            found = latency_query(b, lat, config.rate_window, only)
            if only != [] and found is not None:
                plan[f"latency_p99.{i}"] = found
    if "db" in parts:
        for i, pool in enumerate(b.pools):
            for what, q in pool_queries(pool).items():
                plan[f"db{i}_{what}"] = q
    if "resources" in parts:
        for kind in ("cpu", "memory"):
            for i, res in enumerate(b.cpu if kind == "cpu" else b.memory):
                if narrowed(res.services, services) != []:
                    for what, q in resource_queries(res, config.rate_window).items():
                        plan[f"{kind}.{i}_{what}"] = q
    return plan


def slo_queries(
    b: Bindings, services: list[str] | None, config: MetricsConfig, slo_keys: dict[str, str]
) -> dict[str, Query]:
    """One query per kind of recorded SLO, and one per request family for the SLOs of
    METRICS_CONFIG (every window of every service of the family at once)."""
    plan: dict[str, Query] = {}
    for slo in b.slos:
        only = narrowed(slo.services, services)
        if only == []:
            continue
        if slo.kind == "sloth":
            plan["slo.sloth"] = sloth_query(only)
        else:
            for what, q in pyrra_queries(slo, only).items():
                plan[f"slo.pyrra_{what}"] = q
    for i, r in enumerate(b.requests):
        mine = list(narrowed(r.services, services) or r.services or b.services)
        mine = [s for s in mine if s in slo_keys and b.requests_for(s) is r]
        ratio = config_query(b, r, {s: config.slos[slo_keys[s]] for s in mine}, mine)
        if ratio is not None:
            plan[f"slo.config.{i}"] = ratio
    return plan


class Outcomes:
    """What a plan returned: results, failures (name -> reason) and seconds per query."""

    def __init__(self) -> None:
        self.results: dict[str, InstantResult] = {}
        self.failed: dict[str, str] = {}
        self.unreachable: set[str] = set()  # failed because the server could not be asked
        self.seconds: dict[str, float] = {}

    def by_key(self, name: str, key: str | None) -> dict[str, float]:
        """The rows of one result by the value of `key` ("" for a single row)."""
        return rows_by_key(self.results.get(name), key)

    @property
    def all_unreachable(self) -> bool:
        return bool(self.unreachable) and not self.results and self.unreachable == set(self.failed)


def rows_by_key(result: InstantResult | None, key: str | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for s in result.samples if result else []:
        name = s.labels.get(key or "", "") if key else ""
        if key is None or name:
            out[name] = s.value
    return out


class QueryRunner:
    def __init__(self, source: MetricsSource, timeout: float) -> None:
        self.source = source
        self.timeout = timeout

    def _reason(self, exc: Exception) -> str:
        if isinstance(exc, TimeoutError):
            return f"timeout after {self.timeout:g}s"
        if isinstance(exc, MetricsUnavailable):
            return exc.message
        if isinstance(exc, MetricsQueryError):
            return f"Prometheus rejected the query: {exc.message}"
        raise exc

    async def _instant(
        self, promql: str, at: datetime
    ) -> tuple[InstantResult | None, Exception | None, float]:
        started = time.perf_counter()
        try:
            result = await asyncio.wait_for(self.source.instant(promql, at), self.timeout)
            return result, None, time.perf_counter() - started
        except (TimeoutError, MetricsUnavailable, MetricsQueryError) as exc:
            return None, exc, time.perf_counter() - started

    async def run(self, plan: dict[str, Query], at: datetime) -> Outcomes:
        names = list(plan)
        done = await asyncio.gather(*(self._instant(plan[n].promql, at) for n in names))
        out = Outcomes()
        for name, (result, exc, seconds) in zip(names, done, strict=True):
            out.seconds[name] = seconds
            if result is not None:
                out.results[name] = result
            elif exc is not None:
                out.failed[name] = self._reason(exc)
                if isinstance(exc, MetricsUnavailable | TimeoutError):
                    out.unreachable.add(name)
        return out

    async def range(
        self, promql: str, start: datetime, end: datetime, step: timedelta
    ) -> tuple[list[RangeSeries] | None, str | None]:
        try:
            coro = self.source.range(promql, start, end, step)
            return await asyncio.wait_for(coro, self.timeout), None
        except (TimeoutError, MetricsUnavailable, MetricsQueryError) as exc:
            return None, self._reason(exc)
