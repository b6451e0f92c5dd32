"""The root-cause taxonomy: a small, documented set of categories, one per cause signature.

An incident's category is the category of the cause the one classifier ranks first
(bot/causes/classifier.py, the same one the postmortem's root cause comes from): it weighs
what fixed the incident, so a traffic spike that was still there when a rollback ended it
does not win over the deploy the rollback undid. When the incident has a postmortem, the
category is its top root cause's (the postmortem is what people reviewed).

Categories (the signatures they come from):

* n_plus_one           N+1 query — one query per row            (n_plus_one)
* config_change        configuration change / feature flag     (config)
* dependency_outage    an upstream or third-party dependency   (dependency)
* traffic_spike        load above what the service was sized for (traffic)
* resource_exhaustion  memory, disk, CPU, file descriptors, leaks (leak, resources)
* slow_query           long-running queries holding connections (slow_query)
* connection_pool      connection-pool exhaustion               (pool)
* bad_deploy           a change shipped by a deploy             (deploy)
* other                nothing recognised
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.causes.classifier import classify, signature_of, why
from bot.incidents.models import Incident
from bot.runbooks import RunbookLibrary
from bot.timeline.models import TimelineEntry


class Category(StrEnum):
    N_PLUS_ONE = "n_plus_one"
    CONFIG_CHANGE = "config_change"
    DEPENDENCY_OUTAGE = "dependency_outage"
    TRAFFIC_SPIKE = "traffic_spike"
    RESOURCE_EXHAUSTION = "resource_exhaustion"
    SLOW_QUERY = "slow_query"
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
    signatures: tuple[str, ...]  # the cause signatures (bot/causes/signatures.py) it names
    aliases: tuple[str, ...] = ()


_DEFS = (
    Definition(
        Category.N_PLUS_ONE,
        "N+1 query",
        ("n_plus_one",),
        aliases=("n+1", "nplus1", "n-plus-one", "n+1-query"),
    ),
    Definition(
        Category.CONFIG_CHANGE,
        "configuration change",
        ("config",),
        aliases=("config", "configuration"),
    ),
    Definition(
        Category.DEPENDENCY_OUTAGE,
        "dependency outage",
        ("dependency",),
        aliases=("dependency", "upstream", "vendor"),
    ),
    Definition(
        Category.TRAFFIC_SPIKE,
        "traffic spike",
        ("traffic",),
        aliases=("traffic", "spike", "load"),
    ),
    Definition(
        Category.RESOURCE_EXHAUSTION,
        "resource exhaustion",
        ("leak", "resources"),
        aliases=("resource", "resources", "memory", "disk", "leak"),
    ),
    Definition(
        Category.SLOW_QUERY,
        "slow query",
        ("slow_query",),
        aliases=("slow-query", "slow-queries", "slow_queries"),
    ),
    Definition(
        Category.CONNECTION_POOL,
        "connection-pool exhaustion",
        ("pool",),
        aliases=("pool", "connection-pool", "connection_pool", "db-pool"),
    ),
    Definition(
        Category.BAD_DEPLOY,
        "bad deploy",
        ("deploy",),
        aliases=("deploy", "deployment", "release"),
    ),
)
DEFINITIONS: dict[Category, Definition] = {d.category: d for d in _DEFS}
ORDER: tuple[Category, ...] = tuple(d.category for d in _DEFS)
_BY_SIGNATURE: dict[str, Category] = {key: d.category for d in _DEFS for key in d.signatures}


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


def category_of_signature(key: str) -> Category:
    return _BY_SIGNATURE.get(key, Category.OTHER)


def categorize(
    incident: Incident,
    entries: Sequence[TimelineEntry] = (),
    *,
    library: RunbookLibrary | None = None,
    postmortem_cause: str | None = None,
) -> tuple[Category, str]:
    """The incident's root-cause category and why: the postmortem's top root cause when it
    has one, else the cause the classifier ranks first from the record and `entries` (its
    timeline; the runbook `library` is the postmortem's, so both rank alike)."""
    if postmortem_cause:
        sig = signature_of(postmortem_cause)
        if sig is not None:
            return (
                category_of_signature(sig.key),
                f"the postmortem's root cause: “{postmortem_cause[:60]}”",
            )
    top = classify(incident, entries, library).top
    if top is None:
        return Category.OTHER, "no known cause named in the record or timeline"
    return category_of_signature(top.key), why(incident, entries, top)


def label(category: str | None) -> str:
    """Display name of a stored category value (unknown values shown as they are)."""
    if category is None:
        return "uncategorised"
    try:
        return Category(category).label
    except ValueError:
        return category.replace("_", " ")
