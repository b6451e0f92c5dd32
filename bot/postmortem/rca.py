"""Root-cause analysis: which signatures the record matches, with what evidence (timeline,
metric readings, the record, the runbook section), and how confident the bot is."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.incidents.models import Incident, Role
from bot.postmortem.facts import hhmm, plain
from bot.postmortem.models import ContributingFactor, Durations, Evidence, RootCause
from bot.postmortem.signatures import CHANGE_KEYS, POOL_CAUSES, SIGNATURES, Signature, Template
from bot.runbooks import Citation, RunbookLibrary
from bot.timeline.models import EventKind, TimelineEntry

THIN_CONFIDENCE_CAP = 0.65
MAX_CONFIDENCE = 0.9
_VERSION = re.compile(r"\bv\d+(?:\.\d+){1,3}\b")
FIX_BONUS = 0.2
# What ended an incident says what caused it: each kind of fix, recorded before the recovery,
# supports the causes it undoes (a rollback undoes a deploy and the code it shipped, …).
FIXES: tuple[tuple[str, frozenset[str]], ...] = (
    (r"\broll(ed|ing)?[ -]?back\b|\brevert", frozenset({"deploy", "n_plus_one", "leak"})),
    (
        r"config(uration)?\b.*\b(revert|restor|undo|undid|back)|flag\b.*\b(off|disabl)"
        r"|disabl\w* (the )?(feature )?flag",
        frozenset({"config"}),
    ),
    (r"\brestart", frozenset({"leak"})),
    (
        r"scal(e|ed|ing) (up|out)|added (capacity|replicas|instances|nodes)"
        r"|(increas|rais)\w* (the )?(pool|max_connections|capacity|replicas|limit)"
        r"|rate[- ]limit",
        frozenset({"traffic", "pool"}),
    ),
    (r"fail(ed)?[ -]?over|switched (provider|region|upstream)", frozenset({"dependency"})),
)
_NOT_DONE = re.compile(
    r"\b(decision|decided|decide|plan|planning|propos\w*|should|could|might|consider\w*|"
    r"suggest\w*|if we)\b|\?\s*$"
)
_RECOVERY = re.compile(r"back to (normal|baseline)|returned to normal|\brecovered\b")


@dataclass
class Match:
    signature: Signature
    evidence: list[Evidence] = field(default_factory=list)
    citation: Citation | None = None
    fixed_by: list[Evidence] = field(default_factory=list)  # fixes recorded before recovery

    @property
    def timeline_hits(self) -> int:
        return sum(1 for e in self.evidence if e.kind in ("timeline", "record"))

    @property
    def metric_hits(self) -> int:
        return sum(1 for e in self.evidence if e.kind == "metric")


def is_evidence(entry: TimelineEntry) -> bool:
    """Events that echo the title (declared), bookkeeping (roles, action items) and the
    patterns service's own classification (derived from this same timeline) prove nothing."""
    if entry.event.kind in (EventKind.DECLARED, EventKind.ROLE, EventKind.ACTION_ITEM):
        return False
    return "root_cause_category" not in entry.event.data


def find_matches(
    incident: Incident, entries: Sequence[TimelineEntry], library: RunbookLibrary | None
) -> list[Match]:
    matches: list[Match] = []
    record_text = " ".join(
        [incident.title, incident.description, incident.resolution_summary or ""]
    )
    for sig in SIGNATURES:
        m = Match(signature=sig)
        if sig.matches(record_text):
            m.evidence.append(
                Evidence(kind="record", text=f"Incident record: {plain(record_text)}")
            )
        for e in entries:
            text = " ".join([e.event.text, *e.event.data.values()])
            if not is_evidence(e):
                continue
            if not sig.matches(text):
                continue
            kind = "metric" if e.event.kind is EventKind.METRICS else "timeline"
            m.evidence.append(
                Evidence(kind=kind, at=e.event.at, text=f"{hhmm(e.event.at)} {plain(e.event.text)}")
            )
        if not m.evidence:
            continue
        if library is not None and sig.runbook_keywords:
            m.citation = library.find(list(sig.runbook_keywords))
            if m.citation is not None:
                m.evidence.append(
                    Evidence(
                        kind="runbook",
                        text=f"Runbook: {m.citation.rendered}",
                        citation=m.citation.rendered,
                    )
                )
        matches.append(m)
    # readings of the mechanism (an exhausted pool) support the causes that explain it
    pool = next((m for m in matches if m.signature.key == "pool"), None)
    if pool is not None:
        readings = [e for e in pool.evidence if e.kind == "metric"]
        for m in matches:
            if m.signature.key in POOL_CAUSES:
                m.evidence += [e for e in readings if e not in m.evidence]
    for m, fix in fixes_for(incident, entries, matches):
        m.fixed_by.append(fix)
        m.evidence.append(fix)
    return matches


