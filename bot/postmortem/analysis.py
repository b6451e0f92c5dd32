"""The deterministic postmortem: every section built from the incident record alone.

Times and durations come from the recorded incident and its timeline (bot.postmortem.facts);
root causes from the one cause classifier (bot.causes: signatures found in the timeline,
metric readings and the record, each grounded in the runbook section it follows, ranked by
what fixed it; the patterns' root-cause category comes from the same classifier), contributing
factors from bot.postmortem.rca; the five whys walk the same signatures (bot.postmortem.whys).
When evidence is thin, confidence stays below 70 % and the gaps are listed."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bot.causes.classifier import Finding, classify
from bot.causes.signatures import Template
from bot.incidents.models import Incident, Role, Severity, format_duration
from bot.mrkdwn import hhmm, plain
from bot.postmortem.facts import durations, timeline_rows
from bot.postmortem.models import (
    DecisionRecord,
    DraftSections,
    Postmortem,
    ProposedAction,
)
from bot.postmortem.rca import contributing_factors, root_causes
from bot.postmortem.whys import five_whys
from bot.runbooks import Citation, RunbookLibrary
from bot.timeline.models import EventKind, TimelineEntry
from bot.workweek import WorkingHours


@dataclass
class Analysis:
    postmortem: Postmortem
    citations: list[Citation]
    matches: list[Finding]


def _minutes(seconds: int | None) -> str:
    return format_duration(None if seconds is None else timedelta(seconds=seconds))


def _first_role_time(entries: Sequence[TimelineEntry], role: Role) -> datetime | None:
    for e in entries:
        if e.event.kind is EventKind.ROLE and e.event.data.get("role") == role.value:
            return e.event.at
    return None


def _rank_priority(rank: int, severity: Severity) -> str:
    shift = {Severity.SEV1: 0, Severity.SEV2: 0, Severity.SEV3: 1, Severity.SEV4: 2}[severity]
    return f"P{min(rank + shift, 3)}"


DUE_DAYS = {"P0": 7, "P1": 14, "P2": 30, "P3": 60}


def proposed_actions(
    incident: Incident, matches: Sequence[Finding], extra: Sequence[Template], base: date
) -> list[ProposedAction]:
    ops = incident.roles.get(Role.OPS) or incident.roles.get(Role.IC)
    ic = incident.roles.get(Role.IC)
    seen: set[str] = set()
    out: list[ProposedAction] = []
    templates = [t for m in matches for t in m.signature.actions] + list(extra)
    for t in templates:
        if t.text in seen:
            continue
        seen.add(t.text)
        prio = _rank_priority(t.rank, incident.severity)
        out.append(
            ProposedAction(
                id=f"PA-{len(out) + 1}",
                type=t.type,
                description=t.text,
                priority=prio,
                owner_suggestion=ic if t.type == "process" else ops,
                due_suggestion=base + timedelta(days=DUE_DAYS[prio]),
            )
        )
    return out


def analyze(
    incident: Incident,
    entries: Sequence[TimelineEntry],
    *,
    library: RunbookLibrary | None,
    now: datetime,
    team_hours: WorkingHours | None = None,
    ic_zone: str = "UTC",
) -> Analysis:
    """`team_hours` in the IC's zone `ic_zone` say whether it began while people were at
    work (REMINDER_WORK_DAYS and the working hours, each person in their own zone)."""
    rows = timeline_rows(entries)
    dur = durations(incident)
    classification = classify(incident, entries, library)
    matches = classification.findings
    metric_entries = [e for e in entries if e.event.kind is EventKind.METRICS]
    has_metrics = classification.has_metrics
    causes = root_causes(classification)
    title = plain(incident.title)
    services = ", ".join(incident.services) or "the affected service"

    # data gaps
    gaps: list[str] = []
    if not has_metrics:
        gaps.append(
            "No metric readings were captured during the incident; root cause "
            "confidence is limited to the timeline."
        )
    if incident.identified_at is None:
        gaps.append("The time the cause was identified was not recorded.")
    if incident.mitigated_at is None:
        gaps.append("The mitigation time was not recorded (no `monitoring` status or resolution).")
    if incident.resolved_at is None:
        gaps.append("The incident is not resolved yet; TTR and impact are incomplete.")
    if incident.impact_started_at is None:
        gaps.append(
            "Impact start was not recorded (declare with `started:30m`): TTD is measured "
            "from the declaration, so it reads 0."
        )
    if len(rows) < 4:
        gaps.append(
            "The timeline has few key events; pin messages or add notes to improve the analysis."
        )
    if not matches:
        gaps.append("No cause signature was found in the record; the root cause is undetermined.")
    elif not any(m.citation for m in matches):
        gaps.append("No runbook section matched this incident.")
    if not incident.services:
        gaps.append("Affected services were not recorded.")
    gaps.append("User and revenue impact were not recorded by the bot.")
    if any(rc.confidence < 0.7 for rc in causes if rc.kind == "technical"):
        gaps.append("Evidence is thin: root cause confidence is below 70%; confirm at the review.")

    # summary and impact
    top = causes[0]
    when_txt = incident.declared_at.astimezone(UTC).strftime("%Y-%m-%d at %H:%M UTC")
    parts = [
        f"On {when_txt}, “{title}” ({incident.severity.label}, "
        f"{incident.severity.meaning}) was declared, affecting {services}."
    ]
    if incident.mitigated_at is not None:
        parts.append(
            f"It was mitigated at {hhmm(incident.mitigated_at)} UTC "
            f"(TTM {_minutes(dur.ttm_seconds)})"
        )
        if incident.resolved_at is not None:
            parts[-1] += (
                f" and resolved at {hhmm(incident.resolved_at)} UTC "
                f"(TTR {_minutes(dur.ttr_seconds)})."
            )
        else:
            parts[-1] += "."
    else:
        parts.append(f"It is {incident.status.value}.")
    multiple = [rc for rc in causes if rc.kind == "technical"]
    if len(multiple) > 1:
        parts.append(
            "Multiple root causes are plausible: "
            + "; ".join(f"{rc.cause} ({rc.confidence:.0%})" for rc in multiple)
            + "."
        )
    else:
        parts.append(f"Most likely root cause: {top.cause} (confidence {top.confidence:.0%}).")
    if incident.resolution_summary:
        parts.append(f"Resolution: {plain(incident.resolution_summary)}.")
    impact = [
        f"Severity: {incident.severity.label} ({incident.severity.meaning})",
        f"Services affected: {services}",
        f"Duration: {_minutes(dur.ttr_seconds)}"
        if dur.ttr_seconds is not None
        else "Duration: ongoing",
    ]
    budget = [e for e in metric_entries if "error_budget" in e.event.data]
    impact += [
        f"Metric reading at {hhmm(e.event.at)} UTC: {plain(e.event.text)}"
        for e in [e for e in metric_entries if e not in budget][:5]
    ]
    # the error budget the incident consumed, kept on the timeline when it was resolved
    impact += [f"Error budget consumed: {plain(e.event.data['error_budget'])}" for e in budget[-1:]]

    factors, extra = contributing_factors(incident, matches, dur, has_metrics=has_metrics)

    # went well / poorly / lucky
    well: list[str] = []
    poorly: list[str] = []
    lucky: list[str] = []
    for role in (Role.OPS, Role.COMMS):
        at = _first_role_time(entries, role)
        if at is not None:
            after = int((at - incident.declared_at).total_seconds())
            well.append(f"{role.display_name} assigned {_minutes(after)} after declaration")
        else:
            poorly.append(f"No {role.display_name} was assigned")
    if incident.identified_at is not None:
        ident = int((incident.identified_at - incident.declared_at).total_seconds())
        (well if ident <= 20 * 60 else poorly).append(
            f"Cause identified {_minutes(ident)} after declaration"
        )
    if dur.ttm_seconds is not None:
        (well if dur.ttm_seconds <= 30 * 60 else poorly).append(
            f"Mitigated {_minutes(dur.ttm_seconds)} after declaration"
        )
    if has_metrics:
        well.append(f"{len(metric_entries)} metric reading(s) captured during the incident")
    if any(m.citation for m in matches):
        well.append("A runbook covered this failure mode")
    for f in factors:
        if f.preventable and f.factor not in poorly:
            poorly.append(f.factor)
    hours = team_hours or WorkingHours()
    if hours.contains(incident.declared_at, ic_zone):
        lucky.append(
            "It was declared in the IC's working hours "
            f"({hours.describe_days(ic_zone)}), when the team was at work"
        )
    all_text = " ".join(e.event.text.lower() for e in entries)
    if re.search(r"roll ?back|revert", all_text):
        lucky.append("A known-good previous version was available to roll back to")
    if not lucky:
        lucky.append("Nothing in the record points to luck; add near misses at the review")
    if not well:
        well.append("The incident was declared and tracked in a dedicated channel")

    base_day = (incident.resolved_at or now).astimezone(UTC).date()
    actions = proposed_actions(incident, matches, extra, base_day)

    # decision records
    decisions: list[DecisionRecord] = []
    for e in entries:
        if e.is_key and re.search(r"\bdecision\b|\bdecided\b", e.event.text.lower()):
            decisions.append(
                DecisionRecord(
                    date=e.event.at,
                    context=f"Responding to {title}",
                    decision=plain(e.event.text),
                    rationale="Recorded on the incident timeline during the response",
                    consequences="See the timeline rows that follow",
                    status="accepted",
                )
            )
    evidence_summary = "; ".join(e.text for e in top.evidence[:3]) or "no direct evidence"
    decisions.append(
        DecisionRecord(
            date=now,
            context=f"Analyzing {title} ({incident.id})",
            decision=f"Root cause is {top.cause}"
            + (" (one of several plausible causes)" if len(multiple) > 1 else ""),
            rationale=f"Confidence {top.confidence:.0%}; evidence: {evidence_summary}",
            consequences="Action items focus on " + ", ".join(sorted({a.group for a in actions}))
            if actions
            else "No action items proposed",
            status="proposed",
        )
    )

    tags: list[str] = []
    for t in [
        *incident.tags,
        *incident.services,
        *(t for m in matches for t in m.signature.tags),
        incident.severity.label.lower(),
    ]:
        slug = re.sub(r"[^a-z0-9+-]+", "-", t.lower()).strip("-")
        if slug and slug not in tags:
            tags.append(slug)

    sections = DraftSections(
        summary=" ".join(parts),
        impact=impact,
        root_causes=causes,
        five_whys=five_whys(incident.title, matches),
        contributing_factors=factors,
        went_well=well,
        went_poorly=poorly,
        got_lucky=lucky,
        action_items=actions,
        decision_records=decisions,
        tags=tags,
        data_gaps=gaps,
    )
    pm = Postmortem(
        **sections.model_dump(),
        incident_id=incident.id,
        title=incident.title,
        severity=incident.severity.label,
        status=incident.status.value,
        services=list(incident.services),
        declared_at=incident.declared_at,
        resolved_at=incident.resolved_at,
        roles={r.display_name: u for r, u in incident.roles.items()},
        timeline=rows,
        durations=dur,
        generated_at=now,
    )
    citations: list[Citation] = []
    for m in matches:
        if m.citation is not None and m.citation not in citations:
            citations.append(m.citation)
    return Analysis(postmortem=pm, citations=citations, matches=matches)
