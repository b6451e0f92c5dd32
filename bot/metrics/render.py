"""Plain-text renderers in the seed-000 layout. No Slack formatting here: the Slack side
wraps the text in a code block."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from bot.metrics.models import (
    PARTS,
    CheckReport,
    DbPool,
    QueryResult,
    ResourceReading,
    RunbookRef,
    Verdict,
    worst,
)


class _PerService(Protocol):
    @property
    def service(self) -> str: ...


T = TypeVar("T", bound=_PerService)


def ts(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(d: timedelta) -> str:
    return f"{int(d.total_seconds())}s"


def db_line(db: DbPool) -> str:
    """`98/100 (98%)`"""
    return f"{round(db.active)}/{round(db.pool_size)} ({round(db.percent)}%)"


def runbook_display(ref: RunbookRef) -> str:
    """`Runbook: Database Connection Issues → Error: … → Root Causes → 1. Traffic Spike`"""
    if not ref.path:
        return f"Runbook: {ref.file}"
    first = re.sub(r"^(Engineering\s+)?Runbook:\s*", "", ref.path[0])
    return "Runbook: " + " → ".join([first, *ref.path[1:]])


SHOWN_SERVICES = 10
SHOWN_POOLS = 10


def _resource_line(r: ResourceReading, tag_ok: bool) -> str:
    kind = "CPU" if r.kind == "cpu" else "Memory"
    tag = f" [{r.verdict}]" if tag_ok or r.verdict is not Verdict.OK else ""
    if r.percent is None:
        return f"  - {r.service} {kind}: {r.detail or 'no reading'}"
    detail = f" {r.detail}" if r.detail else ""
    return f"  - {r.service} {kind}: {round(r.percent)}%{detail}{tag}"


def _pool_lines(report: CheckReport, shown_services: set[str]) -> list[str]:
    pools = [p for p in report.pools if p.service is None or p.service in shown_services]
    named = len(report.pools) > 1
    lines: list[str] = []
    ok_hidden = 0
    for i, db in enumerate(pools):
        if i >= SHOWN_POOLS and db.verdict is Verdict.OK:
            ok_hidden += 1
            continue
        name = f" ({db.name})" if named and db.name else ""
        lines.append(f"  - Database Connections{name}: {db_line(db)} [{db.verdict}]")
        if db.waiting:
            lines.append(f"  - Database Connections Waiting{name}: {round(db.waiting)}")
    if ok_hidden:
        lines.append(f"  - {ok_hidden} more pools OK")
    return lines


def _could_not(report: CheckReport, part: str) -> list[str]:
    return [f"  - could not run: {report.failures[part]}"]


def render_check(report: CheckReport, *, all_resources: bool = False) -> str:
    """The seed-000 report. Parts that were not requested are left out; parts that could
    not run say so. In the full check, resource lines are the readings that are not OK
    (or, when all are OK, the primary service's CPU and memory); `all_resources` or a
    resources-only report shows every reading."""
    parts = set(report.parts)
    full = parts >= set(PARTS)
    blocks: list[list[str]] = []
    shown = report.services[:SHOWN_SERVICES]
    shown_set = set(shown)
    hidden = report.services[SHOWN_SERVICES:]

    if full:
        affected = report.affected_services
        down = set(report.down_services)
        if affected:
            listed = [f"  - {s}{' (down)' if s in down else ''}" for s in affected[:SHOWN_SERVICES]]
            if len(affected) > SHOWN_SERVICES:
                listed.append(f"  - and {len(affected) - SHOWN_SERVICES} more")
            blocks.append(["AFFECTED SERVICES:", *listed])
        else:
            # The seed prints the next heading straight after "None" (no blank line).
            blocks.append(["AFFECTED SERVICES: None"])
    elif "health" in parts:
        lines = ["SERVICE HEALTH:"]
        if "health" in report.not_found:
            lines.append(f"  - {report.not_found['health']}")
        elif report.health is None:
            lines += _could_not(report, "health")
        else:
            for h in (h for h in report.health if h.service in shown_set):
                state = {True: "up [OK]", False: "down [CRITICAL]", None: "no data"}[h.up]
                lines.append(f"  - {h.service}: {state}")
        blocks.append(lines)

    if "errors" in parts:
        lines = ["ERROR RATES:"]
        if "errors" in report.not_found:
            lines.append(f"  - {report.not_found['errors']}")
        elif report.errors is None:
            lines += _could_not(report, "errors")
        for e in _in_order(report.errors or [], shown):
            if e.per_second is None:
                lines.append(f"  - {e.service}: no data")
            else:
                lines.append(
                    f"  - {e.service}: {e.per_second:.2f} errors/sec{e.share} [{e.verdict}]"
                )
        blocks.append(lines)

    if "errors" in parts and report.slos:
        several = {
            x.service for x in report.slos if sum(y.service == x.service for y in report.slos) > 1
        }
        blocks.append(
            ["ERROR BUDGETS:"]
            + [
                f"  - {x.service}{f' ({x.name})' if x.service in several else ''}: "
                f"{x.describe()} [{x.verdict}]"
                for x in _in_order(report.slos, shown)
            ]
        )

    if "latency" in parts:
        lines = ["LATENCY METRICS:"]
        if "latency" in report.not_found:
            lines.append(f"  - {report.not_found['latency']}")
        elif report.latency is None:
            lines += _could_not(report, "latency")
        for lat in _in_order(report.latency or [], shown):
            if lat.p99_ms is None:
                lines.append(f"  - {lat.service}: no data")
            else:
                lines.append(f"  - {lat.service}: {round(lat.p99_ms)}ms P99 [{lat.verdict}]")
        blocks.append(lines)

    if parts & {"db", "resources"}:
        lines = ["RESOURCE UTILIZATION:"]
        if "db" in parts:
            if "db" in report.not_found:
                lines.append(f"  - Database Connections: {report.not_found['db']}")
            elif not report.pools:
                why = report.failures.get("db", "no data")
                lines.append(f"  - Database Connections: could not run: {why}")
            else:
                lines += _pool_lines(report, shown_set)
        if "resources" in parts:
            if "resources" in report.not_found:
                lines.append(f"  - CPU/Memory: {report.not_found['resources']}")
            elif report.resources is None:
                lines.append(f"  - CPU/Memory: could not run: {report.failures['resources']}")
            else:
                readings = [r for r in report.resources if r.service in shown_set]
                if full and not all_resources:
                    readings = [r for r in readings if r.verdict is not Verdict.OK]
                    if not readings:
                        readings = [
                            r for r in report.resources if r.service == report.primary_service
                        ]
                order = {s: i for i, s in enumerate(shown)}
                readings.sort(key=lambda r: order.get(r.service, len(order)))
                lines += [_resource_line(r, tag_ok=False) for r in readings]
                for kind in ("cpu", "memory"):
                    if f"resources.{kind}" in report.not_found:
                        label = "CPU" if kind == "cpu" else "Memory"
                        lines.append(f"  - {label}: {report.not_found[f'resources.{kind}']}")
        blocks.append(lines)

    if report.failures or report.unreachable:
        blocks.append(
            ["COULD NOT RUN:"]
            + [f"  - {p}: {why}" for p, why in report.failures.items()]
            + [
                f"  - {server}: {why} (its services are left out)"
                for server, why in report.unreachable.items()
            ]
        )
    if full:
        blocks.append([f"ASSESSMENT: {assessment(report)}"])
    if hidden:
        index = report.readings()
        bad = [s for s in hidden if worst(v for v, _ in index.get(s, [])) is not Verdict.OK]
        if bad:
            blocks.append(
                [f"{len(hidden)} more services not shown ({len(bad)} not OK: {', '.join(bad[:5])})"]
            )
        else:
            blocks.append([f"{len(hidden)} more services OK"])

    out: list[str] = []
    for block in blocks:
        if out and out[-1] != "AFFECTED SERVICES: None":
            out.append("")
        out.extend(block)
    return "\n".join(out)


def _in_order(items: list[T], shown: list[str]) -> list[T]:
    order = {s: i for i, s in enumerate(shown)}
    return sorted((x for x in items if x.service in order), key=lambda x: order[x.service])


def assessment(report: CheckReport) -> str:
    """One paragraph: the likely cause with its evidence and runbook citation, or a summary."""
    sentences: list[str] = []
    cause = report.likely_cause
    if cause is not None:
        sentences.append(f"Likely cause: {cause.name}.")
        sentences.append("Evidence: " + "; ".join(cause.evidence) + ".")
        sentences.append(
            "Requests queue for a free database connection, time out and fail with 5xx; "
            "the services closest to the database fail first and their callers follow."
        )
        if cause.citation is not None:
            sentences.append(f"{runbook_display(cause.citation)} ({cause.citation.file}).")
    else:
        affected = report.affected_services
        if affected:
            worst: list[str] = []
            with_slo = {x.service for x in report.slos}
            for x in report.slos:
                if x.verdict is not Verdict.OK:
                    worst.append(f"{x.service} {x.describe(('5m', '1h'))} [{x.verdict}]")
            for e in report.errors or []:
                if e.verdict is not Verdict.OK and e.service not in with_slo:
                    worst.append(f"{e.service} errors {e.per_second or 0:.2f}/s [{e.verdict}]")
            for lat in report.latency or []:
                if lat.verdict is not Verdict.OK:
                    worst.append(f"{lat.service} P99 {round(lat.p99_ms or 0)}ms [{lat.verdict}]")
            for s in report.down_services:
                worst.append(f"{s} is down")
            names = ", ".join(affected[:SHOWN_SERVICES])
            if len(affected) > SHOWN_SERVICES:
                names += f" and {len(affected) - SHOWN_SERVICES} more"
            sentences.append(
                f"{len(affected)} service(s) affected ({names}): " + "; ".join(worst[:10]) + "."
            )
            if report.db is not None:
                sentences.append(
                    f"The database pool is at {round(report.db.percent)}%, "
                    "so pool exhaustion is not indicated."
                )
        elif report.complete and not report.not_found:
            sentences.append(
                "All checked services are within thresholds: error rates, P99 latency, "
                "database connections and resources are OK."
            )
        else:
            sentences.append("No affected service among the checks that ran.")
    missing = sorted({k.split(".")[0] for k in report.not_found})
    if missing:
        sentences.append(
            "Not found in Prometheus: " + ", ".join(missing) + " (what was looked for is above)."
        )
    if report.failures or report.unreachable:
        what = []
        if report.failures:
            what.append("could not run " + ", ".join(report.failures))
        if report.unreachable:
            what.append("could not ask " + ", ".join(report.unreachable))
        sentences.append(
            f"Partial report: {'; '.join(what)}; the assessment covers only the checks that ran."
        )
    return " ".join(sentences)


def render_query(result: QueryResult) -> str:
    """Bounded, formatted output of `/metrics query`."""
    head = f"{result.promql}  @ {ts(result.at)}  ({result.result_type}, {result.total} result"
    head += "s)" if result.total != 1 else ")"
    lines = [head]
    if not result.series:
        lines.append("(empty result)")
    for s in result.series:
        labels = dict(s.labels)
        name = labels.pop("__name__", "")
        inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        shown = f"{name}{{{inner}}}" if inner or not name else name
        lines.append(f"{shown} => {s.value}" if shown else s.value)
    if result.truncated:
        lines.append(
            f"… {result.total - len(result.series)} more not shown "
            f"(showing {len(result.series)} of {result.total})"
        )
    return "\n".join(lines)
