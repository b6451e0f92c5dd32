"""A metrics report in an incident: posted in its channel and summarised on its timeline
(the postmortem cites the readings from the event's data)."""

from __future__ import annotations

from bot.clock import Clock
from bot.incidents.models import Incident
from bot.metrics.models import CheckReport, percent
from bot.metrics.render import render_check
from bot.ports import ChatGateway
from bot.timeline.models import EventKind, TimelineEvent
from bot.timeline.service import TimelineService


def code(text: str) -> str:
    return f"```\n{text}\n```"


def check_summary(report: CheckReport) -> tuple[str, dict[str, str]]:
    """One timeline line and the readings the postmortem cites."""
    data: dict[str, str] = {}
    bits: list[str] = []
    if report.db is not None:
        data["db_pool_percent"] = f"{report.db.percent:.0f}"
        bits.append(
            f"DB pool {report.db.active:.0f}/{report.db.pool_size:.0f} "
            f"({report.db.percent:.0f}%) [{report.db.verdict.value}]"
        )
    shown = set(report.services[:10])  # the services the report shows, worst first
    for e in report.errors or []:
        if e.per_second is not None and e.service in shown:
            data[f"errors_per_second.{e.service}"] = f"{e.per_second:.2f}"
            share = ""
            if e.ratio is not None:
                data[f"error_ratio_percent.{e.service}"] = f"{100 * e.ratio:.1f}"
                share = f" ({percent(e.ratio)})"
            bits.append(f"{e.service} {e.per_second:.2f} errors/s{share} [{e.verdict.value}]")
    for lat in report.latency or []:
        if lat.p99_ms is not None and lat.service in shown:
            data[f"p99_ms.{lat.service}"] = f"{lat.p99_ms:.0f}"
            bits.append(f"{lat.service} P99 {lat.p99_ms:.0f}ms [{lat.verdict.value}]")
    if report.likely_cause is not None:
        data["likely_cause"] = report.likely_cause.name
        cite = report.likely_cause.citation
        bits.append(
            f"likely cause: {report.likely_cause.name}" + (f" ({cite.rendered})" if cite else "")
        )
    if report.failures:
        bits.append("could not run: " + ", ".join(sorted(report.failures)))
    return "Metrics check: " + "; ".join(bits or ["no readings"]), data


async def post_check(
    *,
    chat: ChatGateway,
    timeline: TimelineService,
    clock: Clock,
    incident: Incident,
    report: CheckReport,
) -> None:
    """Post a report in the incident channel and put it on the timeline."""
    await chat.post(incident.channel_id, code(render_check(report)))
    await record_check(timeline=timeline, clock=clock, incident=incident, report=report)


async def record_check(
    *, timeline: TimelineService, clock: Clock, incident: Incident, report: CheckReport
) -> None:
    """Put a report's readings on the incident's timeline (the postmortem cites them)."""
    text, data = check_summary(report)
    await timeline.record(
        incident.id, TimelineEvent(kind=EventKind.METRICS, at=clock(), text=text, data=data)
    )
