"""Which services have SLOs that Sloth or Pyrra record: from the rules the server
evaluates (/api/v1/rules) and from the recorded series' label values, so rules not yet
evaluated and stores without a rules API (VictoriaMetrics) both count."""

from __future__ import annotations

from typing import Any, Protocol

from bot.metrics.bindings import SloBinding
from bot.metrics.slos import PYRRA_BURN, PYRRA_TARGET, SLOTH_OBJECTIVE, SLOTH_RATIO, seconds


class Catalog(Protocol):
    """What these rounds read of discovery's catalog (bot/metrics/matching/catalog.py)."""

    names: set[str]
    rules: list[dict[str, Any]]

    def labels(self, metric: str) -> set[str]: ...

    def seen(self, label: str, metric: str) -> set[str]: ...


def pyrra_burn_metrics(names: set[str]) -> list[str]:
    """One recorded burn-rate series per Pyrra SLO metric (its shortest window)."""
    shortest: dict[str, tuple[float, str]] = {}
    for name in names:
        m = PYRRA_BURN.match(name)
        if m:
            w = seconds(m.group("window"))
            if m.group("metric") not in shortest or w < shortest[m.group("metric")][0]:
                shortest[m.group("metric")] = (w, name)
    return sorted(name for _, name in shortest.values())


def _shortest(burn_metrics: list[str], recorded: list[dict[str, Any]]) -> list[str]:
    names = set(burn_metrics) | {r["name"] for r in recorded}
    return pyrra_burn_metrics(names)


def slo_families(names: set[str]) -> list[str]:
    """Round 2: the SLO series whose label names discovery needs."""
    found = [SLOTH_OBJECTIVE] if SLOTH_OBJECTIVE in names else []
    return found + pyrra_burn_metrics(names)


def slo_asks(cat: Catalog, candidates: list[str]) -> list[tuple[str, str]]:
    """Round 3: Sloth's service label; the labels naming services on Pyrra's series."""
    asks: list[tuple[str, str]] = []
    if SLOTH_OBJECTIVE in cat.names and "sloth_service" in cat.labels(SLOTH_OBJECTIVE):
        asks.append(("sloth_service", SLOTH_OBJECTIVE))
    for metric in pyrra_burn_metrics(cat.names):
        asks += [(lbl, metric) for lbl in candidates if lbl in cat.labels(metric)]
    return asks


def bind_slos(cat: Catalog, labels: list[str], known: set[str]) -> list[SloBinding]:
    found: list[SloBinding] = []
    lowered = {k.lower(): k for k in known}

    def ours(values: set[str]) -> set[str]:
        return {lowered[v.lower()] for v in values if v.lower() in lowered}

    sloth = ours(cat.seen("sloth_service", SLOTH_OBJECTIVE))
    for rule in cat.rules:
        if rule["name"] == SLOTH_OBJECTIVE or rule["name"].startswith(SLOTH_RATIO):
            sloth |= ours({rule["labels"].get("sloth_service", "")})
    if sloth:
        found.append(SloBinding(kind="sloth", services=sorted(sloth)))

    recorded = [r for r in cat.rules if r["type"] == "recording" and PYRRA_BURN.match(r["name"])]
    burn_metrics = pyrra_burn_metrics(cat.names)
    for label in labels:
        services = set()
        for metric in burn_metrics:
            services |= ours(cat.seen(label, metric))
        for rule in recorded:
            services |= ours({rule["labels"].get(label, "")})
        if services:
            objectives: dict[str, float] = {}
            for rule in cat.rules:
                slo = rule["labels"].get("slo")
                target = PYRRA_TARGET.search(rule["query"]) if rule["type"] == "alerting" else None
                if slo and target:
                    objectives[slo] = float(target.group(1))
            found.append(
                SloBinding(
                    kind="pyrra",
                    services=sorted(services),
                    service_label=label,
                    objectives=objectives,
                    metrics=_shortest(burn_metrics, recorded),
                )
            )
            break
    return found
