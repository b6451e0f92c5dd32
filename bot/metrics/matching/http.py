"""Requests, errors and latency: which request family, status label and histogram each
service is read from."""

from __future__ import annotations

from typing import Literal

from bot.metrics.bindings import LatencyBinding, RequestsBinding
from bot.metrics.conventions import Convention, Requests, latency_families, request_families
from bot.metrics.matching.catalog import BY_NAME, Catalog, summaries_present
from bot.metrics.units import unit_from_metadata, unit_from_name


def bind_requests(
    cat: Catalog,
    family: tuple[Convention, Requests] | None,
    service_label: str | None,
    missing: dict[str, str],
) -> RequestsBinding | None:
    if family is None:
        looked = ", ".join(r.counter for _, r in request_families())
        missing["requests"] = f"no request counter found (looked for {looked})"
        return None
    if service_label is None:
        return None
    conv, req = family
    status = next((s for s in req.statuses if (s.label, req.counter) in cat.values), None)
    if status is None:
        looked = ", ".join(s.label for s in req.statuses)
        missing["requests"] = f"{req.counter} has no status label (looked for {looked})"
        return None
    return RequestsBinding(
        convention=conv.label(req),
        metric=req.counter,
        status_label=status.label,
        error_match=status.reads(cat.seen(status.label, req.counter)),
    )


def _latency_convention(metric: str) -> str:
    for conv, req in request_families():
        if req.histogram == metric:
            return conv.label(req)
    for kind in ("histogram", "summary"):
        for conv, lat in latency_families(kind):
            if lat.metric == metric:
                return conv.label(lat)
    return BY_NAME


def bind_latency(
    cat: Catalog,
    family: tuple[Convention, Requests] | None,
    histograms: list[str],
    service_label: str | None,
    missing: dict[str, str],
) -> LatencyBinding | None:
    """The request family's own histogram first, then any other with the service label,
    then a summary with a 0.99 quantile."""
    order = list(histograms)
    own = family[1].histogram if family else None
    if own in order:
        order.remove(own)
        order.insert(0, own)
    skipped: list[str] = []
    for metric in order:
        if service_label is None or service_label not in cat.labels(metric):
            continue
        unit = unit_from_metadata(metric, cat.metadata)
        source: Literal["metadata", "name"] = "metadata"
        if unit is None:
            unit, source = unit_from_name(metric), "name"
        if unit is None:
            skipped.append(f"{metric} (no unit in its name or metadata)")
            continue
        return LatencyBinding(
            convention=_latency_convention(metric), metric=metric, unit=unit, unit_from=source
        )
    for metric in summaries_present(cat.names):
        from_meta = unit_from_metadata(metric, cat.metadata)
        unit = from_meta or unit_from_name(metric)
        labels = cat.labels(metric)
        if unit and "quantile" in labels and service_label in labels:
            return LatencyBinding(
                convention=_latency_convention(metric),
                metric=metric,
                kind="summary",
                unit=unit,
                unit_from="metadata" if from_meta else "name",
            )
    looked = ", ".join(dict.fromkeys(lat.metric for _, lat in latency_families("histogram")))
    extra = f"; skipped {', '.join(skipped)}" if skipped else ""
    by = f" by {service_label}" if service_label else ""
    missing["latency"] = f"no latency histogram{by} found (looked for {looked}{extra})"
    return None
