"""Configuration of the metric checks: thresholds, names, PromQL templates, services, graph.

`load_config()` returns the seed-000 defaults (``defaults.yml`` next to this file);
`load_config(path)` deep-merges a YAML file over them.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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
    latency_p99_ms: Bands
    db_pool_percent: Bands
    cpu_percent: Bands
    memory_percent: Bands


class PrometheusSettings(_Model):
    url: str
    query_timeout_seconds: float = Field(gt=0)
    max_series: int = Field(ge=1)


class Labels(_Model):
    service: str
    status: str


class MetricNames(_Model):
    up: str
    requests_total: str
    latency_bucket: str
    db_active: str
    db_waiting: str
    db_max: str
    cpu: str
    memory: str


class Queries(_Model):
    up: str
    error_rate: str
    request_rate: str
    request_rate_baseline: str
    latency_p99: str
    db_active: str
    db_waiting: str
    db_max: str
    cpu: str
    memory: str


class Signature(_Model):
    pool_percent: float
    runbook_keywords: list[str]
    traffic_spike_keywords: list[str]


class MetricsConfig(_Model):
    prometheus: PrometheusSettings
    labels: Labels
    metrics: MetricNames
    queries: Queries
    rate_window: str
    traffic_baseline_offset: str
    traffic_spike_ratio: float = Field(gt=0)
    pool_size: int = Field(ge=1)
    thresholds: Thresholds
    services: list[str] = Field(min_length=1)
    primary_service: str
    dependencies: dict[str, list[str]]
    database_node: str
    signature: Signature

    @field_validator("services")
    @classmethod
    def _service_names(cls, v: list[str]) -> list[str]:
        for name in v:
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
        if self.primary_service not in self.services:
            raise ValueError(f"primary_service {self.primary_service!r} is not in services")
        known = {*self.services, self.database_node}
        for caller, callees in self.dependencies.items():
            for node in (caller, *callees):
                if node not in known:
                    raise ValueError(
                        f"dependency node {node!r} is neither a service nor the database"
                    )
        return self

    def selector(self, services: list[str]) -> str:
        """Label matcher for these services (names are validated, so no escaping is needed)."""
        for name in services:
            if not _NAME.match(name):
                raise ValueError(f"bad service name {name!r}")
        if len(services) == 1:
            return f'{self.labels.service}="{services[0]}"'
        return f'{self.labels.service}=~"{"|".join(services)}"'

    def promql(self, name: str, services: list[str]) -> str:
        """Render the query template `name` for `services`."""
        template: str = getattr(self.queries, name)
        values = {
            "selector": self.selector(services),
            "service": self.labels.service,
            "status": self.labels.status,
            "window": self.rate_window,
            "offset": self.traffic_baseline_offset,
            **self.metrics.model_dump(),
        }
        return Template(template).substitute(values)

    def dependency_chain(self) -> list[str]:
        """The longest caller → callee path, e.g. [web-service, api-server, database]."""
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
_REPLACED = frozenset({"dependencies"})


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
