"""Root-cause analysis for the postmortem: the causes the one classifier
(bot/causes/classifier.py) ranks, in the postmortem's words, with the organizational cause a
change implies, and the contributing factors the record shows."""

from __future__ import annotations

from collections.abc import Sequence

from bot.causes.classifier import THIN_CONFIDENCE_CAP, Classification, Finding
from bot.causes.signatures import CHANGE_KEYS, Template
from bot.incidents.models import Incident, Role
from bot.postmortem.models import ContributingFactor, Durations, RootCause


def root_causes(classification: Classification) -> list[RootCause]:
    causes = [
        RootCause(
            cause=c.cause,
            category=c.signature.category,
            kind="technical",
            confidence=c.confidence,
            evidence=c.evidence,
        )
        for c in classification.causes
    ]
    if classification.keys & CHANGE_KEYS and causes:
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


def contributing_factors(
    incident: Incident, findings: Sequence[Finding], dur: Durations, *, has_metrics: bool
) -> tuple[list[ContributingFactor], list[Template]]:
    """The matched signatures' factors plus what the record itself shows (no Comms lead, slow
    mitigation, no metric readings), with the action templates those gaps call for."""
    services = ", ".join(incident.services) or "the affected service"
    factors: list[ContributingFactor] = []
    for found in findings:
        for text, cat, prev in found.signature.factors:
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
