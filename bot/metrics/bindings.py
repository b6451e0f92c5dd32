"""What each check reads: the metric, labels and unit found by discovery (or pinned in
METRICS_CONFIG), and the PromQL built from them. Pure data, no I/O.

Every query aggregates `by (<key label>)` over all series, so one query answers for every
service at once; the service picks its rows from the result.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CheckName = Literal["requests", "latency", "db", "cpu", "memory", "up"]
CHECK_NAMES: tuple[CheckName, ...] = ("requests", "latency", "db", "cpu", "memory", "up")
QUANTILE_99 = 'quantile="0.99"'
_PLAIN = re.compile(r"^[A-Za-z0-9_:.-]+$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RequestsBinding(_Model):
    """A request counter and how to tell its 5xx series apart."""

    convention: str
    metric: str  # a counter, e.g. http_requests_total or …_seconds_count
    status_label: str
    error_match: str  # a PromQL matcher on status_label, e.g. =~"5.." or ="SERVER_ERROR"

    @property
    def error_selector(self) -> str:
        return f"{self.status_label}{self.error_match}"


class LatencyBinding(_Model):
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
    cpu usage is in cores, memory in bytes; `ratio` means usage is already 0..1."""

    source: str
    usage: str  # metric
    usage_kind: Literal["counter", "gauge", "ratio"]
    limit: str | None = None  # metric
    limit_filter: str = ""  # e.g. resource="cpu"
    key_label: str
    usage_filter: str = ""


class UpBinding(_Model):
    metric: str = "up"
    key_label: str


class Bindings(_Model):
    """Everything the checks read. A check that is None was not found; `missing` says
    what was looked for."""

    service_label: str | None
    services: list[str]
    requests: RequestsBinding | None = None
    latency: LatencyBinding | None = None
    pools: list[PoolBinding] = Field(default_factory=list)
    cpu: ResourceBinding | None = None
    memory: ResourceBinding | None = None
    up: UpBinding | None = None
    missing: dict[str, str] = Field(default_factory=dict)
    pinned: list[str] = Field(default_factory=list)  # what METRICS_CONFIG fixed
    discovered_at: datetime | None = None
    seconds: float = 0.0  # how long discovery took


def _matchers(*parts: str) -> str:
    inner = ", ".join(p for p in parts if p)
    return f"{{{inner}}}" if inner else ""


def service_selector(label: str | None, services: list[str] | None) -> str:
    """`label=~"a|b"` for a few plain names; "" (all series) otherwise."""
    if not label or not services or not all(_PLAIN.match(s) for s in services):
        return ""
    if len(services) == 1:
        return f'{label}="{services[0]}"'
    return f'{label}=~"{"|".join(re.escape(s).replace(chr(92), chr(92) * 2) for s in services)}"'


class Query(BaseModel):
    """One PromQL query and the label whose values name its rows."""

    model_config = ConfigDict(frozen=True)

    promql: str
    key: str | None  # None: a single row


def requests_queries(
    b: Bindings, window: str, offset: str, services: list[str] | None
) -> dict[str, Query]:
    r, label = b.requests, b.service_label
    if r is None or label is None:
        return {}
    sel = service_selector(label, services)
    errors = _matchers(sel, r.error_selector)
    return {
        "error_rate": Query(
            promql=f"sum by ({label}) (rate({r.metric}{errors}[{window}]))",
            key=label,
        ),
        "request_rate": Query(
            promql=f"sum by ({label}) (rate({r.metric}{_matchers(sel)}[{window}]))", key=label
        ),
        "request_rate_baseline": Query(
            promql=f"sum by ({label}) (rate({r.metric}{_matchers(sel)}[{window}] offset {offset}))",
            key=label,
        ),
    }


def latency_query(b: Bindings, window: str, services: list[str] | None) -> Query | None:
    lat, label = b.latency, b.service_label
    if lat is None or label is None:
        return None
    sel = service_selector(label, services)
    if lat.kind == "summary":
        return Query(
            promql=f"max by ({label}) ({lat.metric}{_matchers(sel, QUANTILE_99)})",
            key=label,
        )
    return Query(
        promql=(
            f"histogram_quantile(0.99, sum by ({label}, le) "
            f"(rate({lat.metric}{_matchers(sel)}[{window}])))"
        ),
        key=label,
    )


def pool_queries(pool: PoolBinding) -> dict[str, Query]:
    keys = [k for k in (pool.service_label, pool.pool_label) if k]
    by = f"sum by ({', '.join(keys)}) " if keys else "sum "
    out = {"active": Query(promql=f"{by}({pool.active}{_matchers(pool.filter)})", key=None)}
    if pool.waiting:
        out["waiting"] = Query(promql=f"{by}({pool.waiting}{_matchers(pool.filter)})", key=None)
    if pool.max:
        mkeys = [k for k in (pool.service_label, pool.max_pool_label or pool.pool_label) if k]
        mby = f"max by ({', '.join(mkeys)}) " if mkeys else "max "
        out["max"] = Query(promql=f"{mby}({pool.max})", key=None)
    return out


def resource_queries(res: ResourceBinding, window: str) -> dict[str, Query]:
    key = res.key_label
    nonempty = f'{key}!=""'
    if res.usage_kind == "counter":
        usage = (
            f"sum by ({key}) (rate({res.usage}{_matchers(nonempty, res.usage_filter)}[{window}]))"
        )
    else:
        agg = "max" if res.usage_kind == "ratio" else "sum"
        usage = f"{agg} by ({key}) ({res.usage}{_matchers(nonempty, res.usage_filter)})"
    out = {"usage": Query(promql=usage, key=key)}
    if res.limit:
        out["limit"] = Query(
            promql=f"sum by ({key}) ({res.limit}{_matchers(nonempty, res.limit_filter)})", key=key
        )
    return out


def up_query(b: Bindings) -> Query | None:
    if b.up is None:
        return None
    return Query(promql=f"min by ({b.up.key_label}) ({b.up.metric})", key=b.up.key_label)
