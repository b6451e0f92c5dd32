"""Readings, verdicts and reports of the metric checks. Pure data: no I/O, no Slack."""

from __future__ import annotations

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
    verdict: Verdict = Verdict.OK


class LatencyReading(_Model):
    service: str
    p99_ms: float | None  # None: no data (e.g. no requests in the window)
    verdict: Verdict = Verdict.OK


class DbPool(_Model):
    active: float
    waiting: float | None
    pool_size: float
    pool_size_source: Literal["metric", "config"]
    percent: float
    verdict: Verdict


class ResourceReading(_Model):
    service: str
    kind: Literal["cpu", "memory"]
    percent: float
    verdict: Verdict


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
    db: DbPool | None = None
    resources: list[ResourceReading] | None = None
    traffic: Traffic | None = None
    failures: dict[str, str] = Field(default_factory=dict)
    likely_cause: LikelyCause | None = None
    primary_service: str | None = None
    query_seconds: dict[str, float] = Field(default_factory=dict)  # per query, for the bench
    wall_seconds: float = 0.0

    @property
    def complete(self) -> bool:
        return not self.failures

    @property
    def affected_services(self) -> list[str]:
        """Services that are down or whose error rate or P99 is not OK, in report order."""
        bad: set[str] = set()
        for h in self.health or []:
            if h.up is False:
                bad.add(h.service)
        for e in self.errors or []:
            if e.verdict is not Verdict.OK:
                bad.add(e.service)
        for lat in self.latency or []:
            if lat.verdict is not Verdict.OK:
                bad.add(lat.service)
        return [s for s in self.services if s in bad]

    @property
    def down_services(self) -> list[str]:
        return [h.service for h in self.health or [] if h.up is False]


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
