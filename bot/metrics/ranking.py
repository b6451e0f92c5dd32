"""Ranking: services worst first (the worst verdict, then the sum of verdicts, then the
error rate and P99), with the ones asked for first (an incident's own services)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from bot.metrics.models import CheckReport


class _PerService(Protocol):
    @property
    def service(self) -> str: ...


T = TypeVar("T", bound=_PerService)


def rank(report: CheckReport, first: Sequence[str]) -> list[str]:
    errors = {e.service: e.per_second or 0.0 for e in report.errors or []}
    p99 = {x.service: x.p99_ms or 0.0 for x in report.latency or []}
    index = report.readings()

    def score(s: str) -> tuple[int, int, float, float, str]:
        verdicts = [v for v, _ in index.get(s, [])]
        return (
            -max((v.rank for v in verdicts), default=0),
            -sum(v.rank for v in verdicts),
            -errors.get(s, 0.0),
            -p99.get(s, 0.0),
            s,
        )

    head = [s for s in dict.fromkeys(first) if s in report.services]
    rest = sorted((s for s in report.services if s not in head), key=score)
    return head + rest


def in_rank_order(report: CheckReport, first: Sequence[str], primary: str | None) -> CheckReport:
    """The report with its services and every per-service list in rank order, and its
    primary service: `primary` when checked, else the worst."""
    ranked = rank(report, first)
    order = {s: i for i, s in enumerate(ranked)}

    def ordered(items: list[T] | None) -> list[T] | None:
        return None if items is None else sorted(items, key=lambda x: order[x.service])

    return report.model_copy(
        update={
            "services": ranked,
            "health": ordered(report.health),
            "errors": ordered(report.errors),
            "latency": ordered(report.latency),
            "resources": ordered(report.resources),
            "slos": sorted(report.slos, key=lambda x: (order.get(x.service, len(order)), x.name)),
            "primary_service": primary if primary in ranked else (ranked[0] if ranked else None),
        }
    )
