"""The one classifier of what caused an incident. The postmortem's root causes
(bot/postmortem/rca.py) and the patterns' root-cause category (bot/patterns/taxonomy.py)
both come from `classify`, so the two never name different causes for the same record.

1. Find: each signature (bot/causes/signatures.py) the record names — the incident's tags,
   its title, description and resolution summary, its timeline and metric readings — with
   that evidence, and the runbook section it follows.
2. Weigh what fixed it: a rollback, revert, config undo, restart, scale-out or failover
   recorded before the recovery (or in the resolution summary) supports the causes it
   undoes; a cause that was still there when the fix ended the incident was not its cause.
3. Rank: mechanisms (an exhausted pool) give way to the causes that explain them; a deploy
   folds into the code-level cause it shipped; fixed causes first, then by confidence, ties
   in signature order (symptom to deepest cause).

Pure functions; no I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

from bot.causes.models import Evidence
from bot.causes.signatures import BY_KEY, POOL_CAUSES, SIGNATURES, Signature
from bot.incidents.models import Incident
from bot.mrkdwn import hhmm, plain
from bot.runbooks import Citation, RunbookLibrary
from bot.timeline.models import EventKind, TimelineEntry

THIN_CONFIDENCE_CAP = 0.65
MAX_CONFIDENCE = 0.9
FIX_BONUS = 0.2
CODE_KEYS = ("n_plus_one", "leak", "config")  # what a deploy ships
_VERSION = re.compile(r"\bv\d+(?:\.\d+){1,3}\b")
# What ended an incident says what caused it: each kind of fix, recorded before the recovery,
# supports the causes it undoes (a rollback undoes a deploy and the code it shipped, …).
FIXES: tuple[tuple[str, frozenset[str]], ...] = (
    (r"\broll(ed|ing)?[ -]?back\b|\brevert", frozenset({"deploy", "n_plus_one", "leak"})),
    (
        r"config(uration)?\b.*\b(revert|restor|undo|undid|back)|flag\b.*\b(off|disabl)"
        r"|disabl\w* (the )?(feature )?flag",
        frozenset({"config"}),
    ),
    (r"\brestart", frozenset({"leak", "resources"})),
    (
        r"scal(e|ed|ing) (up|out)|added (capacity|replicas|instances|nodes)"
        r"|(increas|rais)\w* (the )?(pool|max_connections|capacity|replicas|limit)"
        r"|rate[- ]limit",
        frozenset({"traffic", "pool", "resources"}),
    ),
    (r"fail(ed)?[ -]?over|switched (provider|region|upstream)", frozenset({"dependency"})),
)
_NOT_DONE = re.compile(
    r"\b(decision|decided|decide|plan|planning|propos\w*|should|could|might|consider\w*|"
    r"suggest\w*|if we)\b|\?\s*$"
)
_SHOWN_PREFIX = re.compile(r"^(\d{2}:\d{2}|Resolution:) ")
_RECOVERY = re.compile(r"back to (normal|baseline)|returned to normal|\brecovered\b")


@dataclass
class Finding:
    """One signature the record names, and on what evidence."""

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


@dataclass
class Cause:
    """A technical cause, as ranked: its signature, the words the postmortem uses for it,
    how sure the record makes the bot, and whether a recorded fix undid it."""

    signature: Signature
    cause: str
    confidence: float
    evidence: list[Evidence]
    fixed: bool

    @property
    def key(self) -> str:
        return self.signature.key


@dataclass
class Classification:
    findings: list[Finding]  # signature order
    causes: list[Cause]  # technical causes, most likely first
    has_metrics: bool

    @property
    def top(self) -> Cause | None:
        return self.causes[0] if self.causes else None

    @property
    def keys(self) -> set[str]:
        return {f.signature.key for f in self.findings}


def is_evidence(entry: TimelineEntry) -> bool:
    """Events that echo the title (declared), bookkeeping (roles, action items) and the
    patterns service's own classification (derived from this same classifier) prove nothing."""
    if entry.event.kind in (EventKind.DECLARED, EventKind.ROLE, EventKind.ACTION_ITEM):
        return False
    return "root_cause_category" not in entry.event.data


