"""Readings, verdicts and reports of the metric checks. Pure data: no I/O, no Slack."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Verdict(StrEnum):
    OK = "OK"
    ELEVATED = "ELEVATED"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: Verdict) -> bool:
        return self.rank >= other.rank


_RANK = {Verdict.OK: 0, Verdict.ELEVATED: 1, Verdict.HIGH: 2, Verdict.CRITICAL: 3}


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    return max(verdicts, key=lambda v: v.rank, default=Verdict.OK)


Part = Literal["health", "errors", "latency", "db", "resources"]
PARTS: tuple[Part, ...] = ("health", "errors", "latency", "db", "resources")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


# --- what a MetricsSource returns -------------------------------------------------------


class InstantSample(_Model):
    labels: dict[str, str]
    value: float
    timestamp: float


class RangeSeries(_Model):
    labels: dict[str, str]
    points: list[tuple[float, float]]  # (unix seconds, value)


# --- readings ---------------------------------------------------------------------------


class ServiceUp(_Model):
    service: str
    up: bool | None  # None: no `up` series for this service


class ErrorRate(_Model):
    service: str
    per_second: float | None  # None: no data
    verdict: Verdict = Verdict.OK  # the worse of the errors/s and the error-ratio bands
    ratio: float | None = None  # errors / requests (0..1); None: no requests

    @property
    def share(self) -> str:
        """` (9.1% of requests)`, or "" when the ratio is unknown."""
        return "" if self.ratio is None else f" ({percent(self.ratio)} of requests)"


def percent(ratio: float) -> str:
    """A share for humans: one decimal, `<0.1%` for a trace."""
    value = 100.0 * ratio
    if 0 < value < 0.05:
        return "<0.1%"
    return f"{value:.1f}%"


class SloReading(_Model):
    """A service's SLO now: burn rates per window (error ratio over the window / the error
    budget, 1 - objective), the budget left over its window, and the verdict of the
    multiwindow, multi-burn-rate rule."""

    service: str
    name: str  # the SLO's name (Sloth's sloth_slo, Pyrra's slo; "availability" from config)
    source: Literal["sloth", "pyrra", "config"]
    objective: float  # 0.999
    window: str  # "30d"
    burn: dict[str, float]  # window ("5m", "1h", …) -> burn rate
    budget_left: float | None = None  # fraction of the window's budget left (< 0: overspent)
    verdict: Verdict = Verdict.OK

    def describe(self, shown: tuple[str, ...] = ("5m", "1h", "6h")) -> str:
        """`burns its 99.9% budget at 14.4× (5m) / 9.8× (1h) / 2.1× (6h): page-worthy;
        71% of its 30d budget left`"""
        rates = " / ".join(f"{burn_text(self.burn[w])} ({w})" for w in shown if w in self.burn)
        words = {Verdict.CRITICAL: "page-worthy", Verdict.HIGH: "ticket-worthy"}
        text = f"burns its {objective_text(self.objective)} budget at {rates or 'no data'}"
        text += f": {words.get(self.verdict, 'within budget')}"
        if self.budget_left is not None and self.budget_left >= 0:
            text += f"; {round(100 * self.budget_left)}% of its {self.window} budget left"
        elif self.budget_left is not None:
            spent = round(100 * (1 - self.budget_left))
            text += f"; its {self.window} budget is spent ({spent}% used)"
        return text


def objective_text(objective: float) -> str:
    return f"{round(100 * objective, 4):g}%"


def burn_text(burn: float) -> str:
    return f"{burn:.0f}×" if burn >= 100 else f"{burn:.1f}×"


class LatencyReading(_Model):
    service: str
    p99_ms: float | None  # None: no data (e.g. no requests in the window)
    verdict: Verdict = Verdict.OK


class DbPool(_Model):
    name: str | None = None  # the pool's label values, e.g. "orders-db" or "checkout HikariPool-1"
    service: str | None = None  # the service the pool belongs to, when the labels say
    kind: str = ""  # the convention it was read from (HikariCP, postgres_exporter, …)
    pool_key: str = ""  # the pool label's value ("" when the family names no pool)
    active: float
    waiting: float | None
    pool_size: float
    pool_size_source: Literal["metric", "config"]
    percent: float
    verdict: Verdict


class ResourceReading(_Model):
    service: str
    kind: Literal["cpu", "memory"]
    percent: float | None  # None: no limit known, `detail` says what was measured
    verdict: Verdict
    detail: str | None = None  # e.g. "512 MiB (no limit known)" or "of one core"


class Traffic(_Model):
    """Request rate now vs the configured baseline offset (summed over the checked services)."""

    now_per_second: float
    baseline_per_second: float | None

    @property
    def ratio(self) -> float | None:
        if not self.baseline_per_second:
            return None
        return self.now_per_second / self.baseline_per_second


class RunbookRef(_Model):
    file: str
    path: list[str]
    rendered: str


class LikelyCause(_Model):
    name: str
    evidence: list[str]
    citation: RunbookRef | None = None


class CheckReport(_Model):
    """One run of the seed-000 investigation. A part is None when it could not run;
    `failures` then says why (part name -> reason)."""

    at: datetime
    parts: list[Part] = Field(default_factory=lambda: list(PARTS))
    service: str | None = None
    services: list[str]
    health: list[ServiceUp] | None = None
    errors: list[ErrorRate] | None = None
    latency: list[LatencyReading] | None = None
    db: DbPool | None = None  # the fullest pool
    pools: list[DbPool] = Field(default_factory=list)  # every pool, fullest first
    resources: list[ResourceReading] | None = None
    traffic: Traffic | None = None
    slos: list[SloReading] = Field(default_factory=list)
    failures: dict[str, str] = Field(default_factory=dict)
    # parts that ran but found nothing to read: part -> what was looked for
    not_found: dict[str, str] = Field(default_factory=dict)
    # servers (of several) that could not be asked: name -> why; their services are left out
    unreachable: dict[str, str] = Field(default_factory=dict)
    # how many services were checked in all (services above may be a ranked selection)
    total_services: int = 0
    likely_cause: LikelyCause | None = None
    primary_service: str | None = None
    query_seconds: dict[str, float] = Field(default_factory=dict)  # per query, for the bench
    wall_seconds: float = 0.0

    @property
    def complete(self) -> bool:
        return not self.failures and not self.unreachable

    @property
    def affected_services(self) -> list[str]:
        """Services that are down or whose error rate or P99 is not OK, in report order."""
        bad: set[str] = set()
        for h in self.health or []:
            if h.up is False:
                bad.add(h.service)
        for service, verdict in self.error_verdicts().items():
            if verdict is not Verdict.OK:
                bad.add(service)
        for lat in self.latency or []:
            if lat.verdict is not Verdict.OK:
                bad.add(lat.service)
        return [s for s in self.services if s in bad]

    def error_verdicts(self) -> dict[str, Verdict]:
        """Each service's verdict on errors: its SLOs' burn-rate verdict where it has an
        SLO, else the worse of its errors/s and error-ratio bands."""
        out = {e.service: e.verdict for e in self.errors or [] if e.per_second is not None}
        judged: dict[str, Verdict] = {}
        for slo in self.slos:
            judged[slo.service] = worst([judged.get(slo.service, Verdict.OK), slo.verdict])
        return {**out, **judged}

    @property
    def down_services(self) -> list[str]:
        return [h.service for h in self.health or [] if h.up is False]

    def worst_verdict(self, service: str) -> Verdict:
        """The worst verdict among the service's readings (down counts as CRITICAL)."""
        return worst(v for v, _ in self.readings().get(service, []))

    def readings(self) -> dict[str, list[tuple[Verdict, str]]]:
        """Every service's graded readings with a line for each, in one pass."""
        out: dict[str, list[tuple[Verdict, str]]] = {}
        for h in self.health or []:
            if h.up is False:
                out.setdefault(h.service, []).append((Verdict.CRITICAL, f"{h.service} is down"))
        with_slo = {slo.service for slo in self.slos}
        for slo in self.slos:
            name = f" ({slo.name})" if sum(x.service == slo.service for x in self.slos) > 1 else ""
            out.setdefault(slo.service, []).append(
                (slo.verdict, f"{slo.service}{name} {slo.describe()} [{slo.verdict}]")
            )
        for e in self.errors or []:
            if e.per_second is not None and e.service not in with_slo:
                out.setdefault(e.service, []).append(
                    (
                        e.verdict,
                        f"{e.service} 5xx at {e.per_second:.2f}/s{e.share} [{e.verdict}]",
                    )
                )
        for lat in self.latency or []:
            if lat.p99_ms is not None:
                out.setdefault(lat.service, []).append(
                    (lat.verdict, f"{lat.service} P99 {round(lat.p99_ms)}ms [{lat.verdict}]")
                )
        for p in self.pools:
            if p.service is not None:
                out.setdefault(p.service, []).append(
                    (p.verdict, f"{p.service} DB pool {round(p.percent)}% [{p.verdict}]")
                )
        for r in self.resources or []:
            if r.percent is not None:
                kind = "CPU" if r.kind == "cpu" else "memory"
                out.setdefault(r.service, []).append(
                    (r.verdict, f"{r.service} {kind} {round(r.percent)}% [{r.verdict}]")
                )
        return out

    def findings(self, at_least: Verdict) -> list[str]:
        """Plain lines for every reading at or above `at_least` (services, then pools)."""
        index = self.readings()
        lines = [
            text for s in self.services for v, text in index.get(s, []) if v.at_least(at_least)
        ]
        for p in self.pools:
            if p.service is None and p.verdict.at_least(at_least):
                name = f" {p.name}" if p.name else ""
                lines.append(
                    f"database pool{name} {round(p.active)}/{round(p.pool_size)} "
                    f"({round(p.percent)}%) [{p.verdict}]"
                )
        return lines


