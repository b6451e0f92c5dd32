"""Judging: a check's query results turned into readings with verdicts (the threshold
bands of METRICS_CONFIG), per service, and what could not be read and why."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.metrics.bindings import Bindings, PoolBinding, Query, ResourceBinding
from bot.metrics.config import MetricsConfig
from bot.metrics.models import (
    DbPool,
    ErrorRate,
    LatencyReading,
    Part,
    ResourceReading,
    ServiceUp,
    Traffic,
    Verdict,
)
from bot.metrics.queries import Outcomes


def finite(v: float | None) -> float | None:
    return None if v is None or math.isnan(v) or math.isinf(v) else v


def _mib(value: float) -> str:
    return f"{value / 2**20:.0f} MiB"


@dataclass
class Judged:
    """The readings of one check; a part left None could not be read (see failures and
    not_found)."""

    health: list[ServiceUp] | None = None
    errors: list[ErrorRate] | None = None
    traffic: Traffic | None = None
    latency: list[LatencyReading] | None = None
    pools: list[DbPool] = field(default_factory=list)
    resources: list[ResourceReading] | None = None
    failures: dict[str, str] = field(default_factory=dict)
    not_found: dict[str, str] = field(default_factory=dict)


def judge(
    parts: Sequence[Part],
    b: Bindings,
    services: list[str],
    narrowed: bool,
    plan: dict[str, Query],
    out: Outcomes,
    config: MetricsConfig,
) -> Judged:
    j = Judged()
    th = config.thresholds
    failed = out.failed
    no_services = b.missing.get("services")

    def unavailable(part: Part, names: Sequence[str], missing_key: str) -> bool:
        if missing_key in b.missing or (no_services and part != "db"):
            j.not_found[part] = b.missing.get(missing_key) or no_services or "not found"
            return True
        bad = [failed[n] for n in names if n in failed]
        if bad:
            j.failures[part] = bad[0]
            return True
        return False

    if "health" in parts and not unavailable("health", ["up"], "up"):
        ups = out.by_key("up", b.up.key_label if b.up else None)
        j.health = [
            ServiceUp(service=s, up=None if s not in ups else ups[s] >= 1) for s in services
        ]

    if "errors" in parts and not unavailable("errors", ["error_rate"], "requests"):
        rates = out.by_key("error_rate", b.service_label)
        totals = out.by_key("request_rate", b.service_label)
        j.errors = []
        for s in services:
            v = finite(rates.get(s))
            if v is None and s in rates:
                v = 0.0
            if v is None:
                v = 0.0 if totals.get(s) else None
            verdict = Verdict.OK if v is None else th.error_rate.verdict(v)
            j.errors.append(ErrorRate(service=s, per_second=v, verdict=verdict))
        wanted = set(services)
        now_rates = {s: v for s, v in totals.items() if s in wanted}
        if now_rates:
            base = out.by_key("request_rate_baseline", b.service_label)
            base = {s: v for s, v in base.items() if s in wanted}
            j.traffic = Traffic(
                now_per_second=sum(v for v in now_rates.values() if finite(v) is not None),
                baseline_per_second=(
                    sum(v for v in base.values() if finite(v) is not None) if base else None
                ),
            )

    if "latency" in parts and not unavailable("latency", ["latency_p99"], "latency"):
        scale = b.latency.to_ms if b.latency else 1.0
        p99 = out.by_key("latency_p99", b.service_label)
        j.latency = []
        for s in services:
            raw = finite(p99.get(s))
            v = None if raw is None else raw * scale
            verdict = Verdict.OK if v is None else th.latency_p99_ms.verdict(v)
            j.latency.append(LatencyReading(service=s, p99_ms=v, verdict=verdict))

    if "db" in parts:
        _judge_pools(j, b, out, set(services), narrowed, config)
    if "resources" in parts:
        _judge_resources(j, b, services, plan, out, config)
    return j


def _judge_pools(
    j: Judged, b: Bindings, out: Outcomes, services: set[str], narrowed: bool, cfg: MetricsConfig
) -> None:
    if not b.pools:
        j.not_found["db"] = b.missing.get("db") or "no database pool metrics found"
        return
    reasons: list[str] = []
    for i, pool in enumerate(b.pools):
        if f"db{i}_active" in out.failed:
            reasons.append(out.failed[f"db{i}_active"])
            continue
        j.pools += pool_readings(pool, i, out, services, narrowed, cfg)
    if not j.pools and reasons:
        j.failures["db"] = reasons[0]
    elif not j.pools:
        j.not_found["db"] = f"no data for {', '.join(p.active for p in b.pools)}"
    j.pools.sort(key=lambda p: (-p.percent, p.name or ""))


def pool_readings(
    pool: PoolBinding,
    i: int,
    out: Outcomes,
    services: set[str],
    narrowed: bool,
    cfg: MetricsConfig,
) -> list[DbPool]:
    def rows(name: str, pool_label: str | None) -> dict[tuple[str, str], float]:
        found: dict[tuple[str, str], float] = {}
        result = out.results.get(f"db{i}_{name}")
        for sample in result.samples if result else []:
            svc = sample.labels.get(pool.service_label, "") if pool.service_label else ""
            name_ = sample.labels.get(pool_label, "") if pool_label else ""
            found[(svc, name_)] = sample.value
        return found

    active = rows("active", pool.pool_label)
    maxes = rows("max", pool.max_pool_label or pool.pool_label)
    waiting = rows("waiting", pool.pool_label)
    readings: list[DbPool] = []
    for (svc, name), value in sorted(active.items()):
        v = finite(value)
        if v is None:
            continue
        if pool.service_label and narrowed and svc not in services:
            continue
        limit = finite(maxes.get((svc, name)))
        if limit is None and len(maxes) == 1:
            limit = finite(next(iter(maxes.values())))
        size = limit if limit and limit > 0 else float(cfg.pool_size)
        percent = 100.0 * v / size
        readings.append(
            DbPool(
                name=" ".join(x for x in (svc, name) if x) or None,
                service=svc or None,
                kind=pool.kind,
                pool_key=name,
                active=v,
                waiting=finite(waiting.get((svc, name))),
                pool_size=size,
                pool_size_source="metric" if limit and limit > 0 else "config",
                percent=percent,
                verdict=cfg.thresholds.db_pool_percent.verdict(round(percent)),
            )
        )
    return readings


def _judge_resources(
    j: Judged,
    b: Bindings,
    services: list[str],
    plan: dict[str, Query],
    out: Outcomes,
    cfg: MetricsConfig,
) -> None:
    no_services = b.missing.get("services")
    cpu_missing = b.cpu is None and "cpu" in b.missing
    mem_missing = b.memory is None and "memory" in b.missing
    if (cpu_missing and mem_missing) or no_services:
        j.not_found["resources"] = no_services or f"{b.missing['cpu']}; {b.missing['memory']}"
        return
    usages = [n for n in plan if n.startswith(("cpu_", "memory_")) and n.endswith("_usage")]
    bad = [out.failed[n] for n in usages if n in out.failed]
    if bad and len(bad) == len(usages):
        j.failures["resources"] = bad[0]
        return
    j.resources = []
    tables = {
        kind: (
            res,
            out.by_key(f"{kind}_usage", res.key_label),
            out.by_key(f"{kind}_limit", res.key_label),
        )
        for kind, res in (("cpu", b.cpu), ("memory", b.memory))
        if res is not None
    }
    for s in services:
        for kind, (res, used, limits) in tables.items():
            reading = resource_reading(kind, res, s, used, limits, cfg)
            if reading is not None:
                j.resources.append(reading)
    for kind, missing in (("cpu", cpu_missing), ("memory", mem_missing)):
        if missing:
            j.not_found[f"resources.{kind}"] = b.missing[kind]


def resource_reading(
    kind: str,
    res: ResourceBinding,
    service: str,
    usages: dict[str, float],
    limits: dict[str, float],
    cfg: MetricsConfig,
) -> ResourceReading | None:
    usage = finite(usages.get(service))
    if usage is None:
        return None
    th = cfg.thresholds
    bands = th.cpu_percent if kind == "cpu" else th.memory_percent
    pct: float | None = None
    detail: str | None = None
    if res.usage_kind == "ratio":
        pct = 100.0 * usage
    elif res.limit is not None:
        limit = finite(limits.get(service))
        if limit is None or limit <= 0:
            what = f"{usage:.2f} cores" if kind == "cpu" else _mib(usage)
            detail = f"{what} (no limit found)"
        else:
            pct = 100.0 * usage / limit
    elif kind == "cpu":
        pct = 100.0 * usage
        detail = "of one core"
    else:
        detail = f"{_mib(usage)} (no limit known)"
    return ResourceReading(
        service=service,
        kind="cpu" if kind == "cpu" else "memory",
        percent=pct,
        verdict=Verdict.OK if pct is None else bands.verdict(round(pct)),
        detail=detail,
    )
