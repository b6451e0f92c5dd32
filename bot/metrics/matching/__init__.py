"""The one matcher: walks the convention tables (bot/metrics/conventions/) over what a
Prometheus holds and binds each check to the families found. Pure: the catalog it reads
was fetched by discovery (bot/metrics/discovery.py), in the rounds planned by
`families_to_label` and `labels_to_value`.
"""

from __future__ import annotations

from bot.metrics.bindings import Bindings, UpBinding
from bot.metrics.config import MetricsConfig
from bot.metrics.matching.catalog import (
    Catalog,
    choose_service_label,
    families_to_label,
    histograms_present,
    labels_to_value,
    service_label_candidates,
)
from bot.metrics.matching.http import bind_latency, bind_requests, latency_looked
from bot.metrics.matching.resources import (
    bind_pools,
    bind_resources,
    pools_looked,
    resource_looked,
)
from bot.metrics.matching.slos import bind_slos

__all__ = ["Catalog", "bind", "choose_service_label", "families_to_label", "labels_to_value"]


def bind(cat: Catalog, config: MetricsConfig) -> Bindings:
    """Bind every check to what the catalog holds, per service; METRICS_CONFIG pins win;
    `missing` says what was looked for where nothing was found at all."""
    c = config
    pinned: list[str] = []
    candidates = service_label_candidates(c)
    req = bind_requests(cat, candidates, c.services)
    missing = dict(req.missing)
    service_label, services = req.service_label, list(req.services)
    anchor = req.anchor
    if anchor is None and (histograms := histograms_present(cat.names)):
        anchor = histograms[0]  # latency without a request counter still names services
        service_label = choose_service_label([(lbl, cat.seen(lbl, anchor)) for lbl in candidates])
        if service_label is not None:
            services = sorted(cat.seen(service_label, anchor))
    if c.service_label:
        service_label = c.service_label
        pinned.append("service_label")
    if c.services:
        services = list(c.services)
        pinned.append("services")
    if service_label is None:
        where = anchor or "the request metrics"
        missing["services"] = (
            f"no label naming services on {where} (looked for {', '.join(candidates)})"
        )
    known = set(services)
    labels = list(dict.fromkeys([*req.labels, *([service_label] if service_label else [])]))

    requests = req.bindings
    if c.checks.requests is not None:
        requests = list(c.checks.requests)
        missing = {k: v for k, v in missing.items() if not k.startswith("requests")}
        pinned.append("requests")

    latency, skipped = bind_latency(cat, requests, services, candidates)
    if c.checks.latency is not None:
        latency = list(c.checks.latency)
        pinned.append("latency")
    elif not latency:
        extra = f"; skipped {', '.join(skipped)}" if skipped else ""
        by = f" by {service_label}" if service_label else ""
        missing["latency"] = (
            f"no latency histogram{by} found (looked for {latency_looked()}{extra})"
        )

    pools = bind_pools(cat, labels, known)
    if c.checks.pools is not None:
        pools = list(c.checks.pools)
        pinned.append("db")
    elif not pools:
        missing["db"] = f"no database pool metrics found (looked for {', '.join(pools_looked())})"

    cpu = bind_resources(cat, "cpu", labels, known)
    memory = bind_resources(cat, "memory", labels, known)
    for kind, found, pin in (("cpu", cpu, c.checks.cpu), ("memory", memory, c.checks.memory)):
        if pin is not None:
            found[:] = list(pin)
            pinned.append(kind)
        elif not found:
            what = "CPU" if kind == "cpu" else "memory"
            missing[kind] = (
                f"no {what} metrics for these services (looked for {resource_looked(kind)})"  # type: ignore[arg-type]
            )

    up = _bind_up(cat, labels, known)
    if c.checks.up is not None:
        up = list(c.checks.up)
        pinned.append("up")
    elif not up:
        by = f"{service_label} or job" if service_label else "job"
        missing["up"] = f"no `up` series name these services (looked for up by {by})"

    slos = bind_slos(cat, labels, known)

    notes: list[str] = []
    if not cat.metadata:
        notes.append("no metadata (/api/v1/metadata is empty): units from the names' suffixes")
    return Bindings(
        service_label=service_label,
        services=services,
        requests=requests,
        latency=latency,
        pools=pools,
        cpu=cpu,
        memory=memory,
        up=up,
        slos=slos,
        missing=missing,
        notes=notes,
        pinned=pinned,
    )


def _bind_up(cat: Catalog, labels: list[str], known: set[str]) -> list[UpBinding]:
    if "up" not in cat.names:
        return []
    left = set(known)
    found: list[UpBinding] = []
    for lbl in [*labels, *(["job"] if "job" not in labels else [])]:
        mine = cat.seen(lbl, "up") & left
        if mine:
            found.append(UpBinding(key_label=lbl, services=sorted(mine)))
            left -= mine
    return found