def is_done(text: str) -> bool:
    """A step taken, not a decision, plan or question about one."""
    return _NOT_DONE.search(text.lower()) is None


def is_fix(text: str) -> bool:
    """A fix taken (rollback, revert, config undo, restart, scale-out, failover)."""
    low = text.lower()
    return is_done(text) and any(re.search(p, low) for p, _ in FIXES)


def recovery_time(incident: Incident, entries: Sequence[TimelineEntry]) -> datetime | None:
    """When impact ended: mitigation, else resolution, else the first 'back to normal'."""
    if incident.mitigated_at is not None or incident.resolved_at is not None:
        return incident.mitigated_at or incident.resolved_at
    for e in entries:
        if _RECOVERY.search(e.event.text.lower()):
            return e.event.at
    return None


def fixes_for(
    incident: Incident, entries: Sequence[TimelineEntry], matches: Sequence[Match]
) -> list[tuple[Match, Evidence]]:
    """The fixes recorded before the recovery (and the resolution summary), each paired with
    the matched cause it undoes."""
    recovered = recovery_time(incident, entries)
    if recovered is None:
        return []
    found: list[tuple[str, datetime | None, str]] = []
    for e in entries:
        if not is_evidence(e):
            continue
        if e.event.kind is EventKind.METRICS or e.event.at > recovered:
            continue
        text = plain(e.event.text)
        if not is_done(text):
            continue
        found.append((text, e.event.at, f"{hhmm(e.event.at)} {text}"))
    if incident.resolution_summary:
        summary = plain(incident.resolution_summary)
        found.append((summary, incident.resolved_at, f"Resolution: {summary}"))
    out: list[tuple[Match, Evidence]] = []
    for text, at, shown in found:
        low = text.lower()
        for pattern, keys in FIXES:
            if not re.search(pattern, low):
                continue
            for m in matches:
                if m.signature.key in keys and all(f.text != shown for f in m.fixed_by):
                    ev = Evidence(kind="resolution", at=at, text=f"{shown} (what fixed it)")
                    out.append((m, ev))
    return out


def confidence(m: Match, has_metrics: bool) -> float:
    score = 0.3 + 0.1 * min(m.timeline_hits, 3) + 0.15 * min(m.metric_hits, 2)
    score += 0.1 if m.citation is not None else 0.0
    score += FIX_BONUS if m.fixed_by else 0.0
    thin = (m.timeline_hits + m.metric_hits) < 3 or not has_metrics
    return round(min(score, THIN_CONFIDENCE_CAP if thin else MAX_CONFIDENCE), 2)


def _versions(matches: Sequence[Match]) -> list[str]:
    found: list[str] = []
    for m in matches:
        for e in m.evidence:
            for v in _VERSION.findall(e.text):
                if v not in found:
                    found.append(v)
    return found


