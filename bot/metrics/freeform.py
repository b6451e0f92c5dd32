"""`/metrics query`: a read-only instant query, bounded output. With several servers it
runs on each, and each series carries a `prometheus` label naming its server."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.metrics.backend import InstantResult
from bot.metrics.errors import MetricsQueryError, MetricsUnavailable, MetricsUsageError
from bot.metrics.models import InstantSample, QueryResult, QuerySeries

if TYPE_CHECKING:
    from bot.metrics.reader import MetricsReader

SERVER_LABEL = "prometheus"


def format_value(value: float) -> str:
    """A sample value for humans: up to 6 significant digits, NaN/Inf spelled out."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:.6g}"


async def run_query(svc: MetricsReader, promql: str, at: datetime | None) -> QueryResult:
    text = promql.strip()
    if not text:
        raise MetricsUsageError("give a PromQL expression, e.g. `/metrics query up`")
    when = (at or svc.clock()).astimezone(UTC)

    async def one(source_name: str) -> InstantResult:
        source = svc.sources[source_name]
        try:
            return await asyncio.wait_for(source.instant(text, when), svc.timeout)
        except TimeoutError as exc:
            raise MetricsUnavailable(f"query timed out after {svc.timeout:g}s") from exc

    names = list(svc.sources)
    answers = await asyncio.gather(*(one(n) for n in names), return_exceptions=True)
    results: list[tuple[str, InstantResult]] = []
    for name, answer in zip(names, answers, strict=True):
        if isinstance(answer, MetricsQueryError):
            raise answer  # the same query is rejected everywhere: say why once
        if isinstance(answer, InstantResult):
            results.append((name, answer))
    if not results:
        first = next(a for a in answers if isinstance(a, BaseException))
        raise first
    result = results[0][1]
    if len(names) > 1 and result.result_type in ("vector", "matrix"):
        samples = [
            InstantSample(
                labels={**s.labels, SERVER_LABEL: name}, value=s.value, timestamp=s.timestamp
            )
            for name, r in results
            for s in r.samples
        ]
        result = result.model_copy(update={"samples": samples})
    limit = svc.config.prometheus.max_series
    if result.result_type == "string":
        series = [QuerySeries(labels={}, value=result.text or "")]
    else:
        ordered = sorted(result.samples, key=lambda s: sorted(s.labels.items()))
        series = [
            QuerySeries(labels=dict(s.labels), value=format_value(s.value)) for s in ordered[:limit]
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
