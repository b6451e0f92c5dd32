"""The public wording: drafted from the record without a model (a template per status),
and checked before anything is published. Public text never carries people's names or
mentions, channel names, internal service or host names that are not components, the
incident's id, or anything from a private incident's record."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.incidents.models import Incident, Severity, Status
from bot.statuspage.components import Components
from bot.statuspage.models import ComponentStatus, PublicStatus

MAX_TITLE = 255
MAX_MESSAGE = 2000
STATUS_FOR_SEVERITY = {
    Severity.SEV1: ComponentStatus.MAJOR,
    Severity.SEV2: ComponentStatus.PARTIAL,
    Severity.SEV3: ComponentStatus.DEGRADED,
    Severity.SEV4: ComponentStatus.DEGRADED,
}
PUBLIC_STATUS = {
    Status.INVESTIGATING: PublicStatus.INVESTIGATING,
    Status.IDENTIFIED: PublicStatus.IDENTIFIED,
    Status.MONITORING: PublicStatus.MONITORING,
    Status.RESOLVED: PublicStatus.RESOLVED,
    Status.CLOSED: PublicStatus.RESOLVED,
}
MESSAGES = {
    PublicStatus.INVESTIGATING: "We are investigating {problem} affecting {names}. We will "
    "post an update as soon as we know more.",
    PublicStatus.IDENTIFIED: "We have identified the cause of {problem} affecting {names} "
    "and are working on a fix.",
    PublicStatus.MONITORING: "A fix has been put in place for {problem} affecting {names}. "
    "We are monitoring the results.",
    PublicStatus.RESOLVED: "This incident has been resolved. {names} {are} operating normally.",
}
PROBLEM = {
    ComponentStatus.DEGRADED: "degraded performance",
    ComponentStatus.PARTIAL: "a partial outage",
    ComponentStatus.MAJOR: "an outage",
    ComponentStatus.MAINTENANCE: "maintenance",
    ComponentStatus.OPERATIONAL: "a problem",
}
MENTION = re.compile(r"<[@#!][^>]*>|(?<![\w@])@[A-Za-z][\w.\-]*")
CHANNEL = re.compile(r"(?<![\w&])#[a-z0-9][\w-]*", re.IGNORECASE)
IP = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
INTERNAL_HOST = re.compile(
    r"\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:internal|local|lan|corp|intra|svc|cluster\.local)\b"
    r"|\b[a-z][a-z0-9]*(?:-[a-z0-9]+)*-\d+[a-z]?\b|\bip-\d+(?:-\d+){3}\b",
    re.IGNORECASE,
)
INCIDENT_ID = re.compile(r"\bINC-\d{8}-\d+\b", re.IGNORECASE)
_COMMON = (
    "about after again before being could their there these those through under which "
    "while would incident outage issue problem error errors service services customers "
    "users degraded latency timeout timeouts"
)
COMMON = frozenset(_COMMON.split(" "))


def names_text(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def default_statuses(incident: Incident, components: Components) -> dict[str, ComponentStatus]:
    """The components the incident's services affect, at the status its severity says."""
    status = STATUS_FOR_SEVERITY[incident.severity]
    affected = components.affected_by(incident.services)
    public = [c for c in affected if not c.internal]
    return {c.name: status for c in (public or affected)}


def draft_title(statuses: dict[str, ComponentStatus]) -> str:
    """"Checkout degraded", "Checkout and Payments unavailable"."""
    if not statuses:
        return "Service disruption"
    worst = max(statuses.values(), key=lambda s: s.rank)
    return f"{names_text(list(statuses))} {worst.short}"[:MAX_TITLE]


def draft_message(statuses: dict[str, ComponentStatus], status: PublicStatus) -> str:
    names = list(statuses) or ["some of our services"]
    worst = max(statuses.values(), key=lambda s: s.rank, default=ComponentStatus.OPERATIONAL)
    return MESSAGES[status].format(
        problem=PROBLEM[worst], names=names_text(names), are="are" if len(names) > 1 else "is"
    )


@dataclass
class PublicContext:
    """What public words must not contain, for one incident."""

    incident: Incident
    components: Components
    people: set[str] = field(default_factory=set)  # names and handles the record knows
    public: bool = True  # goes on the public page: internal components are not named either

    def internal_names(self) -> set[str]:
        shown = {c.name.lower() for c in self.components.components}
        services = {s.lower() for s in self.incident.services} | self.components.internal_names()
        hidden = {c.name.lower() for c in self.components.components if c.internal} \
            if self.public else set()
        return {s for s in services if s not in shown and len(s) > 2} | hidden

    def private_words(self) -> set[str]:
        if not self.incident.private:
            return set()
        words = {w.lower() for w in re.findall(r"[A-Za-z][\w-]{4,}", self.incident.title)}
        named = {c.name.lower() for c in self.components.components}  # customers know these
        return (words - COMMON - named) | {self.incident.title.lower()}


def _has_word(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text, re.IGNORECASE) is not None


def public_problems(text: str, ctx: PublicContext) -> list[str]:
    """Why `text` may not be published (plain words; empty when it may)."""
    problems: list[str] = []
    if MENTION.search(text):
        problems.append("it mentions a person or a channel")
    if CHANNEL.search(text) or _has_word(text, ctx.incident.channel_name):
        problems.append("it names a channel")
    found = [p for p in sorted(ctx.people) if len(p) > 2 and _has_word(text, p)]
    if found:
        problems.append("it names someone from the incident")
    internal = sorted(n for n in ctx.internal_names() if _has_word(text, n))
    if internal:
        problems.append("it names an internal service (" + ", ".join(internal) + "); name the "
                        "component customers know instead")
    if IP.search(text) or INTERNAL_HOST.search(text):
        problems.append("it names a host or an address")
    if INCIDENT_ID.search(text):
        problems.append("it carries the internal incident id")
    if any(_has_word(text, w) for w in ctx.private_words()):
        problems.append("it repeats words of a private incident")
    return problems


def maintenance_problems(text: str, components: Components) -> list[str]:
    """Why a public maintenance window's words may not be published: no incident stands
    behind them, so the checks are those that need none (plain words; empty when fine)."""
    problems: list[str] = []
    if MENTION.search(text) or CHANNEL.search(text):
        problems.append("it mentions a person or a channel")
    hidden = {c.name.lower() for c in components.components if c.internal} | {
        s for s in components.internal_names() if len(s) > 2}
    internal = sorted(n for n in hidden if _has_word(text, n))
    if internal:
        problems.append("it names something internal (" + ", ".join(internal) + ")")
    if IP.search(text) or INTERNAL_HOST.search(text):
        problems.append("it names a host or an address")
    if INCIDENT_ID.search(text):
        problems.append("it carries an internal incident id")
    return problems