def root_causes(matches: Sequence[Match], has_metrics: bool) -> list[RootCause]:
    by_key = {m.signature.key: m for m in matches}
    causes: list[RootCause] = []
    fixed_causes: list[RootCause] = []
    code = [k for k in ("n_plus_one", "leak", "config") if k in by_key]
    versions = _versions([by_key["deploy"]]) if "deploy" in by_key else []
    for m in matches:
        sig = m.signature
        if sig.mechanism and any(not x.signature.mechanism for x in matches):
            continue
        if sig.key == "deploy" and code:
            continue  # folded into the code-level cause below
        cause = sig.cause
        evidence = list(m.evidence)
        if sig.key in code and "deploy" in by_key:
            introduced = f" in {versions[0]}" if versions else " by a recent deployment"
            cause = f"{sig.cause}, introduced{introduced}"
            evidence += [e for e in by_key["deploy"].evidence if e not in evidence]
        elif sig.key == "deploy" and versions:
            cause = f"{sig.cause} ({versions[0]})"
        conf = confidence(m, has_metrics)
        fixed = bool(m.fixed_by)
        if sig.key in code and "deploy" in by_key:
            conf = min(conf + 0.05, MAX_CONFIDENCE if has_metrics else THIN_CONFIDENCE_CAP)
            if not fixed and by_key["deploy"].fixed_by:
                fixed = True  # rolling the deploy back removed the code it shipped
                conf = min(conf + FIX_BONUS, MAX_CONFIDENCE)
        cause_rc = RootCause(
            cause=cause,
            category=sig.category,
            kind="technical",
            confidence=round(conf, 2),
            evidence=evidence,
        )
        causes.append(cause_rc)
        if fixed:
            fixed_causes.append(cause_rc)
    rank_by_what_fixed_it(causes, fixed_causes)
    keys = set(by_key)
    if keys & CHANGE_KEYS and causes:
        top = causes[0]
        causes.append(
            RootCause(
                cause="Organizational: the change reached production without load testing or "
                "a performance review",
                category="process",
                kind="organizational",
                confidence=round(min(top.confidence * 0.8, THIN_CONFIDENCE_CAP), 2),
                evidence=[e for e in top.evidence if e.kind != "runbook"][:3],
            )
        )
    if not causes:
        causes.append(
            RootCause(
                cause="Undetermined: the record does not show what caused this incident",
                category="unknown",
                kind="technical",
                confidence=0.3,
                evidence=[],
            )
        )
    return causes


def rank_by_what_fixed_it(causes: list[RootCause], fixed: Sequence[RootCause]) -> None:
    """Causes the recorded fix undid come first; the others stay below the weakest of them
    (a traffic spike that was still there when a rollback ended the incident was not its
    cause). Without a recorded fix, by confidence."""
    if fixed:
        floor = min(rc.confidence for rc in fixed)
        for rc in causes:
            if rc not in fixed and rc.confidence >= floor:
                rc.confidence = round(max(floor - 0.05, 0.3), 2)
    causes.sort(key=lambda rc: (rc not in fixed, -rc.confidence))


def contributing_factors(
    incident: Incident, matches: Sequence[Match], dur: Durations, *, has_metrics: bool
) -> tuple[list[ContributingFactor], list[Template]]:
    """The matched signatures' factors plus what the record itself shows (no Comms lead, slow
    mitigation, no metric readings), with the action templates those gaps call for."""
    services = ", ".join(incident.services) or "the affected service"
    factors: list[ContributingFactor] = []
    for m in matches:
        for text, cat, prev in m.signature.factors:
            if all(f.factor != text for f in factors):
                factors.append(ContributingFactor(factor=text, category=cat, preventable=prev))
    extra: list[Template] = []
    if Role.COMMS not in incident.roles:
        factors.append(
            ContributingFactor(
                factor="No communications lead was assigned", category="people", preventable=True
            )
        )
        extra.append(Template("process", "Assign a Comms lead when an incident is declared", 1))
    if dur.ttm_seconds is not None and dur.ttm_seconds > 30 * 60:
        factors.append(
            ContributingFactor(
                factor="Slow mitigation (over 30 minutes)", category="process", preventable=True
            )
        )
        extra.append(
            Template(
                "mitigate", "Add tested mitigation steps to the runbook for this failure mode", 1
            )
        )
    if not has_metrics:
        factors.append(
            ContributingFactor(
                factor="No metric readings captured during the incident",
                category="technology",
                preventable=True,
            )
        )
        extra.append(Template("detect", f"Add dashboards and alerts for {services}", 1))
    return factors, extra
