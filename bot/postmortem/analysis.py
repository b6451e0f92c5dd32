"""The deterministic postmortem: every section built from the incident record alone.

Times and durations come from the recorded incident and its timeline; root causes come from
keyword signatures found in the timeline, metric readings and the record, each grounded in
the runbook section it follows (bot.runbooks). When evidence is thin, confidence stays below
70 % and the gaps are listed."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from bot.incidents.models import Incident, Role, Severity, format_duration
from bot.postmortem.models import (
    ContributingFactor,
    DecisionRecord,
    DraftSections,
    Durations,
    Evidence,
    Postmortem,
    ProposedAction,
    RootCause,
    TimelineRow,
    WhyStep,
)
from bot.runbooks import Citation, RunbookLibrary
from bot.timeline.models import EventKind, TimelineEntry

THIN_CONFIDENCE_CAP = 0.65
MAX_CONFIDENCE = 0.9
BUSINESS_HOURS = range(9, 18)
_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
_VERSION = re.compile(r"\bv\d+(?:\.\d+){1,3}\b")


def plain(text: str) -> str:
    """Slack markup to plain text: `<@U1>` -> `@U1`, entities decoded, one line."""
    text = _MENTION.sub(r"@\1", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(text.split())


def hhmm(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%H:%M")


# --- signatures ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    type: str
    text: str
    rank: int  # 0 most urgent; severity shifts it


@dataclass(frozen=True)
class Signature:
    key: str
    cause: str
    category: str
    patterns: tuple[str, ...]
    answer: str  # "Because …" in the five whys
    follow_up: str  # the next "Why …?"
    runbook_keywords: tuple[str, ...] = ()
    mechanism: bool = False  # a symptom / mechanism, not a root cause on its own
    factors: tuple[tuple[str, str, bool], ...] = ()
    actions: tuple[Template, ...] = ()
    tags: tuple[str, ...] = ()

    def matches(self, text: str) -> bool:
        low = text.lower()
        return any(re.search(p, low) for p in self.patterns)


# Ordered from symptom to deepest cause: the five whys walk them in this order.
SIGNATURES: tuple[Signature, ...] = (
    Signature(
        key="pool",
        cause="Database connection pool exhaustion",
        category="capacity",
        patterns=(
            r"connection pool",
            r"\bpool\b.*(exhaust|saturat|100\s?%|full)",
            r"connectionpooltimeout",
            r"max_connections",
            r"db pool",
        ),
        answer="the database connection pool was exhausted, so requests timed out waiting "
        "for a connection",
        follow_up="Why was the connection pool exhausted?",
        runbook_keywords=("ConnectionPoolTimeoutError",),
        mechanism=True,
        factors=(
            ("No alert on connection pool utilisation before exhaustion", "technology", True),
        ),
        actions=(
            Template("detect", "Alert at 80% database pool utilisation (critical at 90%)", 0),
            Template("mitigate", "Document connection pool troubleshooting in the runbook", 1),
        ),
        tags=("database", "connection-pool"),
    ),
    Signature(
        key="traffic",
        cause="Traffic spike above the capacity the service was sized for",
        category="capacity",
        patterns=(
            r"traffic",
            r"\bspike\b",
            r"\b\d+(\.\d+)?x (normal |the )?(load|traffic)",
            r"campaign",
            r"req/s",
            r"surge",
        ),
        answer="traffic rose sharply above normal load",
        follow_up="Why did the extra traffic overwhelm the service?",
        runbook_keywords=("ConnectionPoolTimeoutError", "Traffic Spike"),
        factors=(
            (
                "Traffic increase was not anticipated or coordinated with engineering",
                "process",
                True,
            ),
        ),
        actions=(
            Template(
                "process",
                "Notify engineering before campaigns and launches; review capacity for them",
                1,
            ),
            Template("prevent", "Load-test for the expected peak before announced campaigns", 1),
        ),
        tags=("capacity", "traffic"),
    ),
    Signature(
        key="n_plus_one",
        cause="N+1 query pattern multiplying database queries per request",
        category="code",
        patterns=(
            r"n\+1",
            r"n \+ 1",
            r"query per (row|item)",
            r"queries per request",
            r"inefficient quer",
        ),
        answer="an N+1 query pattern issued one query per row, multiplying database load",
        follow_up="Why did the N+1 query pattern reach production?",
        runbook_keywords=("ConnectionPoolTimeoutError", "N+1 query pattern"),
        factors=(
            ("N+1 query pattern not caught by code review or tests", "process", True),
            ("No per-endpoint query count monitoring", "technology", True),
        ),
        actions=(
            Template(
                "prevent", "Add query-count assertions to tests for the affected endpoints", 0
            ),
            Template("detect", "Add per-endpoint query count and query time metrics", 1),
            Template("prevent", "Add an N+1 / ORM query check to the code review checklist", 2),
        ),
        tags=("n-plus-one", "database", "performance"),
    ),
    Signature(
        key="leak",
        cause="Connection or memory leak",
        category="code",
        patterns=(r"\bleak", r"not returned to the pool", r"\boom\b", r"out of memory"),
        answer="connections or memory leaked and were never returned",
        follow_up="Why did the leak go unnoticed?",
        runbook_keywords=("ConnectionPoolTimeoutError", "Connection Leak"),
        factors=(("Leak not detected in staging", "technology", True),),
        actions=(
            Template(
                "prevent", "Use context managers for every connection and enable leak detection", 0
            ),
        ),
        tags=("leak",),
    ),
    Signature(
        key="slow_query",
        cause="Long-running queries holding connections",
        category="database",
        patterns=(r"slow quer", r"long[- ]running quer", r"query (latency|duration|time)"),
        answer="slow queries held database connections for much longer than usual",
        follow_up="Why were the queries slow?",
        runbook_keywords=("ConnectionPoolTimeoutError", "Long-running queries"),
        actions=(Template("detect", "Alert on slow query log and query duration p95", 1),),
        tags=("database",),
    ),
    Signature(
        key="config",
        cause="Configuration change",
        category="configuration",
        patterns=(r"config(uration)? change", r"feature flag", r"\bflag (flip|turned)"),
        answer="a configuration change altered the service's behaviour",
        follow_up="Why was the configuration change not caught before production?",
        actions=(
            Template(
                "prevent", "Validate configuration changes in CI and roll them out gradually", 1
            ),
        ),
        tags=("configuration",),
    ),
    Signature(
        key="dependency",
        cause="Failure of an upstream dependency",
        category="external",
        patterns=(r"upstream", r"third[- ]party", r"\bdns\b", r"certificate", r"provider"),
        answer="an upstream dependency failed",
        follow_up="Why did the dependency failure reach users?",
        factors=(
            ("Dependency failure not isolated (timeouts, circuit breaker)", "technology", True),
        ),
        actions=(
            Template("mitigate", "Add timeouts and a circuit breaker around the dependency", 1),
        ),
        tags=("dependency",),
    ),
    Signature(
        key="deploy",
        cause="Change introduced by a recent deployment",
        category="deployment",
        patterns=(
            r"\bdeploy",
            r"\brelease",
            r"roll ?back",
            r"revert",
            r"rolled out",
            r"\bv\d+\.\d+",
        ),
        answer="a recent deployment introduced the change",
        follow_up="Why was the change not caught before it reached production?",
        factors=(("No automatic rollback on error-rate threshold", "technology", True),),
        actions=(
            Template(
                "mitigate",
                "Automate rollback when the error rate crosses its threshold after a deploy",
                0,
            ),
            Template(
                "process",
                "Require load-testing sign-off for deploys that change "
                "query or concurrency patterns",
                1,
            ),
            Template("prevent", "Roll out changes gradually (canary) with automated checks", 2),
        ),
        tags=("deployment",),
    ),
)
ORG_ANSWER = (
    "the change was not load tested or reviewed for performance before production, so "
    "nothing stopped it"
)
CHANGE_KEYS = {"deploy", "n_plus_one", "leak", "config"}
POOL_CAUSES = {"traffic", "n_plus_one", "leak", "slow_query"}


@dataclass
class Match:
    signature: Signature
    evidence: list[Evidence] = field(default_factory=list)
    citation: Citation | None = None

    @property
    def timeline_hits(self) -> int:
        return sum(1 for e in self.evidence if e.kind in ("timeline", "record"))

    @property
    def metric_hits(self) -> int:
        return sum(1 for e in self.evidence if e.kind == "metric")


@dataclass
class Analysis:
    postmortem: Postmortem
    citations: list[Citation]
    matches: list[Match]


# --- timeline ------------------------------------------------------------------------------


def significance(entry: TimelineEntry) -> str:
    ev = entry.event
    kind = ev.kind
    if kind is EventKind.DECLARED:
        return "Response initiated"
    if kind is EventKind.ALERT:
        return "Detection"
    if kind is EventKind.ROLE:
        role = ev.data.get("role", "")
        try:
            return f"{Role(role).display_name} assigned"
        except ValueError:
            return "Role assigned"
    if kind is EventKind.SEVERITY:
        return "Severity changed"
    if kind is EventKind.STATUS:
        return {
            "identified": "Root cause identified",
            "monitoring": "Mitigation applied",
            "investigating": "Investigation",
        }.get(ev.data.get("to", ""), "Status changed")
    if kind is EventKind.RESOLVED:
        return "Resolved — impact ends"
    if kind is EventKind.CLOSED:
        return "Closed"
    if kind is EventKind.METRICS:
        return "Metric reading"
    if kind is EventKind.ACTION_ITEM:
        return "Follow-up"
    if kind in (EventKind.SERVICES, EventKind.TAGS):
        return "Scope updated"
    low = ev.text.lower()
    rules = (
        (r"decision|decided", "Decision"),
        (
            r"roll ?back|revert|restart|scal(e|ed) (up|out)|increas|raised|failover|disabl",
            "Mitigation attempt",
        ),
        (r"root cause|identified|found|caused by", "Investigation"),
        (r"status page|customer|email|announce", "Communication"),
        (r"deploy|release|rolled out|shipped", "Change"),
        (r"\balert|\bpaged\b|\bfired\b", "Detection"),
        (r"exhaust|saturat|timing out|cascad|outage|\bdown\b", "Impact escalates"),
        (r"analysis|observed|shows|revealed|traffic|spike", "Investigation finding"),
        (r"baseline|back to normal|recovered|returned to normal", "Recovery"),
    )
    for pattern, label in rules:
        if re.search(pattern, low):
            return label
    return "Key event"


def timeline_rows(entries: Sequence[TimelineEntry]) -> list[TimelineRow]:
    return [
        TimelineRow(
            time=e.event.at,
            event=plain(e.event.text) or e.event.kind.value,
            significance=significance(e),
        )
        for e in entries
        if e.is_key
    ]


def durations(incident: Incident) -> Durations:
    def secs(d: timedelta | None) -> int | None:
        return None if d is None else int(d.total_seconds())

    return Durations(
        ttd_seconds=secs(incident.time_to_detect),
        ttm_seconds=secs(incident.time_to_mitigate),
        ttr_seconds=secs(incident.time_to_resolve),
    )


# --- evidence and root causes ----------------------------------------------------------------


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
            if e.event.kind in (EventKind.DECLARED, EventKind.ROLE, EventKind.ACTION_ITEM):
                continue  # echoes the title / bookkeeping, not evidence
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
    return matches


def confidence(m: Match, has_metrics: bool) -> float:
    score = 0.3 + 0.1 * min(m.timeline_hits, 3) + 0.15 * min(m.metric_hits, 2)
    score += 0.1 if m.citation is not None else 0.0
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
        if sig.key in code and "deploy" in by_key:
            conf = min(conf + 0.05, MAX_CONFIDENCE if has_metrics else THIN_CONFIDENCE_CAP)
        causes.append(
            RootCause(
                cause=cause,
                category=sig.category,
                kind="technical",
                confidence=round(conf, 2),
                evidence=evidence,
            )
        )
    causes.sort(key=lambda rc: -rc.confidence)
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


def five_whys(title: str, matches: Sequence[Match]) -> list[WhyStep]:
    chain = [m.signature for m in matches]
    first_q = f"Why did “{plain(title)}” happen?"
    if not chain:
        return [
            WhyStep(
                question=first_q,
                answer="Unknown: the timeline records no cause. Fill this in at the review.",
            )
        ]
    answers = [f"Because {s.answer}." for s in chain]
    questions = [first_q, *(s.follow_up for s in chain)]
    if {s.key for s in chain} & CHANGE_KEYS:
        answers.append(f"Because {ORG_ANSWER}.")
    steps = [WhyStep(question=q, answer=a) for q, a in zip(questions, answers, strict=False)]
    return steps[:5]


# --- the rest of the sections -------------------------------------------------------------


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
    incident: Incident, matches: Sequence[Match], extra: Sequence[Template], base: date
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
) -> Analysis:
    rows = timeline_rows(entries)
    dur = durations(incident)
    matches = find_matches(incident, entries, library)
    metric_entries = [e for e in entries if e.event.kind is EventKind.METRICS]
    has_metrics = bool(metric_entries)
    causes = root_causes(matches, has_metrics)
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
    impact += [
        f"Metric reading at {hhmm(e.event.at)} UTC: {plain(e.event.text)}"
        for e in metric_entries[:5]
    ]

    # contributing factors
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
    declared_utc = incident.declared_at.astimezone(UTC)
    if declared_utc.hour in BUSINESS_HOURS and declared_utc.weekday() < 5:
        lucky.append("It happened during business hours (UTC), when the team was available")
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
