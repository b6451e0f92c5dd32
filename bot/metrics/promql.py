"""The PromQL each check runs, built from the bindings. Every query aggregates
`by (<label>)` over all series of one family, so one query answers for every service the
family serves; the service picks its row from the result. Never one query per service."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

from bot.metrics.bindings import (
    Bindings,
    LatencyBinding,
    PoolBinding,
    RequestsBinding,
    ResourceBinding,
    UpBinding,
)

QUANTILE_99 = 'quantile="0.99"'
_PLAIN = re.compile(r"^[A-Za-z0-9_:.-]+$")


class Query(BaseModel):
    """One PromQL query and the label whose values name its rows."""

    model_config = ConfigDict(frozen=True)

    promql: str
    key: str | None  # None: a single row


def matchers(*parts: str) -> str:
    inner = ", ".join(p for p in parts if p)
    return f"{{{inner}}}" if inner else ""


def service_selector(label: str | None, services: list[str] | None) -> str:
    """`label=~"a|b"` for a few plain names; "" (all series) otherwise."""
    if not label or not services or not all(_PLAIN.match(s) for s in services):
        return ""
    if len(services) == 1:
        return f'{label}="{services[0]}"'
    return f'{label}=~"{"|".join(re.escape(s).replace(chr(92), chr(92) * 2) for s in services)}"'


def narrowed(family_services: list[str] | None, wanted: list[str] | None) -> list[str] | None:
    """The services a family's query is narrowed to: None (all) unless `wanted`."""
    if wanted is None:
        return None
    if family_services is None:
        return list(wanted)
    return [s for s in wanted if s in family_services]


def requests_queries(
    b: Bindings, r: RequestsBinding, window: str, offset: str, services: list[str] | None
) -> dict[str, Query]:
    label = b.label_of(r)
    if label is None:
        return {}
    sel = service_selector(label, services)
    errors = matchers(sel, r.error_selector)
    every = matchers(sel)
    return {
        "error_rate": Query(
            promql=f"sum by ({label}) (rate({r.metric}{errors}[{window}]))", key=label
        ),
        "request_rate": Query(
            promql=f"sum by ({label}) (rate({r.metric}{every}[{window}]))", key=label
        ),
        "request_rate_baseline": Query(
            promql=f"sum by ({label}) (rate({r.metric}{every}[{window}] offset {offset}))",
            key=label,
        ),
    }


def latency_query(
    b: Bindings, lat: LatencyBinding, window: str, services: list[str] | None
) -> Query | None:
    label = b.label_of(lat)
    if label is None:
        return None
    sel = service_selector(label, services)
    if lat.kind == "summary":
        return Query(
            promql=f"max by ({label}) ({lat.metric}{matchers(sel, QUANTILE_99)})", key=label
        )
    return Query(
        promql=(
            f"histogram_quantile(0.99, sum by ({label}, le) "
            f"(rate({lat.metric}{matchers(sel)}[{window}])))"
        ),
        key=label,
    )


def pool_queries(pool: PoolBinding) -> dict[str, Query]:
    keys = [k for k in (pool.service_label, pool.pool_label) if k]
    by = f"sum by ({', '.join(keys)}) " if keys else "sum "
    out = {"active": Query(promql=f"{by}({pool.active}{matchers(pool.filter)})", key=None)}
    if pool.waiting:
        out["waiting"] = Query(promql=f"{by}({pool.waiting}{matchers(pool.filter)})", key=None)
    if pool.max:
        mkeys = [k for k in (pool.service_label, pool.max_pool_label or pool.pool_label) if k]
        mby = f"max by ({', '.join(mkeys)}) " if mkeys else "max "
        out["max"] = Query(promql=f"{mby}({pool.max})", key=None)
    return out


def resource_queries(res: ResourceBinding, window: str) -> dict[str, Query]:
    key = res.key_label
    named = f'{key}!=""'
    where = matchers(named, res.usage_filter)
    if res.usage_kind == "counter":
        usage = f"sum by ({key}) (rate({res.usage}{where}[{window}]))"
    else:
        agg = "max" if res.usage_kind == "ratio" else "sum"
        usage = f"{agg} by ({key}) ({res.usage}{where})"
    out = {"usage": Query(promql=usage, key=key)}
    if res.limit:
        limit = res.limit + matchers(named, res.limit_filter)
        if res.limit_skip:
            limit = f"({limit} != {res.limit_skip})"
        out["limit"] = Query(promql=f"sum by ({key}) ({limit})", key=key)
    return out


def up_query(up: UpBinding) -> Query:
    return Query(promql=f"min by ({up.key_label}) ({up.metric})", key=up.key_label)
