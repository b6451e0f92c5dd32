"""The one matcher: walks the convention tables (bot/metrics/conventions/) over what a
Prometheus holds and binds each check to the families found. Pure: the catalog it reads
was fetched by discovery (bot/metrics/discovery.py), in the rounds planned by
`families_to_label` and `labels_to_value`.
"""

from __future__ import annotations

from bot.metrics.bindings import Bindings, ResourceBinding, UpBinding
from bot.metrics.config import MetricsConfig
from bot.metrics.matching.catalog import (
    Catalog,
    choose_service_label,
    families_to_label,
    histograms_present,
    labels_to_value,
    requests_present,
    service_label_candidates,
)
from bot.metrics.matching.http import bind_latency, bind_requests
from bot.metrics.matching.resources import bind_pools, bind_resource, pools_looked, resource_looked

__all__ = ["Catalog", "bind", "choose_service_label", "families_to_label", "labels_to_value"]


def bind(cat: Catalog, config: MetricsConfig) -> Bindings:
    """Bind every check to what the catalog holds; METRICS_CONFIG pins win; `missing` says
    what was looked for where nothing was found."""
    c = config
    missing: dict[str, str] = {}
    pinned: list[str] = []
    svc_candidates = service_label_candidates(c)
    present = requests_present(cat.names)
    family = present[0] if present else None
    histograms = histograms_present(cat.names)

    anchor = family[1].counter if family else next(iter(histograms), None)
    service_label: str | None = None
    services: list[str] = []
    if anchor is not None:
        service_label = choose_service_label(
            [(lbl, cat.seen(lbl, anchor)) for lbl in svc_candidates]
        )
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
        looked = ", ".join(svc_candidates)
        missing["services"] = f"no label naming services on {where} (looked for {looked})"
    known = set(services)

    requests = bind_requests(cat, family, service_label, missing)
    if c.checks.requests is not None:
        requests = c.checks.requests
        missing.pop("requests", None)
        pinned.append("requests")

    latency = bind_latency(cat, family, histograms, service_label, missing)
    if c.checks.latency is not None:
        latency = c.checks.latency
        missing.pop("latency", None)
        pinned.append("latency")

    pools = bind_pools(cat, service_label, known)
    if c.checks.pools is not None:
        pools = list(c.checks.pools)
        pinned.append("db")
    elif not pools:
        looked = ", ".join(pools_looked())
        missing["db"] = f"no database pool metrics found (looked for {looked})"

    resources: dict[str, ResourceBinding | None] = {}
    for kind in ("cpu", "memory"):
        found = bind_resource(cat, kind, service_label, known)
        pin = getattr(c.checks, kind)
        if pin is not None:
            found = pin
            pinned.append(kind)
        elif found is None:
            what = "CPU" if kind == "cpu" else "memory"
            missing[kind] = (
                f"no {what} metrics for these services (looked for " + resource_looked(kind) + ")"
            )
        resources[kind] = found

    up: UpBinding | None = None
    if "up" in cat.names:
        for lbl in (service_label, "job"):
            if lbl and cat.seen(lbl, "up") & known:
                up = UpBinding(key_label=lbl)
                break
    if c.checks.up is not None:
        up = c.checks.up
        pinned.append("up")
    elif up is None:
        by = f"{service_label} or job" if service_label else "job"
        missing["up"] = f"no `up` series name these services (looked for up by {by})"

    return Bindings(
        service_label=service_label,
        services=services,
        requests=requests,
        latency=latency,
        pools=pools,
        cpu=resources["cpu"],
        memory=resources["memory"],
        up=up,
        missing=missing,
        pinned=pinned,
    )
