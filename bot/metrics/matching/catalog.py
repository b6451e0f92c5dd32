"""What discovery read from a Prometheus, and the plan of what to ask it: round 2 (label
names of every candidate family present) and round 3 (the values of the labels that
decide). Pure: no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.metrics.config import MetricsConfig
from bot.metrics.conventions import (
    Convention,
    Requests,
    Resource,
    latency_families,
    pool_families,
    request_families,
    resource_families,
)
from bot.metrics.matching.slos import slo_asks, slo_families

# A histogram no convention names, found by its name alone.
GENERIC_LATENCY = re.compile(r"^http_\w*(duration|latency)\w*_bucket$")
BY_NAME = "histogram found by name"
# Labels a cAdvisor-style series may carry the service's name in instead of the service label.
JOIN_LABELS = ("container", "app", "app_kubernetes_io_name", "deployment")


@dataclass
class Catalog:
    """What discovery read from Prometheus."""

    names: set[str]
    metadata: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    labels_of: dict[str, set[str]] = field(default_factory=dict)
    values: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    rules: list[dict[str, Any]] = field(default_factory=list)  # /api/v1/rules, flattened

    def labels(self, metric: str | None) -> set[str]:
        return self.labels_of.get(metric or "", set())

    def seen(self, label: str | None, metric: str) -> set[str]:
        return self.values.get((label or "", metric), set())


def choose_service_label(candidates: list[tuple[str, set[str]]]) -> str | None:
    """The first candidate with values; but a label with one value (e.g. a shared scrape
    `job`) gives way to a later one that tells several services apart."""
    with_values = [(lbl, vals) for lbl, vals in candidates if vals]
    if not with_values:
        return None
    first, first_values = with_values[0]
    if len(first_values) == 1:
        for lbl, vals in with_values[1:]:
            if len(vals) > 1:
                return lbl
    return first


def service_label_candidates(config: MetricsConfig) -> list[str]:
    if config.service_label:
        return [config.service_label]
    return list(config.discovery.service_labels)


# --- what to ask in rounds 2 and 3 -------------------------------------------------------


def requests_present(names: set[str]) -> list[tuple[Convention, Requests]]:
    return [(c, r) for c, r in request_families() if r.counter in names]


def histograms_present(names: set[str]) -> list[str]:
    known = list(dict.fromkeys(lat.metric for _, lat in latency_families("histogram")))
    found = [n for n in known if n in names]
    return found + sorted(n for n in names if GENERIC_LATENCY.match(n) and n not in found)


def summaries_present(names: set[str]) -> list[str]:
    return [lat.metric for _, lat in latency_families("summary") if lat.metric in names]


def _resources() -> list[tuple[Convention, Resource]]:
    return [*resource_families("cpu"), *resource_families("memory")]


def families_to_label(names: set[str]) -> list[str]:
    """Round 2: the families whose label names discovery needs."""
    wanted: set[str] = {r.counter for _, r in requests_present(names)}
    wanted.update(histograms_present(names) + summaries_present(names))
    for _, pool in pool_families():
        wanted.update(m for m in (pool.active, pool.max) if m and m in names)
    for _, res in _resources():
        wanted.update(m for m in (res.usage, res.limit) if m and m in names)
    if "up" in names:
        wanted.add("up")
    wanted.update(slo_families(names))
    return sorted(wanted)


def labels_to_value(cat: Catalog, config: MetricsConfig) -> list[tuple[str, str]]:
    """Round 3: the (label, metric) pairs whose values decide: service label candidates on
    every request and latency family, their status labels, and the labels that tie pools,
    CPU, memory and `up` to services."""
    names = cat.names
    svc = service_label_candidates(config)
    asks: list[tuple[str, str]] = []
    for _, req in requests_present(names):
        have = cat.labels(req.counter)
        asks += [(lbl, req.counter) for lbl in svc if lbl in have]
        asks += [(s.label, req.counter) for s in req.statuses if s.label in have]
    for metric in histograms_present(names) + summaries_present(names):
        asks += [(lbl, metric) for lbl in svc if lbl in cat.labels(metric)]
    for _, res in _resources():
        if res.usage in names:
            keys = (*svc, *JOIN_LABELS) if res.joins else svc
            asks += [(lbl, res.usage) for lbl in keys if lbl in cat.labels(res.usage)]
    for _, pool in pool_families():
        if pool.active in names:
            asks += [(lbl, pool.active) for lbl in svc if lbl in cat.labels(pool.active)]
    if "up" in names:
        asks += [(lbl, "up") for lbl in (*svc, "job") if lbl in cat.labels("up")]
    asks += slo_asks(cat, svc)
    return list(dict.fromkeys(asks))
