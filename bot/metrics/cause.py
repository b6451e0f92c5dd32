"""The likely cause seed 000 names: database connection pool exhaustion (a pool at the
signature's percent while error rates and P99 are up), with its evidence and the runbook
section that covers it (the traffic-spike root cause when the request rate jumped)."""

from __future__ import annotations

from bot.metrics.config import MetricsConfig
from bot.metrics.models import CheckReport, LikelyCause, RunbookRef, Verdict
from bot.runbooks import RunbookLibrary

LIKELY_CAUSE_POOL = "database connection pool exhaustion"


def likely_cause(
    report: CheckReport, config: MetricsConfig, runbooks: RunbookLibrary | None
) -> LikelyCause | None:
    db = report.db
    sig = config.signature
    if db is None or round(db.percent) < sig.pool_percent:
        return None
    bad_errors = [e for e in report.errors or [] if e.verdict is not Verdict.OK]
    bad_latency = [lat for lat in report.latency or [] if lat.verdict is not Verdict.OK]
    if not bad_errors or not bad_latency:
        return None
    pool = f" {db.name}" if db.name and len(report.pools) > 1 else ""
    evidence = [
        f"database connection pool{pool} at {round(db.percent)}% "
        f"({round(db.active)}/{round(db.pool_size)} connections active)",
        "error rates up: "
        + ", ".join(f"{e.service} {e.per_second or 0:.2f}/s" for e in bad_errors[:5]),
        "P99 latency up: "
        + ", ".join(f"{lat.service} {round(lat.p99_ms or 0)}ms" for lat in bad_latency[:5]),
    ]
    if db.waiting:
        evidence.append(f"{round(db.waiting)} requests waiting for a connection")
    ratio = report.traffic.ratio if report.traffic is not None else None
    spike = ratio is not None and ratio >= config.traffic_spike_ratio
    if spike and ratio is not None:
        evidence.append(
            f"request rate {ratio:.1f}x the rate {config.traffic_baseline_offset} earlier"
        )
    citation: RunbookRef | None = None
    if runbooks is not None:
        found = runbooks.find(sig.traffic_spike_keywords if spike else sig.runbook_keywords)
        if found is not None:
            citation = RunbookRef(file=found.file, path=list(found.path), rendered=found.rendered)
    return LikelyCause(name=LIKELY_CAUSE_POOL, evidence=evidence, citation=citation)