# --- correlation --------------------------------------------------------------------------


class CorrelationRow(_Model):
    offset: timedelta
    at: datetime
    errors_per_second: float | None
    db_active: float | None
    pool_size: float
    db_percent: float | None
    latency_p99_ms: float | None
    incident: bool = False  # the turning point: first row where all three signals are >= HIGH


class Correlation(_Model):
    service: str
    start: datetime
    end: datetime
    step: timedelta
    rows: list[CorrelationRow]
    failures: dict[str, str] = Field(default_factory=dict)

    @property
    def turning_point(self) -> CorrelationRow | None:
        return next((r for r in self.rows if r.incident), None)


# --- cascade ------------------------------------------------------------------------------


class CascadeNode(_Model):
    name: str
    kind: Literal["service", "database"]
    verdict: Verdict | None  # None: nothing could be measured
    error_rate: float | None = None
    latency_p99_ms: float | None = None
    db: DbPool | None = None


class Cascade(_Model):
    chain: list[CascadeNode]
    origin: str | None  # the deepest unhealthy node: where the failure starts
    report: CheckReport


# --- free-form query -----------------------------------------------------------------------


class QuerySeries(_Model):
    labels: dict[str, str]
    value: str  # formatted


class QueryResult(_Model):
    promql: str
    at: datetime
    result_type: Literal["vector", "scalar", "matrix", "string"]
    series: list[QuerySeries]
    total: int
    truncated: bool
