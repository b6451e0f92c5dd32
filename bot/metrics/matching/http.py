"""Requests, errors and latency: each service bound to the request family its own series
use (the first in convention order when it is in several), with that family's service
label and status label, and to a latency family: its request family's own histogram,
else any histogram or 0.99 summary that names it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from bot.metrics.bindings import LatencyBinding, RequestsBinding
from bot.metrics.conventions import latency_families, request_families
from bot.metrics.matching.catalog import (
    BY_NAME,
    Catalog,
    choose_service_label,
    histograms_present,
    requests_present,
    summaries_present,
)
from bot.metrics.units import unit_from_metadata, unit_from_name


@dataclass
class Requests:
    """What the request families gave: bindings, the services in order found, the first
    family's service label, and what was looked for where nothing was found."""

    bindings: list[RequestsBinding] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    service_label: str | None = None
    anchor: str | None = None  # the family services were first read from
    labels: list[str] = field(default_factory=list)  # every family's service label, in order
    missing: dict[str, str] = field(default_factory=dict)


def bind_requests(
    cat: Catalog, candidates: list[str], pinned_services: list[str] | None
) -> Requests:
    out = Requests()
    taken: set[str] = set()
    allowed = set(pinned_services) if pinned_services else None
    for conv, req in requests_present(cat.names):
        label = choose_service_label([(lbl, cat.seen(lbl, req.counter)) for lbl in candidates])
        if out.anchor is None:
            out.anchor = req.counter
        if label is None:
            continue
        mine = sorted(
            s for s in cat.seen(label, req.counter) - taken if allowed is None or s in allowed
        )
        if not mine:
            continue
        if out.service_label is None:
            out.service_label = label
        out.labels.append(label)
        taken.update(mine)
        out.services += mine
        status = next((s for s in req.statuses if (s.label, req.counter) in cat.values), None)
        if status is None:
            looked = ", ".join(s.label for s in req.statuses)
            out.missing[f"requests {req.counter}"] = (
                f"{req.counter} has no status label (looked for {looked})"
            )
            continue
        out.bindings.append(
            RequestsBinding(
                convention=conv.label(req),
                metric=req.counter,
                status_label=status.label,
                error_match=status.reads(cat.seen(status.label, req.counter)),
                service_label=label,
                services=mine,
            )
        )
    if out.anchor is None:
        looked = ", ".join(r.counter for _, r in request_families())
        out.missing["requests"] = f"no request counter found (looked for {looked})"
    elif not out.bindings and out.missing:
        out.missing["requests"] = "; ".join(out.missing.values())
    out.services = sorted(out.services)
    return out


def latency_convention(metric: str) -> str:
    for conv, req in request_families():
        if req.histogram == metric:
            return conv.label(req)
    for kind in ("histogram", "summary"):
        for conv, lat in latency_families(kind):
            if lat.metric == metric:
                return conv.label(lat)
    return BY_NAME


def _unit(
    metric: str, cat: Catalog
) -> tuple[Literal["seconds", "milliseconds", "microseconds"] | None, Literal["metadata", "name"]]:
    unit = unit_from_metadata(metric, cat.metadata)
    if unit is not None:
        return unit, "metadata"
    return unit_from_name(metric), "name"


def bind_latency(
    cat: Catalog,
    requests: list[RequestsBinding],
    services: Iterable[str],
    candidates: list[str],
) -> tuple[list[LatencyBinding], list[str]]:
    """Latency bindings for `services`, and what was skipped (no unit known)."""
    left = set(services)
    own = {r.metric: r for r in requests}
    order: list[tuple[str, str | None]] = []  # (metric, the label to read it by, if fixed)
    for _, req in request_families():
        if req.counter in own and req.histogram in cat.names:
            order.append((req.histogram or "", own[req.counter].service_label))
    order += [(m, None) for m in histograms_present(cat.names) if m not in {o for o, _ in order}]
    found: list[LatencyBinding] = []
    skipped: list[str] = []
    for metric, fixed in order:
        label = fixed if fixed in cat.labels(metric) else _label(cat, metric, candidates)
        mine = sorted(cat.seen(label, metric) & left) if label else []
        if not mine:
            continue
        unit, source = _unit(metric, cat)
        if unit is None:
            skipped.append(f"{metric} (no unit in its name or metadata)")
            continue
        found.append(
            LatencyBinding(
                convention=latency_convention(metric),
                metric=metric,
                unit=unit,
                unit_from=source,
                service_label=label,
                services=mine,
            )
        )
        left -= set(mine)
    for metric in summaries_present(cat.names):
        label = _label(cat, metric, candidates)
        unit, source = _unit(metric, cat)
        mine = sorted(cat.seen(label, metric) & left) if label else []
        if unit and mine and "quantile" in cat.labels(metric):
            found.append(
                LatencyBinding(
                    convention=latency_convention(metric),
                    metric=metric,
                    kind="summary",
                    unit=unit,
                    unit_from=source,
                    service_label=label,
                    services=mine,
                )
            )
            left -= set(mine)
    return found, skipped


def _label(cat: Catalog, metric: str, candidates: list[str]) -> str | None:
    return choose_service_label([(lbl, cat.seen(lbl, metric)) for lbl in candidates])


def latency_looked() -> str:
    return ", ".join(dict.fromkeys(lat.metric for _, lat in latency_families("histogram")))