def record_text(incident: Incident) -> str:
    return " ".join([incident.title, incident.description, incident.resolution_summary or ""])


def find(
    incident: Incident, entries: Sequence[TimelineEntry], library: RunbookLibrary | None
) -> list[Finding]:
    """Every signature the record names, with its evidence (signature order)."""
    findings: list[Finding] = []
    record = record_text(incident)
    for sig in SIGNATURES:
        f = Finding(signature=sig)
        tag = sig.tagged(incident.tags)
        if tag is not None:
            f.evidence.append(Evidence(kind="record", text=f"Incident tagged `{tag}`"))
        if sig.matches(record):
            f.evidence.append(Evidence(kind="record", text=f"Incident record: {plain(record)}"))
        for e in entries:
            if not is_evidence(e):
                continue
            if not sig.matches(" ".join([e.event.text, *e.event.data.values()])):
                continue
            kind = "metric" if e.event.kind is EventKind.METRICS else "timeline"
            f.evidence.append(
                Evidence(kind=kind, at=e.event.at, text=f"{hhmm(e.event.at)} {plain(e.event.text)}")
            )
        if not f.evidence:
            continue
        if library is not None and sig.runbook_keywords:
            f.citation = library.find(list(sig.runbook_keywords))
            if f.citation is not None:
                f.evidence.append(
                    Evidence(
                        kind="runbook",
                        text=f"Runbook: {f.citation.rendered}",
                        citation=f.citation.rendered,
                    )
                )
        findings.append(f)
    # readings of the mechanism (an exhausted pool) support the causes that explain it
    pool = next((f for f in findings if f.signature.key == "pool"), None)
    if pool is not None:
        readings = [e for e in pool.evidence if e.kind == "metric"]
        for f in findings:
            if f.signature.key in POOL_CAUSES:
                f.evidence += [e for e in readings if e not in f.evidence]
    for f, fix in fixes_for(incident, entries, findings):
        f.fixed_by.append(fix)
        f.evidence.append(fix)
    return findings


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
    incident: Incident, entries: Sequence[TimelineEntry], findings: Sequence[Finding]
) -> list[tuple[Finding, Evidence]]:
    """The fixes recorded before the recovery (and the resolution summary), each paired with
    the found cause it undoes."""
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
    out: list[tuple[Finding, Evidence]] = []
    for text, at, shown in found:
        low = text.lower()
        for pattern, keys in FIXES:
            if not re.search(pattern, low):
                continue
            for f in findings:
                if f.signature.key in keys and all(x.text != shown for x in f.fixed_by):
                    ev = Evidence(kind="resolution", at=at, text=f"{shown} (what fixed it)")
                    out.append((f, ev))
    return out


def confidence(f: Finding, has_metrics: bool) -> float:
    score = 0.3 + 0.1 * min(f.timeline_hits, 3) + 0.15 * min(f.metric_hits, 2)
    score += 0.1 if f.citation is not None else 0.0
    score += FIX_BONUS if f.fixed_by else 0.0
    thin = (f.timeline_hits + f.metric_hits) < 3 or not has_metrics
    return round(min(score, THIN_CONFIDENCE_CAP if thin else MAX_CONFIDENCE), 2)


def versions(findings: Iterable[Finding]) -> list[str]:
    found: list[str] = []
    for f in findings:
        for e in f.evidence:
            for v in _VERSION.findall(e.text):
                if v not in found:
                    found.append(v)
    return found


