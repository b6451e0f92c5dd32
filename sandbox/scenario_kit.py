"""The pieces every Prometheus scenario is built from: per-phase values (healthy, the
two-minute ramp, the incident), a service's readings, and a writer of OpenMetrics series
on the scenario's 30 s grid whose counters make rate[1m] exact and whose histograms put
P99 exactly on target."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from sandbox.prometheus_scenario import (
    BUCKETS,
    HEALTHY_BEFORE,
    STEP,
    ScenarioTimes,
    _fmt_le,
    _phase,
    bucket_fractions,
    counter_values,
)

Phases = tuple[float, float, float, float, float, float]  # healthy, 30s…120s, incident


def steady(v: float) -> Phases:
    return (v, v, v, v, v, v)


def ramp(a: float, b: float, shape: tuple[float, float, float] = (0.1, 0.3, 0.6)) -> Phases:
    """Healthy `a`, then the seed-like climb to `b` at 120 s, then `b`."""
    s1, s2, s3 = shape
    return (a, a + (b - a) * s1, a + (b - a) * s2, a + (b - a) * s3, b, b)


@dataclass(frozen=True)
class Svc:
    name: str
    requests: Phases
    errors: Phases
    p99_ms: Phases
    cpu: Phases  # fraction of the CPU limit (otel) or cores used (micrometer)
    memory: Phases  # fraction of the memory limit (otel) or bytes (micrometer)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    services: tuple[Svc, ...]
    declare_services: tuple[str, ...]  # what the demo declares the incident on
    write: Callable[[Scenario, _Writer], None]
    expected: dict[str, str] = field(default_factory=dict)  # report lines tests look for


class _Writer:
    def __init__(self, times: ScenarioTimes) -> None:
        ramp_ts = int(times.ramp_start.timestamp())
        last_k = int((times.end - times.ramp_start).total_seconds()) // STEP
        self.ks = range(-HEALTHY_BEFORE, last_k + 1)
        self.stamps = [ramp_ts + STEP * k for k in self.ks]
        self.out: list[str] = []
        self._typed: set[str] = set()

    def family(self, name: str, kind: str, unit: str = "") -> None:
        if name in self._typed:
            return
        self._typed.add(name)
        self.out.append(f"# TYPE {name} {kind}")
        if unit:
            self.out.append(f"# UNIT {name} {unit}")

    def series(self, name: str, labels: dict[str, str], values: list[float]) -> None:
        inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
        for ts, v in zip(self.stamps, values, strict=True):
            self.out.append(f"{name}{{{inner}}} {v!r} {ts}")

    def gauge(self, per_phase: Phases) -> list[float]:
        return [per_phase[_phase(k)] for k in self.ks]

    def counter(self, per_phase: Phases, base: float = 10_000.0) -> list[float]:
        return counter_values(per_phase, self.ks, base)

    def histogram(
        self,
        family: str,
        labels_by_status: list[tuple[dict[str, str], Phases]],
        p99_ms: Phases,
        le_scale: float,
    ) -> None:
        """Buckets, count and sum per status series; the sum over statuses has P99 p99_ms.
        `le_scale` turns the millisecond bounds into the family's unit (0.001: seconds)."""
        fractions = [bucket_fractions(p) for p in p99_ms]
        for labels, rates in labels_by_status:
            for i, b in enumerate(BUCKETS):
                per = tuple(r * f[i] for r, f in zip(rates, fractions, strict=True))
                le = "+Inf" if math.isinf(b) else _fmt_le(b * le_scale)
                self.series(f"{family}_bucket", {**labels, "le": le}, self.counter(per))  # type: ignore[arg-type]
            self.series(f"{family}_count", labels, self.counter(rates))
            sums = tuple(r * p * 0.4 * le_scale for r, p in zip(rates, p99_ms, strict=True))
            self.series(f"{family}_sum", labels, self.counter(sums, base=1e4))  # type: ignore[arg-type]


def _ok(rates: Phases, errors: Phases) -> Phases:
    return tuple(r - e for r, e in zip(rates, errors, strict=True))  # type: ignore[return-value]
