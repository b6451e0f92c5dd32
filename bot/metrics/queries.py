"""Running a check's queries: the plan (one PromQL query per reading, aggregated by the
service label over every service) and the runner, which runs them all concurrently, each
bounded by its own timeout, so a check takes about as long as its slowest query. A query
that fails or times out fails only its reading, with the reason."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.metrics.bindings import (
    Bindings,
    Query,
    latency_query,
    pool_queries,
    requests_queries,
    resource_queries,
    up_query,
)
from bot.metrics.config import MetricsConfig
from bot.metrics.errors import MetricsQueryError, MetricsUnavailable
from bot.metrics.models import Part, RangeSeries
from bot.metrics.prometheus import InstantResult, MetricsSource


def plan_queries(
    parts: Sequence[Part], b: Bindings, services: list[str] | None, config: MetricsConfig
) -> dict[str, Query]:
    """The queries a check over `parts` runs (`services`: narrow to these; None: all)."""
    plan: dict[str, Query] = {}
    if "health" in parts and (q := up_query(b)) is not None:
        plan["up"] = q
    if "errors" in parts:
        plan.update(
            requests_queries(b, config.rate_window, config.traffic_baseline_offset, services)
        )
    if "latency" in parts and (q := latency_query(b, config.rate_window, services)) is not None:
        plan["latency_p99"] = q
    if "db" in parts:
        for i, pool in enumerate(b.pools):
            for what, q in pool_queries(pool).items():
                plan[f"db{i}_{what}"] = q
    if "resources" in parts:
        for kind, res in (("cpu", b.cpu), ("memory", b.memory)):
            if res is not None:
                for what, q in resource_queries(res, config.rate_window).items():
                    plan[f"{kind}_{what}"] = q
    return plan


class Outcomes:
    """What a plan returned: results, failures (name -> reason) and seconds per query."""

    def __init__(self) -> None:
        self.results: dict[str, InstantResult] = {}
        self.failed: dict[str, str] = {}
        self.seconds: dict[str, float] = {}

    def by_key(self, name: str, key: str | None) -> dict[str, float]:
        """The rows of one result by the value of `key` ("" for a single row)."""
        return rows_by_key(self.results.get(name), key)


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
    ) -> tuple[InstantResult | None, str | None, float]:
        started = time.perf_counter()
        try:
            result = await asyncio.wait_for(self.source.instant(promql, at), self.timeout)
            return result, None, time.perf_counter() - started
        except (TimeoutError, MetricsUnavailable, MetricsQueryError) as exc:
            return None, self._reason(exc), time.perf_counter() - started

    async def run(self, plan: dict[str, Query], at: datetime) -> Outcomes:
        names = list(plan)
        done = await asyncio.gather(*(self._instant(plan[n].promql, at) for n in names))
        out = Outcomes()
        for name, (result, reason, seconds) in zip(names, done, strict=True):
            out.seconds[name] = seconds
            if result is not None:
                out.results[name] = result
            else:
                out.failed[name] = reason or "unknown error"
        return out

    async def range(
        self, promql: str, start: datetime, end: datetime, step: timedelta
    ) -> tuple[list[RangeSeries] | None, str | None]:
        try:
            coro = self.source.range(promql, start, end, step)
            return await asyncio.wait_for(coro, self.timeout), None
        except (TimeoutError, MetricsUnavailable, MetricsQueryError) as exc:
            return None, self._reason(exc)
