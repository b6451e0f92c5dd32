"""Judging: a check's query results turned into readings with verdicts (the threshold
bands of METRICS_CONFIG), per service, and what could not be read and why."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.metrics.bindings import Bindings, PoolBinding, ResourceBinding, owners
from bot.metrics.config import MetricsConfig
from bot.metrics.models import (
    DbPool,
    ErrorRate,
    LatencyReading,
    Part,
    ResourceReading,
    ServiceUp,
    SloReading,
    Traffic,
    Verdict,
    worst,
)
from bot.metrics.queries import Outcomes
from bot.metrics.slos import config_readings, pyrra_readings, sloth_readings


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
    slos: list[SloReading] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    not_found: dict[str, str] = field(default_factory=dict)


def judge(
    parts: Sequence[Part],
    b: Bindings,
    services: list[str],
    narrowed: bool,
    out: Outcomes,
    config: MetricsConfig,
    slo_keys: dict[str, str] | None = None,
) -> Judged:
    """The readings of `services` (raw names of this Prometheus) from one run's outcomes."""
    j = Judged()
    no_services = b.missing.get("services")

    def unavailable(part: Part, prefix: str, bound: bool, missing_key: str) -> bool:
        """Not found, or every query of the part failed; a part some of whose families
        failed keeps the others' readings and names the failure."""
        if not bound or (no_services and part != "db"):
            j.not_found[part] = b.missing.get(missing_key) or no_services or "not found"
            return True
        bad = [why for name, why in out.failed.items() if name.startswith(prefix)]
        ran = [name for name in out.seconds if name.startswith(prefix)]
        if bad:
            j.failures[part] = bad[0]
        return bool(bad) and len(bad) == len(ran)

    if "health" in parts and not unavailable("health", "up.", bool(b.up), "up"):
        j.health = _health(b, services, out)
    if "errors" in parts and not unavailable("errors", "error_rate.", bool(b.requests), "requests"):
        _judge_errors(j, b, services, out, config)
    if "errors" in parts:
        j.slos = judge_slos(b, services, out, config, slo_keys or {})
        bad = [why for name, why in out.failed.items() if name.startswith("slo.")]
        if bad:
            j.failures.setdefault("errors", f"SLOs: {bad[0]}")
    if "latency" in parts and not unavailable(
        "latency", "latency_p99.", bool(b.latency), "latency"
    ):
        j.latency = _latency(b, services, out, config)
    if "db" in parts:
        _judge_pools(j, b, out, set(services), narrowed, config)
    if "resources" in parts:
        _judge_resources(j, b, services, out, config)
    return j


def judge_slos(
    b: Bindings, services: list[str], out: Outcomes, cfg: MetricsConfig, slo_keys: dict[str, str]
) -> list[SloReading]:
    """Each service's SLO readings: METRICS_CONFIG's where it names one, else what Sloth
    or Pyrra record."""
    wanted = set(services)
    recorded_for = wanted - set(slo_keys)
    found: list[SloReading] = []
    for slo in b.slos:
        if slo.kind == "sloth":
            found += sloth_readings(out.results.get("slo.sloth"), recorded_for)
        else:
            burn, meta = out.results.get("slo.pyrra_burn"), out.results.get("slo.pyrra_objective")
            found += pyrra_readings(slo, burn, meta, recorded_for)
    family = owners(b.requests, services)
    for i, r in enumerate(b.requests):
        label = b.label_of(r)
        names = {s: k for s, k in slo_keys.items() if s in wanted and family.get(s) == i}
        if label and names:
            found += config_readings(out.results.get(f"slo.config.{i}"), label, cfg.slos, names)
    order = {s: n for n, s in enumerate(services)}
    return sorted(found, key=lambda x: (order.get(x.service, len(order)), x.name))


def _health(b: Bindings, services: list[str], out: Outcomes) -> list[ServiceUp]:
    rows = [out.by_key(f"up.{i}", up.key_label) for i, up in enumerate(b.up)]
    which = owners(b.up, services)
    found: list[ServiceUp] = []
    for s in services:
        i = which.get(s)
        ups = rows[i] if i is not None else {}
        found.append(ServiceUp(service=s, up=None if s not in ups else ups[s] >= 1))
    return found


