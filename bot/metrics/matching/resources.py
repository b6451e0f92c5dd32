"""Database pools and CPU/memory: which families are read, tied to services by which label."""

from __future__ import annotations

from typing import Literal

from bot.metrics.bindings import PoolBinding, ResourceBinding
from bot.metrics.conventions import Resource, pool_families, resource_families
from bot.metrics.matching.catalog import JOIN_LABELS, Catalog


def _common_start(a: str, b: str) -> str:
    n = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return a[:n]


def pools_looked() -> list[str]:
    """`hikaricp_connections_*` for a family with waiters, else `active with max`."""
    out: list[str] = []
    for _, p in pool_families():
        if p.waiting:
            out.append(_common_start(p.active, p.waiting) + "*")
        else:
            out.append(f"{p.active} with {p.max}")
    return out


def bind_pools(cat: Catalog, labels: list[str], known: set[str]) -> list[PoolBinding]:
    """Every pool family present; tied to services by the first service label whose
    values on it name known services."""
    pools: list[PoolBinding] = []
    for conv, fam in pool_families():
        if fam.active not in cat.names:
            continue
        active_labels = cat.labels(fam.active)
        max_labels = cat.labels(fam.max)
        pool_label = next((lbl for lbl in fam.pool_labels if lbl in active_labels), None)
        max_pool_label = pool_label
        if fam.max_pool_labels:
            max_pool_label = next((lbl for lbl in fam.max_pool_labels if lbl in max_labels), None)
        elif pool_label is not None and pool_label not in max_labels:
            max_pool_label = None
        tied = next(
            (lbl for lbl in labels if lbl in active_labels and cat.seen(lbl, fam.active) & known),
            None,
        )
        pools.append(
            PoolBinding(
                kind=conv.label(fam),
                active=fam.active,
                max=fam.max if fam.max and fam.max in cat.names else None,
                waiting=fam.waiting if fam.waiting and fam.waiting in cat.names else None,
                pool_label=pool_label,
                max_pool_label=max_pool_label if max_pool_label != pool_label else None,
                service_label=tied,
            )
        )
    return pools


def resource_looked(kind: Literal["cpu", "memory"]) -> str:
    parts: list[str] = []
    for _, res in resource_families(kind):
        text = res.usage + (f" with {res.limit}" if res.limit else "")
        if text not in parts:
            parts.append(text)
    return ", ".join(parts)


def bind_resources(
    cat: Catalog, kind: Literal["cpu", "memory"], labels: list[str], known: set[str]
) -> list[ResourceBinding]:
    """Each service's CPU (or memory) from the first source, in convention order, that
    names it: by one of the families' service labels, or for cAdvisor by a container or
    app label carrying the service's name."""
    left = set(known)
    found: list[ResourceBinding] = []
    for conv, res in resource_families(kind):
        if res.usage not in cat.names or (res.limit and res.limit not in cat.names):
            continue
        keys = list(labels) + ([j for j in JOIN_LABELS if j not in labels] if res.joins else [])
        for key in keys:
            if res.limit and key not in cat.labels(res.limit):
                continue
            mine = cat.seen(key, res.usage) & left
            if not mine:
                continue
            found.append(
                ResourceBinding(
                    source=conv.label(res),
                    usage=res.usage,
                    usage_kind=res.usage_kind,
                    limit=res.limit,
                    limit_filter=res.limit_filter,
                    key_label=key,
                    usage_filter=res.usage_filter if _has_labels(cat, res) else "",
                    limit_skip=res.limit_skip,
                    services=sorted(mine),
                )
            )
            left -= mine
    return found


def _has_labels(cat: Catalog, res: Resource) -> bool:
    """A usage filter names a label (e.g. container); only apply it when the family has it."""
    label = res.usage_filter.split("!", 1)[0].split("=", 1)[0].strip()
    return bool(label) and label in cat.labels(res.usage)
