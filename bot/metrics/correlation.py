"""The seed's correlation table: error rate, DB pool use and P99 of one service over a
window, and the turning point where all three reach HIGH."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.metrics.bindings import Bindings, PoolBinding
from bot.metrics.errors import MetricsUsageError
from bot.metrics.judging import finite
from bot.metrics.models import Correlation, CorrelationRow, DbPool, Verdict
from bot.metrics.promql import latency_query, pool_queries, requests_queries

if TYPE_CHECKING:
    from bot.metrics.reader import MetricsReader

MAX_CORRELATION_ROWS = 200


async def correlate(
    svc: MetricsReader,
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
    stop = (end or svc.clock()).astimezone(UTC).replace(microsecond=0)
    start = stop - window
    fleet = await svc.fleet()
    if not fleet.up:
        why = "; ".join(fleet.down.values())
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
        target = svc.resolve(service, fleet.services)
    else:
        now = await svc.check(at=stop)
        if not now.services:
            raise MetricsUsageError(
                "no services found to correlate: " + (fleet.missing.get("services") or "none")
            )
        target = now.services[0]
        pool_hint = next((p for p in now.pools if p.service == target), now.db)
    member, target_raw = fleet.locate(target)
    b = fleet.member(member).bindings
    assert b is not None
    on_other_server = fleet.several and not (
        pool_hint and (pool_hint.name or "").endswith(f"@{member}")
    )
    if on_other_server:
        pool_hint = None  # the fullest pool is on another server
    cfg = svc.config
    asks: dict[str, str] = {}
    r = b.requests_for(target_raw)
    label = b.label_of(r) if r is not None else None
    if r is not None and label:
        reqs = requests_queries(b, r, cfg.rate_window, cfg.traffic_baseline_offset, [target_raw])
        asks["error_rate"] = reqs["error_rate"].promql
    lat = b.latency_for(target_raw)
    lat_label = b.label_of(lat) if lat is not None else None
    if lat is not None and (q := latency_query(b, lat, cfg.rate_window, [target_raw])) is not None:
        asks["latency_p99"] = q.promql
    pool, pool_key = pool_for(
        b, target_raw, pool_hint, pool_hint is not None and pool_hint.service == target
    )
    if pool is not None:
        for what, pq in pool_queries(pool).items():
            if what != "waiting":
                asks[f"db_{what}"] = pq.promql
    names = list(asks)
    runner = svc.runner(member)
    outcomes = await asyncio.gather(*(runner.range(asks[n], start, stop, step) for n in names))
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
                row_label = label if name == "error_rate" else lat_label
                row_service = s.labels.get(row_label or "")
                if row_service not in (None, target_raw):
                    continue
            for ts, v in s.points:
                points[round(ts)] = v
        series[name] = points
    scale = lat.to_ms if lat else 1.0

    th = svc.config.thresholds
    rows: list[CorrelationRow] = []
    marked = False
    n = int(window / step)
    for i in range(n + 1):
        at = start + i * step
        key = round(at.timestamp())
        err = finite(series.get("error_rate", {}).get(key))
        active = finite(series.get("db_active", {}).get(key))
        pool_metric = finite(series.get("db_max", {}).get(key))
        size = pool_metric if pool_metric and pool_metric > 0 else float(svc.config.pool_size)
        pct = None if active is None else 100.0 * active / size
        raw = finite(series.get("latency_p99", {}).get(key))
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


def pool_for(
    b: Bindings, service: str, hint: DbPool | None, hint_is_own: bool
) -> tuple[PoolBinding | None, tuple[str, str]]:
    """The pool to chart with `service` (raw name): its own pool, else the fullest now."""
    own = hint.pool_key if hint is not None and hint_is_own else ""
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


def _pool_row_matches(
    labels: dict[str, str], pool: PoolBinding, key: tuple[str, str], name: str
) -> bool:
    svc, pool_name = key
    if pool.service_label and svc and labels.get(pool.service_label, "") != svc:
        return False
    label = pool.pool_label if name != "db_max" else (pool.max_pool_label or pool.pool_label)
    return not (label and pool_name and labels.get(label, "") != pool_name)