def _judge_errors(
    j: Judged, b: Bindings, services: list[str], out: Outcomes, cfg: MetricsConfig
) -> None:
    th = cfg.thresholds
    j.errors = []
    now_total = 0.0
    base_total: float | None = None
    seen_traffic = False
    family = owners(b.requests, services)
    for i, r in enumerate(b.requests):
        if f"error_rate.{i}" in out.failed:
            continue
        label = b.label_of(r)
        rates = out.by_key(f"error_rate.{i}", label)
        totals = out.by_key(f"request_rate.{i}", label)
        base = out.by_key(f"request_rate_baseline.{i}", label)
        for s in services:
            if family.get(s) != i:
                continue
            v = finite(rates.get(s))
            if v is None and s in rates:
                v = 0.0
            if v is None:
                v = 0.0 if totals.get(s) else None
            total = finite(totals.get(s))
            ratio = v / total if v is not None and total else None
            verdict = Verdict.OK if v is None else th.error_rate.verdict(v)
            if ratio is not None:
                verdict = worst([verdict, th.error_ratio_percent.verdict(100.0 * ratio)])
            j.errors.append(ErrorRate(service=s, per_second=v, verdict=verdict, ratio=ratio))
            if s in totals:
                seen_traffic = True
                now_total += finite(totals[s]) or 0.0
            if s in base:
                base_total = (base_total or 0.0) + (finite(base[s]) or 0.0)
    order = {s: n for n, s in enumerate(services)}
    j.errors.sort(key=lambda e: order[e.service])
    if seen_traffic:
        j.traffic = Traffic(now_per_second=now_total, baseline_per_second=base_total)


def _latency(
    b: Bindings, services: list[str], out: Outcomes, cfg: MetricsConfig
) -> list[LatencyReading]:
    rows = [out.by_key(f"latency_p99.{i}", b.label_of(lat)) for i, lat in enumerate(b.latency)]
    which = owners(b.latency, services)
    found: list[LatencyReading] = []
    for s in services:
        i = which.get(s)
        if i is None:
            found.append(LatencyReading(service=s, p99_ms=None))
            continue
        lat = b.latency[i]
        if f"latency_p99.{i}" in out.failed:
            continue
        raw = finite(rows[i].get(s))
        v = None if raw is None else raw * lat.to_ms
        verdict = Verdict.OK if v is None else cfg.thresholds.latency_p99_ms.verdict(v)
        found.append(LatencyReading(service=s, p99_ms=v, verdict=verdict))
    return found


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
    j: Judged, b: Bindings, services: list[str], out: Outcomes, cfg: MetricsConfig
) -> None:
    no_services = b.missing.get("services")
    cpu_missing = not b.cpu and "cpu" in b.missing
    mem_missing = not b.memory and "memory" in b.missing
    if (cpu_missing and mem_missing) or no_services:
        j.not_found["resources"] = no_services or f"{b.missing['cpu']}; {b.missing['memory']}"
        return
    usages = [n for n in out.seconds if n.startswith(("cpu.", "memory.")) and n.endswith("_usage")]
    bad = [out.failed[n] for n in usages if n in out.failed]
    if bad and len(bad) == len(usages):
        j.failures["resources"] = bad[0]
        return
    if bad:
        j.failures["resources"] = bad[0]
    j.resources = []
    tables = {
        (kind, i): (
            res,
            out.by_key(f"{kind}.{i}_usage", res.key_label),
            out.by_key(f"{kind}.{i}_limit", res.key_label),
        )
        for kind, found in (("cpu", b.cpu), ("memory", b.memory))
        for i, res in enumerate(found)
    }
    served = {"cpu": owners(b.cpu, services), "memory": owners(b.memory, services)}
    for s in services:
        for kind in ("cpu", "memory"):
            i = served[kind].get(s)
            if i is None:
                continue
            res, used, limits = tables[(kind, i)]
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
