"""The metric conventions discovery knows, one table per module. Adding a convention is
adding a module with a `CONVENTION` table here (and a scenario that tests it).

The order says which convention wins where several offer the same reading: CPU and
memory from cAdvisor against kube-state-metrics limits before a process's own gauges;
OpenTelemetry's request families before Micrometer's before the client libraries'.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from bot.metrics.conventions import (
    cadvisor,
    client_defaults,
    hikaricp,
    micrometer,
    opentelemetry,
    pgbouncer,
    postgres_exporter,
    process,
    seed,
)
from bot.metrics.conventions.table import (
    CODE_OR_CLASS,
    SERVER_ERROR,
    Convention,
    Latency,
    Pool,
    Requests,
    Resource,
    Status,
)

CONVENTIONS: tuple[Convention, ...] = (
    cadvisor.CONVENTION,
    opentelemetry.CONVENTION,
    micrometer.CONVENTION,
    client_defaults.CONVENTION,
    hikaricp.CONVENTION,
    postgres_exporter.CONVENTION,
    pgbouncer.CONVENTION,
    process.CONVENTION,
    seed.CONVENTION,
)


def request_families() -> Iterator[tuple[Convention, Requests]]:
    for c in CONVENTIONS:
        for r in c.requests:
            yield c, r


def latency_families(kind: Literal["histogram", "summary"]) -> Iterator[tuple[Convention, Latency]]:
    for c in CONVENTIONS:
        for lat in c.latency:
            if lat.kind == kind:
                yield c, lat


def pool_families() -> Iterator[tuple[Convention, Pool]]:
    for c in CONVENTIONS:
        for p in c.pools:
            yield c, p


def resource_families(kind: Literal["cpu", "memory"]) -> Iterator[tuple[Convention, Resource]]:
    for c in CONVENTIONS:
        for r in c.cpu if kind == "cpu" else c.memory:
            yield c, r


__all__ = [
    "CODE_OR_CLASS",
    "CONVENTIONS",
    "SERVER_ERROR",
    "Convention",
    "Latency",
    "Pool",
    "Requests",
    "Resource",
    "Status",
    "latency_families",
    "pool_families",
    "request_families",
    "resource_families",
]
