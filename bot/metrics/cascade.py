"""The seed's dependency cascade: the chain of services in trouble down to the database,
and where the failure starts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.metrics.crossings import first_crossings
from bot.metrics.models import Cascade, CascadeNode, Verdict, worst

if TYPE_CHECKING:
    from bot.metrics.reader import MetricsReader


async def cascade(svc: MetricsReader, at: datetime | None = None) -> Cascade:
    """The chain of services in trouble down to the database, and where it starts.
    With `dependencies` in METRICS_CONFIG the chain is that graph; otherwise the
    services in trouble are ordered by when each crossed its threshold: the first to
    fail sits next to the database, its callers follow."""
    report = await svc.check(at=at)
    errors = {e.service: e for e in report.errors or []}
    lat = {x.service: x for x in report.latency or []}
    down = set(report.down_services)
    database = svc.config.database_node
    if svc.config.dependencies:
        names = svc.config.dependency_chain()
    else:
        index = report.readings()
        troubled = [
            s for s in report.services if worst(v for v, _ in index.get(s, [])) is not Verdict.OK
        ]
        troubled = [
            s
            for s in troubled
            if s in down
            or (errors.get(s) and errors[s].verdict is not Verdict.OK)
            or (lat.get(s) and lat[s].verdict is not Verdict.OK)
        ][:5]
        crossed = await first_crossings(svc, troubled, report.at, level=Verdict.ELEVATED)
        far_future = report.at + timedelta(days=1)

        def began(s: str) -> tuple[datetime, float]:
            rate = errors[s].per_second or 0.0 if s in errors else 0.0
            return crossed.get(s, far_future), -rate

        order = sorted(troubled, key=began)
        names = list(reversed(order))
        if report.pools:
            names.append(database)
    chain: list[CascadeNode] = []
    for name in names:
        if name == database:
            chain.append(
                CascadeNode(
                    name=name,
                    kind="database",
                    verdict=report.db.verdict if report.db else None,
                    db=report.db,
                )
            )
            continue
        e, la = errors.get(name), lat.get(name)
        verdicts = [v.verdict for v in (e, la) if v is not None]
        if name in down:
            verdicts.append(Verdict.CRITICAL)
        node_verdict = max(verdicts, key=lambda v: v.rank) if verdicts else None
        chain.append(
            CascadeNode(
                name=name,
                kind="service",
                verdict=node_verdict,
                error_rate=e.per_second if e else None,
                latency_p99_ms=la.p99_ms if la else None,
            )
        )
    origin = next(
        (
            node.name
            for node in reversed(chain)
            if node.verdict is not None and node.verdict is not Verdict.OK
        ),
        None,
    )
    return Cascade(chain=chain, origin=origin, report=report)
