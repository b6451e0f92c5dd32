"""The postmortem as Markdown, in the seeds' layout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.incidents.models import format_duration
from bot.postmortem.models import ACTION_GROUPS, GROUP_ORDER, Postmortem


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split()) or "—"


def _dur(seconds: int | None) -> str:
    return format_duration(None if seconds is None else timedelta(seconds=seconds))


def _time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%H:%M:%S")


def _who(user: str | None) -> str:
    if not user:
        return "—"
    return user if user.startswith("@") or " " in user else f"@{user}"


UNASSIGNED = "unassigned — IC to pick"


def _owner(user: str | None) -> str:
    return _who(user) if user else UNASSIGNED


def render_markdown(pm: Postmortem) -> str:
    d = pm.durations
    ic = pm.roles.get("Incident Commander")
    out: list[str] = [
        f"# Postmortem: {pm.title}",
        "",
        f"**Incident ID**: {pm.incident_id}  ",
        f"**Date**: {pm.declared_at.astimezone(UTC).strftime('%Y-%m-%d')}  ",
        f"**Severity**: {pm.severity}  ",
        f"**Status**: {pm.status}  ",
        f"**Duration**: {_dur(d.ttr_seconds) if d.ttr_seconds is not None else 'ongoing'}  ",
        f"**Incident Commander**: {_who(ic)}  ",
        f"**Draft version**: {pm.version or 'unsaved'}",
        "",
        "## Summary",
        "",
        pm.summary,
        "",
        "## Impact",
        "",
        *(f"- {line}" for line in pm.impact),
        "",
        *(
            ["## Reopenings and corrections", "", *(f"- {line}" for line in pm.lifecycle), ""]
            if pm.lifecycle
            else []
        ),
        "## Roles",
        "",
        *(f"- {role}: {_who(user)}" for role, user in pm.roles.items()),
        "",
        "## Timeline",
        "",
        "| Time (UTC) | Event | Significance |",
        "|------------|-------|--------------|",
        *(f"| {_time(r.time)} | {_cell(r.event)} | {_cell(r.significance)} |" for r in pm.timeline),
        "",
        "## Root Cause Analysis",
        "",
    ]
    technical = [rc for rc in pm.root_causes if rc.kind == "technical"]
    if len(technical) > 1:
        out += ["Multiple root causes are plausible; each is listed with its confidence.", ""]
    for i, rc in enumerate(pm.root_causes, 1):
        label = "Primary Root Cause" if i == 1 else f"Root Cause {i}"
        out += [
            f"### {label} ({rc.kind})",
            "",
            f"**{rc.cause}** — category: {rc.category}, confidence: {rc.confidence:.0%}"
            + (" (low: evidence is thin)" if rc.confidence < 0.7 else ""),
            "",
        ]
        if rc.evidence:
            out.append("Evidence:")
            for ev in rc.evidence:
                out.append(f"- [{ev.kind}] {ev.text}")
            out.append("")
    out += ["### Five Whys", ""]
    for i, w in enumerate(pm.five_whys, 1):
        out.append(f"{i}. **{w.question}** → {w.answer}")
    out += [
        "",
        *(["### Pattern Recognition", "", *pm.pattern, ""] if pm.pattern else []),
        "### Contributing Factors",
        "",
        "| Factor | Category | Preventable |",
        "|--------|----------|-------------|",
        *(
            f"| {_cell(f.factor)} | {f.category} | {'✓' if f.preventable else '✗'} |"
            for f in pm.contributing_factors
        ),
        "",
    ]
    for heading, lines in (
        ("What Went Well", pm.went_well),
        ("What Went Poorly", pm.went_poorly),
        ("Where We Got Lucky", pm.got_lucky),
    ):
        out += [f"## {heading}", "", *(f"- {x}" for x in lines or ["—"]), ""]
    out += ["## Action Items", ""]
    if pm.recorded_actions:
        out += [
            "### Recorded",
            "",
            "| ID | Description | Owner | Status | Due | Tracker |",
            "|----|-------------|-------|--------|-----|---------|",
        ]
        for r in pm.recorded_actions:
            tracker = (
                f"[{_cell(r.tracker_key)}]({r.tracker_url})" if r.tracker_key and r.tracker_url
                else _cell(r.tracker_key) if r.tracker_key else "—"
            )
            due = r.due.date().isoformat() if r.due else "—"
            out.append(
                f"| {r.id} | {_cell(r.text)} | {_owner(r.owner)} | {r.status} | {due} | "
                f"{tracker} |"
            )
        out.append("")
    for group in GROUP_ORDER:
        items = sorted((a for a in pm.action_items if a.type == group), key=lambda a: a.priority)
        out += [f"### {ACTION_GROUPS[group]}", ""]
        if not items:
            out += ["None proposed.", ""]
            continue
        out += [
            "| ID | Type | Description | Owner | Priority | Due | Tracked |",
            "|----|------|-------------|-------|----------|-----|---------|",
        ]
        for a in items:
            due = a.due_suggestion.isoformat() if a.due_suggestion else "—"
            out.append(
                f"| {a.id} | {a.type} | {_cell(a.description)} | {_owner(a.owner_suggestion)} | "
                f"{a.priority} | {due} | {a.accepted_item_id or 'proposed'} |"
            )
        out.append("")
    out += [
        "## Metrics",
        "",
        "| Metric | Value |",
        "|--------|-------|",
        f"| Time to Detect (TTD) | {_dur(d.ttd_seconds)} |",
        f"| Time to Mitigate (TTM) | {_dur(d.ttm_seconds)} |",
        f"| Time to Resolve (TTR) | {_dur(d.ttr_seconds)} |",
        f"| Responders | {len(set(pm.roles.values()))} |",
        "",
        "## Decision Record",
        "",
        *(f"    {dr.line()}" for dr in pm.decision_records),
        "",
        "## Data Gaps",
        "",
        *(f"- {g}" for g in pm.data_gaps or ["None noted."]),
        "",
        *unverified_section(pm),
        "## Tags",
        "",
        " ".join(f"`{t}`" for t in pm.tags) or "—",
        "",
        "---",
        "",
        footer(pm),
        "",
    ]
    return "\n".join(out)


UNVERIFIED_HEADING = "## Unverified (model's suggestion)"


def unverified_section(pm: Postmortem) -> list[str]:
    """The model's claims the record did not support, apart from the facts, with the reason."""
    if not pm.unverified:
        return []
    return [
        UNVERIFIED_HEADING,
        "",
        "Not checked out against the record, so not stated as fact above. Confirm or delete "
        "at the review.",
        "",
        *(f"- *{u.section}*: {u.text} — **why unverified**: {u.reason}" for u in pm.unverified),
        "",
    ]


def claims_line(pm: Postmortem) -> str:
    c = pm.claims
    if c is None:
        return ""
    return (
        f"{c.kept} of the model's claims checked out against the record, {c.flagged} "
        f"flagged as unverified, {c.dropped} dropped"
    )


def footer(pm: Postmortem) -> str:
    stamp = pm.generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if pm.ai_written:
        return (
            f"*AI-drafted by {pm.ai_model or 'Claude'} from the incident record on {stamp}; "
            "people, times, durations and readings come from the record, and every claim was "
            f"checked against it ({claims_line(pm)}). Root-cause confidence is the bot's, "
            "from the evidence that checked out. Review before publishing.*"
        )
    if pm.ai_pending:
        return (
            f"*Drafted from the incident record on {stamp}. An AI draft is in progress; it "
            "is posted as the next version once its claims are checked. Review before "
            "publishing.*"
        )
    return (
        f"*Not AI-written: drafted deterministically from the incident record on {stamp} "
        f"({pm.not_ai_reason or 'no model configured'}). Review before publishing.*"
    )
