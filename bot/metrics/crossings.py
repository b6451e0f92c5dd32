"""When each service crossed a verdict level: the start of the run of points at that
level or worse that reaches now (impact start, and the cascade's order of failure)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.metrics.config import Bands
from bot.metrics.judging import finite
from bot.metrics.models import Verdict
from bot.metrics.promql import latency_query, narrowed, requests_queries

if TYPE_CHECKING:
    from bot.metrics.reader import MetricsReader

CROSSING_WINDOW = timedelta(minutes=30)
CROSSING_STEP = timedelta(seconds=30)


async def first_crossings(
    svc: MetricsReader,
    services: Sequence[str],
    at: datetime | None = None,
    *,
    level: Verdict = Verdict.HIGH,
    window: timedelta = CROSSING_WINDOW,
    step: timedelta = CROSSING_STEP,
) -> dict[str, datetime]:
    """For each service whose error rate or P99 is at `level` or worse at the end of the
    window: when that run began (the first point of the run that reaches `at`). One range
    query per family and server, over the services it serves."""
    fleet = await svc.fleet()
    wanted = [s for s in services if s in fleet.services]
    stop = (at or svc.clock()).astimezone(UTC).replace(microsecond=0)
    start = stop - window
    cfg = svc.config
    th = cfg.thresholds
    asks: list[tuple[str, str, str, float, Bands]] = []  # member, promql, label, scale, bands
    for m in fleet.up:
        b = m.bindings
        assert b is not None
        raw = fleet.raw_services(m.name, wanted)
        for r in b.requests:
            only = narrowed(r.services, raw)
            label = b.label_of(r)
            if only and label:
                qs = requests_queries(b, r, cfg.rate_window, cfg.traffic_baseline_offset, only)
                asks.append((m.name, qs["error_rate"].promql, label, 1.0, th.error_rate))
        for lat in b.latency:
            only = narrowed(lat.services, raw)
            label = b.label_of(lat)
            if only and label and (q := latency_query(b, lat, cfg.rate_window, only)) is not None:
                asks.append((m.name, q.promql, label, lat.to_ms, th.latency_p99_ms))
    outcomes = await asyncio.gather(
        *(svc.runner(m).range(q, start, stop, step) for m, q, _, _, _ in asks)
    )
    found: dict[str, datetime] = {}
    for (member, _, label, scale, bands), (series, _) in zip(asks, outcomes, strict=True):
        for s in series or []:
            name = fleet.display(member, s.labels.get(label, ""))
            if name not in wanted:
                continue
            begin = run_start(s.points, scale, bands, level)
            if begin is not None and (name not in found or begin < found[name]):
                found[name] = begin
    return found


def run_start(
    points: list[tuple[float, float]], scale: float, bands: Bands, level: Verdict
) -> datetime | None:
    """Start of the run of points at `level` or worse that reaches the last point."""
    begin: float | None = None
    for ts, raw in points:
        v = finite(raw)
        hot = v is not None and bands.verdict(v * scale).at_least(level)
        if hot and begin is None:
            begin = ts
        elif not hot:
            begin = None
    return None if begin is None else datetime.fromtimestamp(begin, UTC)
