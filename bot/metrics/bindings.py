"""What each check reads: the families, labels and unit found by discovery (or pinned in
METRICS_CONFIG) for the services of one Prometheus. Pure data, no I/O; the PromQL built
from them is in promql.py.

A fleet is mixed: each request, latency and resource family names the services it serves
and the label that names them there (`services` None: every service, `service_label`
None: the top-level `service_label`, as pins written before families had their own).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

CheckName = Literal["requests", "latency", "db", "cpu", "memory", "up"]
CHECK_NAMES: tuple[CheckName, ...] = ("requests", "latency", "db", "cpu", "memory", "up")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _PerService(_Model):
    service_label: str | None = None
    services: list[str] | None = None

    def serves(self, service: str) -> bool:
        return self.services is None or service in self.services


class RequestsBinding(_PerService):
    """A request counter and how to tell its 5xx series apart."""

    convention: str
    metric: str  # a counter, e.g. http_requests_total or …_seconds_count
    status_label: str
    error_match: str  # a PromQL matcher on status_label, e.g. =~"5.." or ="SERVER_ERROR"

    @property
    def error_selector(self) -> str:
        return f"{self.status_label}{self.error_match}"


class LatencyBinding(_PerService):
    convention: str
    metric: str  # histogram buckets (…_bucket) or a summary with quantile="0.99"
    kind: Literal["histogram", "summary"] = "histogram"
    unit: Literal["seconds", "milliseconds", "microseconds"]
    unit_from: Literal["metadata", "name", "config"] = "name"

    @property
    def to_ms(self) -> float:
        return {"seconds": 1000.0, "milliseconds": 1.0, "microseconds": 0.001}[self.unit]


class PoolBinding(_Model):
    """One family of connection-pool gauges. `pool_label` names the pool (None: one pool);
    `service_label` ties a pool to a service when the series carry it."""

    kind: str
    active: str
    max: str | None = None
    waiting: str | None = None
    pool_label: str | None = None
    max_pool_label: str | None = None  # when the max metric names the pool differently
    service_label: str | None = None
    filter: str = ""  # extra matchers on every metric, e.g. state="active"


class ResourceBinding(_Model):
    """CPU or memory: usage (and a limit) per key label, as a percent of the limit.
    cpu usage is in cores (or a 0..1 `ratio`), memory in bytes (or a ratio)."""

    source: str
    usage: str  # metric
    usage_kind: Literal["counter", "gauge", "ratio"]
    limit: str | None = None  # metric
    limit_filter: str = ""  # e.g. resource="cpu"
    key_label: str
    usage_filter: str = ""
    limit_skip: str = ""  # a limit value that means "none", e.g. -1 (JVM max)
    services: list[str] | None = None

    def serves(self, service: str) -> bool:
        return self.services is None or service in self.services


class UpBinding(_Model):
    metric: str = "up"
    key_label: str
    services: list[str] | None = None

    def serves(self, service: str) -> bool:
        return self.services is None or service in self.services


class SloBinding(_Model):
    """SLOs recorded in Prometheus by a generator: Sloth (`slo:sli_error:ratio_rate<w>`,
    `slo:objective:ratio`, labels `sloth_service`/`sloth_slo`) or Pyrra
    (`<metric>:burnrate<w>` with `slo` and the selector's labels, `pyrra_objective`).
    `services`: the services with one; `service_label`: where Pyrra's series name them;
    `objectives`: Pyrra objectives read from its alerting rules when `pyrra_objective`
    is not recorded."""

    kind: Literal["sloth", "pyrra"]
    services: list[str]
    service_label: str | None = None
    objectives: dict[str, float] = Field(default_factory=dict)
    metrics: list[str] = Field(default_factory=list)  # Pyrra: each SLO's shortest burn rate


class _Serving(Protocol):
    @property
    def services(self) -> list[str] | None: ...


def owners(families: Sequence[_Serving], services: Iterable[str]) -> dict[str, int]:
    """Each service -> the index of the first family that serves it (those none serves are
    left out): what `requests_for` and friends answer, for many services at once."""
    sets = [None if f.services is None else set(f.services) for f in families]
    out: dict[str, int] = {}
    for service in services:
        for i, served in enumerate(sets):
            if served is None or service in served:
                out[service] = i
                break
    return out


def as_list(value: Any) -> Any:
    """A pin written as one mapping (before fleets were mixed) reads as a list of one."""
    return [value] if isinstance(value, dict | BaseModel) else value


class Bindings(_Model):
    """Everything the checks read in one Prometheus. A check with nothing bound was not
    found; `missing` says what was looked for, `notes` what discovery had to assume."""

    service_label: str | None
    services: list[str]
    requests: list[RequestsBinding] = Field(default_factory=list)
    latency: list[LatencyBinding] = Field(default_factory=list)
    pools: list[PoolBinding] = Field(default_factory=list)
    cpu: list[ResourceBinding] = Field(default_factory=list)
    memory: list[ResourceBinding] = Field(default_factory=list)
    up: list[UpBinding] = Field(default_factory=list)
    slos: list[SloBinding] = Field(default_factory=list)
    missing: dict[str, str] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    pinned: list[str] = Field(default_factory=list)  # what METRICS_CONFIG fixed
    discovered_at: datetime | None = None
    seconds: float = 0.0  # how long discovery took

    @field_validator("requests", "latency", "cpu", "memory", "up", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return as_list(value)

    def label_of(self, family: _PerService) -> str | None:
        return family.service_label or self.service_label

    def requests_for(self, service: str) -> RequestsBinding | None:
        return next((r for r in self.requests if r.serves(service)), None)

    def latency_for(self, service: str) -> LatencyBinding | None:
        return next((lat for lat in self.latency if lat.serves(service)), None)

    def resource_for(self, kind: str, service: str) -> ResourceBinding | None:
        found: list[ResourceBinding] = self.cpu if kind == "cpu" else self.memory
        return next((r for r in found if r.serves(service)), None)

    def up_for(self, service: str) -> UpBinding | None:
        return next((u for u in self.up if u.serves(service)), None)
