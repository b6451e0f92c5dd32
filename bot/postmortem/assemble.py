"""From the model's grounded draft to postmortem sections: every claim checked against the
record (bot.postmortem.validation), facts rendered by the bot, confidence computed by the bot
from the evidence that validated. A section whose claims all fail keeps the bot's own
(deterministic) version; failed claims go to "Unverified (model's suggestion)" with the reason,
or are dropped when they name someone the record does not know."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.causes.classifier import (
    FIX_BONUS,
    MAX_CONFIDENCE,
    THIN_CONFIDENCE_CAP,
    rank_by_what_fixed_it,
)
from bot.causes.models import Evidence
from bot.mrkdwn import plain
from bot.postmortem.analysis import DUE_DAYS
from bot.postmortem.claims import Claim, GroundedDraft
from bot.postmortem.grounding import Fact, FactSheet
from bot.postmortem.models import (
    ClaimTally,
    ContributingFactor,
    DecisionRecord,
    DraftSections,
    ProposedAction,
    RootCause,
    UnverifiedClaim,
    WhyStep,
)
from bot.postmortem.validation import ClaimCheck, Problem, check_claim

UNASSIGNED_NOTE = (
    "{n} suggested owner(s) were not people in the record; those items are unassigned — IC to pick."
)


@dataclass
class Assembled:
    sections: DraftSections
    checks: list[ClaimCheck] = field(default_factory=list)

    @property
    def tally(self) -> ClaimTally:
        t = ClaimTally()
        for c in self.checks:
            setattr(t, c.verdict, getattr(t, c.verdict) + 1)
        return t

    @property
    def unverified(self) -> list[UnverifiedClaim]:
        return [
            UnverifiedClaim(section=c.section, text=c.text, reason=c.reason)
            for c in self.checks
            if c.verdict == "flagged"
        ]


def evidence_of(fact: Fact) -> Evidence:
    if fact.kind == "runbook":
        return Evidence(kind="runbook", text=fact.shown(), citation=fact.citation)
    if fact.kind == "reading":
        return Evidence(kind="metric", at=fact.at, text=fact.shown())
    if fact.is_fix:
        return Evidence(kind="resolution", at=fact.at, text=f"{fact.shown()} (what fixed it)")
    return Evidence(kind="timeline", at=fact.at, text=fact.shown())


def claim_confidence(facts: list[Fact], sheet: FactSheet, *, organizational: bool) -> float:
    """The bot's confidence from validated evidence; below 70 % when the data is thin
    (seed 004), whatever the model thought."""
    events = sum(1 for f in facts if f.kind == "event")
    readings = sum(1 for f in facts if f.kind == "reading")
    score = 0.3 + 0.1 * min(events, 3) + 0.15 * min(readings, 2)
    score += 0.1 if any(f.kind == "runbook" for f in facts) else 0.0
    score += FIX_BONUS if any(f.is_fix for f in facts) else 0.0
    thin = events + readings < 3 or not sheet.has_metrics or organizational
    return round(min(score, THIN_CONFIDENCE_CAP if thin else MAX_CONFIDENCE), 2)


def assemble(
    draft: GroundedDraft, sheet: FactSheet, baseline: DraftSections, *, now: datetime
) -> Assembled:
    out = Assembled(sections=baseline.model_copy(deep=True))
    s = out.sections

    def check(section: str, claim: Claim, *, needs_evidence: bool = False) -> ClaimCheck:
        c = check_claim(section, [claim.text], claim.evidence, sheet, needs_evidence=needs_evidence)
        out.checks.append(c)
        return c

    summary = [c.text for c in (check("summary", x) for x in draft.summary) if c.verdict == "kept"]
    if summary:
        s.summary = " ".join(summary)
    impact = [c.text for c in (check("impact", x) for x in draft.impact) if c.verdict == "kept"]
    if impact:
        s.impact = impact

    technical: list[RootCause] = []
    organizational: list[RootCause] = []
    fixed: list[RootCause] = []
    for rc in draft.root_causes:
        c = check("root cause", rc, needs_evidence=rc.category.strip().lower() != "unknown")
        if c.verdict != "kept":
            continue
        org = rc.kind == "organizational"
        cause = RootCause(
            cause=c.text,
            category=plain(rc.category) or "unknown",
            kind=rc.kind,
            confidence=claim_confidence(c.evidence, sheet, organizational=org),
            evidence=[evidence_of(f) for f in c.evidence],
        )
        (organizational if org else technical).append(cause)
        if not org and any(f.is_fix for f in c.evidence):
            fixed.append(cause)
    if technical:
        # the bot's own causes stand where the model's version of them did not check out
        covered = {rc.category for rc in technical}
        for own in baseline.root_causes:
            if own.kind == "technical" and own.category not in (*covered, "unknown"):
                technical.append(own.model_copy(deep=True))
                if any(e.kind == "resolution" for e in own.evidence):
                    fixed.append(technical[-1])
        rank_by_what_fixed_it(technical, fixed)
        if not organizational:
            organizational = [c for c in baseline.root_causes if c.kind == "organizational"]
        s.root_causes = technical + organizational

    whys: list[WhyStep] = []
    for w in draft.five_whys:
        c = check_claim("five whys", [w.question, w.answer], w.evidence, sheet)
        out.checks.append(c)
        if c.verdict == "kept":
            whys.append(WhyStep(question=c.parts[0], answer=c.parts[1]))
    if whys and len(whys) == len(draft.five_whys):
        s.five_whys = whys[:5]  # a chain with a missing link is no chain: else the bot's

    factors = [
        ContributingFactor(factor=c.text, category=f.category, preventable=f.preventable)
        for f in draft.contributing_factors
        if (c := check("contributing factor", f)).verdict == "kept"
    ]
    if factors:
        s.contributing_factors = factors
    for name in ("went_well", "went_poorly", "got_lucky"):
        label = name.replace("_", " ")
        kept = [
            c.text for c in (check(label, x) for x in getattr(draft, name)) if c.verdict == "kept"
        ]
        if kept:
            setattr(s, name, kept)

    base_day = (sheet.incident.resolved_at or now).date()
    actions: list[ProposedAction] = []
    unassigned = 0
    for a in draft.action_items:
        c = check_claim("action item", [a.text], a.evidence, sheet, check_numbers=False)
        out.checks.append(c)
        if c.verdict != "kept":
            continue
        owner = sheet.person(a.owner) if a.owner else None
        if a.owner and owner is None:
            unassigned += 1
        actions.append(
            ProposedAction(
                id=f"PA-{len(actions) + 1}",
                type=a.type,
                description=c.text,
                priority=a.priority,
                owner_suggestion=owner,
                due_suggestion=base_day + timedelta(days=DUE_DAYS[a.priority]),
            )
        )
    if actions:
        s.action_items = actions

    decisions: list[DecisionRecord] = []
    for d in draft.decision_records:
        c = check_claim("decision", [d.text, d.rationale], [*d.evidence, d.event], sheet)
        event = sheet.facts.get(d.event.strip())
        if event is None or event.kind != "event":
            c.problems.append(
                Problem(
                    "citation", f"is not tied to a recorded event ({d.event.strip()!r} is not one)"
                )
            )
            c.verdict = "dropped" if c.verdict == "dropped" else "flagged"
        out.checks.append(c)
        if c.verdict != "kept" or event is None or event.at is None:
            continue
        decisions.append(
            DecisionRecord(
                date=event.at,
                context=f"Responding to {plain(sheet.incident.title)}",
                decision=c.parts[0],
                rationale=c.parts[1],
                consequences="See the timeline rows that follow",
                status="accepted",
            )
        )
    recorded = decisions or [d for d in s.decision_records if d.status != "proposed"]
    s.decision_records = [*recorded, analysis_decision(sheet, s, now)]

    for gap in draft.data_gaps:
        c = check_claim("data gap", [gap], [], sheet)
        out.checks.append(c)
        if c.verdict == "kept" and c.text not in s.data_gaps:
            s.data_gaps.append(c.text)
    if unassigned:
        s.data_gaps.append(UNASSIGNED_NOTE.format(n=unassigned))
    dropped = sum(1 for c in out.checks if c.verdict == "dropped")
    if dropped:
        s.data_gaps.append(
            f"{dropped} of the model's claims were dropped: they named people who took no "
            "part in this incident."
        )
    flagged = sum(1 for c in out.checks if c.verdict == "flagged")
    if flagged:
        s.data_gaps.append(
            f"{flagged} of the model's claims did not match the record; they are listed under "
            "“Unverified (model's suggestion)” with the reason."
        )
    return out


def analysis_decision(sheet: FactSheet, s: DraftSections, now: datetime) -> DecisionRecord:
    top = s.root_causes[0]
    several = len([rc for rc in s.root_causes if rc.kind == "technical"]) > 1
    evidence = "; ".join(e.text for e in top.evidence[:3]) or "no direct evidence"
    return DecisionRecord(
        date=now,
        context=f"Analyzing {plain(sheet.incident.title)} ({sheet.incident.id})",
        decision=f"Root cause is {top.cause}"
        + (" (one of several plausible causes)" if several else ""),
        rationale=f"Confidence {top.confidence:.0%}, computed by the bot from the evidence that "
        f"validated; evidence: {evidence}",
        consequences="Action items focus on " + ", ".join(sorted({a.group for a in s.action_items}))
        if s.action_items
        else "No action items proposed",
        status="proposed",
    )
