"""The root-cause taxonomy: a small, documented set of categories, each with keywords.

The postmortem analysis (bot/postmortem/signatures.py, `SIGNATURES`) already knows how to
spot most causes in text; each category here reuses that signature's regular expressions
(`signature`) and adds its own keywords and tags, so the two never drift apart.

Categories, most specific cause first (the order breaks ties — a connection pool is usually
the mechanism of an N+1 query or a traffic spike, and a deploy is mentioned in most
timelines, so both only win when nothing deeper matches):

* n_plus_one           N+1 query — one query per row
* config_change        configuration change / feature flag
* dependency_outage    an upstream or third-party dependency failed
* traffic_spike        load above what the service was sized for
* resource_exhaustion  memory, disk, CPU, file descriptors, leaks
* connection_pool      connection-pool exhaustion
* bad_deploy           a change shipped by a deploy
* other                nothing recognised
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from bot.incidents.models import Incident
from bot.postmortem.signatures import SIGNATURES, Signature


class Category(StrEnum):
    N_PLUS_ONE = "n_plus_one"
    CONFIG_CHANGE = "config_change"
    DEPENDENCY_OUTAGE = "dependency_outage"
    TRAFFIC_SPIKE = "traffic_spike"
    RESOURCE_EXHAUSTION = "resource_exhaustion"
    CONNECTION_POOL = "connection_pool"
    BAD_DEPLOY = "bad_deploy"
    OTHER = "other"

    @property
    def label(self) -> str:
        return DEFINITIONS[self].label if self in DEFINITIONS else "other"


@dataclass(frozen=True)
class Definition:
    category: Category
    label: str  # "N+1 query": reads well in "third N+1 query incident in 6 months"
    patterns: tuple[str, ...]  # extra regular expressions on lower-cased text
    tags: tuple[str, ...] = ()  # incident tags that mean this category outright
    signature: str | None = None  # the postmortem signature whose patterns are reused
    aliases: tuple[str, ...] = ()

    def _signature(self) -> Signature | None:
        return next((s for s in SIGNATURES if s.key == self.signature), None)

    def hit(self, text: str) -> str | None:
        """The first keyword found in `text` (for the explanation), or None."""
        low = text.lower()
        sig = self._signature()
        for pattern in (*self.patterns, *(sig.patterns if sig else ())):
            m = re.search(pattern, low)
            if m:
                return m.group(0).strip()
        return None


_DEFS = (
    Definition(
        Category.N_PLUS_ONE,
        "N+1 query",
        (r"n\s?\+\s?1", r"n-plus-one", r"one query per", r"orm quer"),
        tags=("n+1", "n-plus-one", "nplusone", "n_plus_one"),
        signature="n_plus_one",
        aliases=("n+1", "nplus1", "n-plus-one", "n+1-query"),
    ),
    Definition(
        Category.CONFIG_CHANGE,
        "configuration change",
        (r"misconfig", r"config (push|change|error)", r"wrong (setting|config)", r"\bttl\b"),
        tags=("config", "configuration", "config-change", "feature-flag"),
        signature="config",
        aliases=("config", "configuration"),
    ),
    Definition(
        Category.DEPENDENCY_OUTAGE,
        "dependency outage",
        (r"vendor", r"\b(aws|gcp|azure|stripe|twilio|cloudflare)\b.*(outage|down|degrad)"),
        tags=("dependency", "third-party", "upstream", "vendor"),
        signature="dependency",
        aliases=("dependency", "upstream", "vendor"),
    ),
    Definition(
        Category.TRAFFIC_SPIKE,
        "traffic spike",
        (r"load spike", r"thundering herd", r"\bddos\b", r"flash sale"),
        tags=("traffic", "traffic-spike", "load"),
        signature="traffic",
        aliases=("traffic", "spike", "load"),
    ),
    Definition(
        Category.RESOURCE_EXHAUSTION,
        "resource exhaustion",
        (
            r"disk (full|space)",
            r"no space left",
            r"memory (pressure|exhaust)",
            r"\bcpu (saturat|throttl|100)",
            r"too many open files",
            r"file descriptor",
            r"oomkill",
        ),
        tags=("memory", "disk", "oom", "leak", "resource-exhaustion"),
        signature="leak",
        aliases=("resource", "resources", "memory", "disk", "leak"),
    ),
    Definition(
        Category.CONNECTION_POOL,
        "connection-pool exhaustion",
        (r"pool exhaust", r"too many connections", r"connection limit"),
        tags=("connection-pool", "db-pool", "pool"),
        signature="pool",
        aliases=("pool", "connection-pool", "connection_pool", "db-pool"),
    ),
    Definition(
        Category.BAD_DEPLOY,
        "bad deploy",
        (r"bad (deploy|release|build)", r"regression"),
        tags=("deploy", "deployment", "release", "bad-deploy"),
        signature="deploy",
        aliases=("deploy", "deployment", "release"),
    ),
)
DEFINITIONS: dict[Category, Definition] = {d.category: d for d in _DEFS}
ORDER: tuple[Category, ...] = tuple(d.category for d in _DEFS)


def parse_category(value: str) -> Category | None:
    """`n+1`, `N+1 query`, `n_plus_one`, `pool` … → a category; None when unknown."""
    v = value.strip().lower().replace(" ", "_")
    for cat in Category:
        d = DEFINITIONS.get(cat)
        names = {cat.value, cat.value.replace("_", "-"), cat.label.lower().replace(" ", "_")}
        if d is not None:
            names |= {a.replace(" ", "_") for a in d.aliases}
        if v in names:
            return cat
    return None


def categorize(
    incident: Incident,
    timeline_texts: Iterable[str] = (),
    root_causes: Iterable[str] = (),
) -> tuple[Category, str]:
    """The incident's root-cause category and why, looking (in this order of trust) at the
    postmortem's root causes, the tags, the resolution summary, the title and description,
    and then the timeline. Within the first source that names anything, the most specific
    category wins (see the module docstring)."""
    sources: list[tuple[str, list[str]]] = [
        ("the postmortem's root cause", [t for t in root_causes if t]),
        ("the resolution summary", [incident.resolution_summary or ""]),
        ("the title", [incident.title]),
        ("the description", [incident.description]),
        ("the timeline", [t for t in timeline_texts if t]),
    ]
    tags = {t.lower() for t in incident.tags}
    for cat in ORDER:
        hit = tags & set(DEFINITIONS[cat].tags)
        if hit:
            return cat, f"tagged `{sorted(hit)[0]}`"
    for where, texts in sources:
        found: dict[Category, str] = {}
        for text in texts:
            for cat in ORDER:
                if cat not in found:
                    kw = DEFINITIONS[cat].hit(text)
                    if kw:
                        found[cat] = kw
        if found:
            best = next(c for c in ORDER if c in found)
            return best, f"{where} mentions “{found[best][:40]}”"
    return Category.OTHER, "no known cause named in the record or timeline"


def label(category: str | None) -> str:
    """Display name of a stored category value (unknown values shown as they are)."""
    if category is None:
        return "uncategorised"
    try:
        return Category(category).label
    except ValueError:
        return category.replace("_", " ")
