"""Configuration of the metric checks: thresholds, names, PromQL templates, services, graph.

`load_config()` returns the defaults (``defaults.yml`` next to this file): thresholds,
windows and where discovery looks. `load_config(path)` deep-merges a YAML file over them;
its `service_label`, `services` and `checks` pin what discovery would otherwise find.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.metrics.bindings import (
    LatencyBinding,
    PoolBinding,
    RequestsBinding,
    ResourceBinding,
    UpBinding,
    as_list,
)
from bot.metrics.models import Verdict

_NAME = re.compile(r"^[A-Za-z0-9_:-]+$")
_DURATION = re.compile(r"^\d+(ms|s|m|h|d)$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bands(_Model):
    """Lower bounds (inclusive) of ELEVATED, HIGH and CRITICAL; below `elevated` is OK."""

    elevated: float
    high: float
    critical: float

    @model_validator(mode="after")
    def _ordered(self) -> Bands:
        if not self.elevated <= self.high <= self.critical:
            raise ValueError("bands must satisfy elevated <= high <= critical")
        return self

    def verdict(self, value: float) -> Verdict:
        if value >= self.critical:
            return Verdict.CRITICAL
        if value >= self.high:
            return Verdict.HIGH
        if value >= self.elevated:
            return Verdict.ELEVATED
        return Verdict.OK


class Thresholds(_Model):
    error_rate: Bands
    error_ratio_percent: Bands
    latency_p99_ms: Bands
    db_pool_percent: Bands
    cpu_percent: Bands
    memory_percent: Bands


class PrometheusSettings(_Model):
    url: str
    query_timeout_seconds: float = Field(gt=0)
    max_series: int = Field(ge=1)


class DiscoverySettings(_Model):
    # The first of these labels with values on the request metrics names the services.
    service_labels: list[str] = Field(min_length=1)
    # How far back discovery looks for series (services that sent nothing are left out).
    lookback: str = "1h"

    @field_validator("lookback")
    @classmethod
    def _lookback(cls, v: str) -> str:
        if not _DURATION.match(v):
            raise ValueError(f"{v!r} is not a Prometheus duration like 1h")
        return v


class PinnedChecks(_Model):
    """Checks fixed in METRICS_CONFIG; discovery fills in the rest. Each is a list (a
    mixed fleet reads services from several families); one mapping is read as a list of
    one, as files written before fleets were mixed have it."""

    requests: list[RequestsBinding] | None = None
    latency: list[LatencyBinding] | None = None
    pools: list[PoolBinding] | None = None
    cpu: list[ResourceBinding] | None = None
    memory: list[ResourceBinding] | None = None
    up: list[UpBinding] | None = None

    @field_validator("requests", "latency", "cpu", "memory", "up", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return as_list(value)


class SloConfig(_Model):
    """A service's SLO given in METRICS_CONFIG: the objective in percent of requests that
    succeed and the window it is judged over; the bot computes the error ratio from the
    service's request family."""

    objective: float = Field(gt=0, lt=100)
    window: str = "30d"

    @field_validator("window")
    @classmethod
    def _window(cls, v: str) -> str:
        if not _DURATION.match(v):
            raise ValueError(f"{v!r} is not a Prometheus duration like 30d")
        return v


class Signature(_Model):
    pool_percent: float
    runbook_keywords: list[str]
    traffic_spike_keywords: list[str]


class MetricsConfig(_Model):
    prometheus: PrometheusSettings
    discovery: DiscoverySettings
    rate_window: str
    traffic_baseline_offset: str
    traffic_spike_ratio: float = Field(gt=0)
    pool_size: int = Field(ge=1)
    thresholds: Thresholds
    # Pins (what `incident-bot metrics discover --write` emits); unset = discovered.
    service_label: str | None = None
    services: list[str] | None = None
    checks: PinnedChecks = Field(default_factory=PinnedChecks)
    # Who calls whom (caller -> callees) for the cascade; empty = inferred from which
    # service crossed its threshold first.
    dependencies: dict[str, list[str]] = Field(default_factory=dict)
    primary_service: str | None = None
    # SLOs by service (`checkout-api: {objective: 99.9, window: 30d}`); they win over the
    # SLOs Sloth or Pyrra recorded for the same service.
    slos: dict[str, SloConfig] = Field(default_factory=dict)
    database_node: str
    signature: Signature

    @field_validator("services")
    @classmethod
    def _service_names(cls, v: list[str] | None) -> list[str] | None:
        for name in v or []:
            if not _NAME.match(name):
                raise ValueError(f"service name {name!r} must match {_NAME.pattern}")
        return v

    @field_validator("rate_window", "traffic_baseline_offset")
    @classmethod
    def _duration(cls, v: str) -> str:
        if not _DURATION.match(v):
            raise ValueError(f"{v!r} is not a Prometheus duration like 1m")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> MetricsConfig:
        if self.services and self.primary_service and self.primary_service not in self.services:
            raise ValueError(f"primary_service {self.primary_service!r} is not in services")
        if self.services:
            known = {*self.services, self.database_node}
            for caller, callees in self.dependencies.items():
                for node in (caller, *callees):
                    if node not in known:
                        raise ValueError(
                            f"dependency node {node!r} is neither a service nor the database"
                        )
        return self

    def dependency_chain(self) -> list[str]:
        """The longest caller → callee path, e.g. [storefront, checkout-api, database]."""
        best: list[str] = []

        def walk(node: str, path: list[str]) -> None:
            nonlocal best
            if len(path) > len(best):
                best = list(path)
            for nxt in self.dependencies.get(node, []):
                if nxt not in path:
                    walk(nxt, [*path, nxt])

        callees = {c for cs in self.dependencies.values() for c in cs}
        roots = [n for n in self.dependencies if n not in callees] or list(self.dependencies)
        for root in roots:
            walk(root, [root])
        return best


# Mappings an override replaces as a whole instead of merging into.
_REPLACED = frozenset({"dependencies", "slos"})


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if key not in _REPLACED and isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def default_config_data() -> dict[str, Any]:
    text = resources.files("bot.metrics").joinpath("defaults.yml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def load_config(path: str | Path | None = None) -> MetricsConfig:
    """The defaults, with the YAML mapping at `path` (if any) deep-merged over them
    (lists and the `dependencies` mapping are replaced, not merged)."""
    data = default_config_data()
    if path is not None:
        override = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(override, dict):
            raise ValueError(f"{path}: the metrics configuration must be a YAML mapping")
        data = _deep_merge(data, override)
    return MetricsConfig.model_validate(data)