def rank(findings: Sequence[Finding], has_metrics: bool) -> list[Cause]:
    """The technical causes the findings support, most likely first (module docstring)."""
    by_key = {f.signature.key: f for f in findings}
    code = [k for k in CODE_KEYS if k in by_key]
    deploy = by_key.get("deploy")
    shipped = versions([deploy]) if deploy is not None else []
    causes: list[Cause] = []
    for f in findings:
        sig = f.signature
        if sig.mechanism and any(not x.signature.mechanism for x in findings):
            continue
        if sig.key == "deploy" and code:
            continue  # folded into the code-level cause below
        text = sig.cause
        evidence = list(f.evidence)
        conf = confidence(f, has_metrics)
        fixed = bool(f.fixed_by)
        if sig.key in code and deploy is not None:
            introduced = f" in {shipped[0]}" if shipped else " by a recent deployment"
            text = f"{sig.cause}, introduced{introduced}"
            evidence += [e for e in deploy.evidence if e not in evidence]
            conf = min(conf + 0.05, MAX_CONFIDENCE if has_metrics else THIN_CONFIDENCE_CAP)
            if not fixed and deploy.fixed_by:
                fixed = True  # rolling the deploy back removed the code it shipped
                conf = min(conf + FIX_BONUS, MAX_CONFIDENCE)
        elif sig.key == "deploy" and shipped:
            text = f"{sig.cause} ({shipped[0]})"
        causes.append(Cause(sig, text, round(conf, 2), evidence, fixed))
    rank_by_what_fixed_it(causes, [c for c in causes if c.fixed])
    return causes


class Ranked(Protocol):
    confidence: float


R = TypeVar("R", bound=Ranked)


def rank_by_what_fixed_it(causes: list[R], fixed: Sequence[R]) -> None:
    """Causes the recorded fix undid come first; the others stay below the weakest of them
    (a traffic spike that was still there when a rollback ended the incident was not its
    cause). Without a recorded fix, by confidence (ties keep their order)."""
    if fixed:
        floor = min(c.confidence for c in fixed)
        for c in causes:
            if c not in fixed and c.confidence >= floor:
                c.confidence = round(max(floor - 0.05, 0.3), 2)
    causes.sort(key=lambda c: (c not in fixed, -c.confidence))


def classify(
    incident: Incident,
    entries: Sequence[TimelineEntry] = (),
    library: RunbookLibrary | None = None,
) -> Classification:
    findings = find(incident, entries, library)
    has_metrics = any(e.event.kind is EventKind.METRICS for e in entries)
    return Classification(findings, rank(findings, has_metrics), has_metrics)


def signature_of(cause_text: str) -> Signature | None:
    """The signature a cause's words name (a postmortem's, possibly the model's): one of
    ours by its wording, else the most likely of those the words mention."""
    for sig in SIGNATURES:
        if cause_text.startswith(sig.cause):
            return sig
    findings = [
        Finding(sig, [Evidence(kind="record", text=cause_text)])
        for sig in SIGNATURES
        if sig.matches(cause_text)
    ]
    causes = rank(findings, has_metrics=False)
    return BY_KEY[causes[0].key] if causes else None


def why(incident: Incident, entries: Sequence[TimelineEntry], cause: Cause) -> str:
    """Where the record names `cause`, in a few words: what fixed it, else the first of the
    tags, resolution summary, title, description and timeline that names it."""
    if cause.fixed:
        # the last step taken before the recovery, else the resolution summary
        fixes = [e for e in cause.evidence if e.kind == "resolution"]
        steps = [e for e in fixes if not e.text.startswith("Resolution:")]
        if steps or fixes:  # its words, without the UTC time the postmortem shows
            fix = (steps or fixes)[-1]
            shown = _SHOWN_PREFIX.sub("", fix.text.removesuffix(" (what fixed it)"))
            return f"what fixed it: “{_short(shown, 60)}”"
    sig = cause.signature
    tag = sig.tagged(incident.tags)
    if tag is not None:
        return f"tagged `{tag}`"
    timeline = " ".join(e.event.text for e in entries if is_evidence(e))
    for where, text in (
        ("the resolution summary", incident.resolution_summary or ""),
        ("the title", incident.title),
        ("the description", incident.description),
        ("the timeline", timeline),
    ):
        word = sig.keyword(text)
        if word:
            return f"{where} mentions “{_short(word, 40)}”"
    return "the record"


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
