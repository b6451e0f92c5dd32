"""One check over the fleet: every server's queries run concurrently, each server's
results are judged in its own families, and the readings are merged under the services'
display names (`checkout-api@eu` where a name is on two servers). A server that cannot
be asked is named in the report; the others are still read."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

from bot.metrics.cause import likely_cause
from bot.metrics.config import MetricsConfig
from bot.metrics.fleet import Fleet
from bot.metrics.judging import Judged, judge
from bot.metrics.models import (
    CheckReport,
    DbPool,
    ErrorRate,
    LatencyReading,
    Part,
    ResourceReading,
    ServiceUp,
    SloReading,
    Traffic,
)
from bot.metrics.queries import plan_queries
from bot.metrics.ranking import in_rank_order
from bot.metrics.slos import configured

R = TypeVar("R", ServiceUp, ErrorRate, LatencyReading, ResourceReading, SloReading)

if TYPE_CHECKING:
    from bot.metrics.reader import MetricsReader


async def run_check(
    svc: MetricsReader,
    parts: Sequence[Part],
    service: str | None,
    at: datetime | None,
    *,
    first: Sequence[str] = (),
    only: Sequence[str] | None = None,
) -> CheckReport:
    when = (at or svc.clock()).astimezone(UTC)
    started = time.perf_counter()
    fleet = await svc.fleet()
    if not fleet.up:
        why = "; ".join(f"{m}: {r}" if m else r for m, r in fleet.down.items())
        return CheckReport(
            at=when,
            parts=list(parts),
            service=service,
            services=[service] if service else [],
            failures={p: why for p in parts},
            wall_seconds=time.perf_counter() - started,
        )
    if service is not None:
        services = [svc.resolve(service, fleet.services)]
    elif only is not None:
        services = [s for s in only if s in fleet.services]
    else:
        services = list(fleet.services)
    narrowed = service is not None or only is not None

    asks: list[tuple[str, list[str], dict[str, str]]] = []
    plans = []
    for m in fleet.up:
        assert m.bindings is not None
        raw = fleet.raw_services(m.name, services)
        if fleet.several and narrowed and not raw:
            continue
        keys = slo_keys(svc.config, fleet, m.name, m.bindings.services)
        asks.append((m.name, raw, keys))
        only = raw if narrowed else None
        plans.append(plan_queries(parts, m.bindings, only, svc.config, keys))
    outcomes = await asyncio.gather(
        *(svc.runner(name).run(plan, when) for (name, _, _), plan in zip(asks, plans, strict=True))
    )
    wall = time.perf_counter() - started

    judged: list[tuple[str, Judged]] = []
    unreachable = dict(fleet.down)
    seconds: dict[str, float] = {}
    for (name, raw, keys), out in zip(asks, outcomes, strict=True):
        seconds.update({f"{name}/{k}" if name else k: v for k, v in out.seconds.items()})
        if fleet.several and out.all_unreachable:
            unreachable[name] = next(iter(out.failed.values()))
            continue
        b = fleet.member(name).bindings
        assert b is not None
        judged.append((name, judge(parts, b, raw, narrowed, out, svc.config, keys)))
    shown = [s for s in services if fleet.locate(s)[0] not in unreachable]
    merged = _merge(fleet, judged)
    report = CheckReport(
        at=when,
        parts=list(parts),
        service=service,
        services=shown,
        health=merged.health,
        errors=merged.errors,
        latency=merged.latency,
        db=merged.pools[0] if merged.pools else None,
        pools=merged.pools,
        resources=merged.resources,
        traffic=merged.traffic,
        slos=merged.slos,
        failures={p: merged.failures[p] for p in parts if p in merged.failures},
        not_found=merged.not_found,
        unreachable=unreachable if fleet.several else {},
        query_seconds=seconds,
        wall_seconds=wall,
        total_services=len(shown),
    )
    report = in_rank_order(report, first, svc.config.primary_service)
    cause = likely_cause(report, svc.config, svc.runbooks)
    return report.model_copy(update={"likely_cause": cause}) if cause else report


def slo_keys(config: MetricsConfig, fleet: Fleet, member: str, raw: list[str]) -> dict[str, str]:
    """A server's services that METRICS_CONFIG gives an SLO -> the key it is under."""
    keys = {s: configured(config, s, fleet.display(member, s)) for s in raw}
    return {s: k for s, k in keys.items() if k is not None}


def _shown(fleet: Fleet, member: str, reading: R) -> R:
    """A reading under its service's display name (a copy only where that differs)."""
    shown = fleet.display(member, reading.service)
    return reading if shown == reading.service else reading.model_copy(update={"service": shown})


def _merge(fleet: Fleet, judged: list[tuple[str, Judged]]) -> Judged:
    """Every server's readings under display names; a part fails or is not found only
    where it failed or was not found on every server that was read."""
    if len(judged) == 1 and not fleet.several:
        return judged[0][1]
    out = Judged()
    for field in ("health", "errors", "latency", "resources"):
        lists = [getattr(j, field) for _, j in judged]
        if all(x is None for x in lists):
            continue
        merged = []
        for (name, _), items in zip(judged, lists, strict=True):
            merged += [_shown(fleet, name, x) for x in items or []]
        setattr(out, field, merged)
    out.slos = [_shown(fleet, name, x) for name, j in judged for x in j.slos]
    pools: list[DbPool] = []
    for name, j in judged:
        for p in j.pools:
            service = fleet.display(name, p.service) if p.service else None
            pools.append(
                p.model_copy(update={"service": service, "name": fleet.pool_name(name, p.name)})
            )
    out.pools = sorted(pools, key=lambda p: (-p.percent, p.name or ""))
    traffic = [j.traffic for _, j in judged if j.traffic is not None]
    if traffic:
        bases = [t.baseline_per_second for t in traffic if t.baseline_per_second is not None]
        out.traffic = Traffic(
            now_per_second=sum(t.now_per_second for t in traffic),
            baseline_per_second=sum(bases) if bases else None,
        )
    for name, j in judged:
        prefix = f"{name}: " if fleet.several else ""
        for part, why in j.failures.items():
            out.failures.setdefault(part, prefix + why)
    for part in {p for _, j in judged for p in j.not_found}:
        if all(part in j.not_found for _, j in judged):
            out.not_found[part] = judged[0][1].not_found[part]
    return out
