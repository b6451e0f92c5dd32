"""Explainable matching of an incident against past ones.

Structured reasons first — shared services, shared tags, the same root-cause category — then
text similarity of title + description (rapidfuzz `token_set_ratio`). Every match carries the
reasons that produced its score; thresholds and weights live in `MatchConfig`.

Pre-filter (so 10,000+ past incidents stay fast): an inverted index in Redis, one sorted set
per service, tag, category and significant title word, scored by declared time. A match
reads only the index entries inside the window (most recent `per_key_limit` per key), ranks
candidate ids by how many keys they share with the incident, and decodes only the best
`max_candidates` of them.

The index lives in bot/store/patterns.py; its keys (bot/store/keys.py):
* `ib:pat:svc:<service>` / `ib:pat:tag:<tag>` / `ib:pat:cat:<category>` / `ib:pat:word:<w>`
* `ib:pat:indexed:<incident-id>`   the keys the incident is in (so a re-index drops stale ones)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from pydantic import BaseModel, Field
from rapidfuzz import fuzz, process, utils

from bot.incidents.models import Incident
from bot.patterns.taxonomy import Category, label
from bot.store import keys

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "in",
        "into",
        "is",
        "it",
        "of",
        "on",
        "or",
        "the",
        "to",
        "with",
        "was",
        "were",
        "not",
        "no",
        "api",
        "service",
        "error",
        "errors",
        "high",
        "issue",
        "issues",
        "incident",
        "down",
        "slow",
        "failing",
        "failed",
        "failure",
        "returning",
        "users",
        "user",
    ]
)
WORD = re.compile(r"[a-z0-9][a-z0-9+_.-]{2,}")


class MatchConfig(BaseModel):
    """Matching thresholds and weights (defaults documented in the README of this feature)."""

    window: timedelta = Field(default=timedelta(days=183), description="about 6 months")
    max_results: int = 3
    min_score: float = 2.5
    service_weight: float = 3.0
    tag_weight: float = 1.0
    max_tag_score: float = 3.0
    category_weight: float = 2.5
    text_threshold: float = 60.0  # token_set_ratio below this is no reason at all
    text_weight: float = 4.0  # a 100% text match adds this much; the threshold adds 0
    min_text_words: int = 3  # token_set_ratio calls any subset 100%: "Outage" is no reason
    per_key_limit: int = 300
    max_candidates: int = 400
    max_title_words: int = 12


def title_words(incident: Incident, limit: int = 12) -> list[str]:
    words: list[str] = []
    for w in WORD.findall(incident.title.lower()):
        w = w.strip(".-_")
        if len(w) >= 3 and w not in STOPWORDS and w not in words:
            words.append(w)
    return words[:limit]


def index_keys(incident: Incident, category: str | None, limit: int = 12) -> list[str]:
    out = [keys.pattern("svc", s) for s in incident.services]
    out += [keys.pattern("tag", t) for t in incident.tags]
    if category:
        out.append(keys.pattern("cat", category))
    out += [keys.pattern("word", w) for w in title_words(incident, limit)]
    return list(dict.fromkeys(out))


def _text(incident: Incident) -> str:
    return f"{incident.title} {incident.description}".strip()


@dataclass
class Match:
    incident: Incident
    score: float
    reasons: list[str] = field(default_factory=list)
    text_similarity: float = 0.0


def score_matches(
    incident: Incident,
    category: Category | None,
    candidates: list[Incident],
    config: MatchConfig,
    *,
    category_why: str = "",
) -> list[Match]:
    """Score candidates against the incident; best first, at most `max_results`, each with
    the reasons behind its score. Pure: no I/O."""
    services = {s.lower() for s in incident.services}
    tags = {t.lower() for t in incident.tags}
    query = _text(incident)
    # text similarity for all candidates in one C-level pass
    sims: dict[int, float] = {}
    if len(utils.default_process(query).split()) >= config.min_text_words:
        for _, sim, idx in process.extract(
            query,
            [_text(c) for c in candidates],
            scorer=fuzz.token_set_ratio,
            processor=utils.default_process,
            limit=None,
            score_cutoff=config.text_threshold,
        ):
            text = utils.default_process(_text(candidates[int(idx)]))
            if len(text.split()) >= config.min_text_words:
                sims[int(idx)] = float(sim)
    matches: list[Match] = []
    for idx, cand in enumerate(candidates):
        if cand.id == incident.id:
            continue
        m = Match(incident=cand, score=0.0)
        shared = sorted(services & {s.lower() for s in cand.services})
        if shared:
            m.score += config.service_weight
            m.reasons.append("same service " + ", ".join(f"`{s}`" for s in shared))
        shared_tags = sorted(tags & {t.lower() for t in cand.tags})
        if shared_tags:
            m.score += min(config.max_tag_score, config.tag_weight * len(shared_tags))
            m.reasons.append("shared tags " + ", ".join(f"`{t}`" for t in shared_tags))
        if (
            category is not None
            and category is not Category.OTHER
            and cand.root_cause_category == category.value
        ):
            m.score += config.category_weight
            why = f" ({category_why})" if category_why else ""
            m.reasons.append(f"same root cause: {category.label}{why}")
        found = sims.get(idx)
        if found is not None:
            sim = m.text_similarity = found
            span = max(1.0, 100.0 - config.text_threshold)
            m.score += config.text_weight * (sim - config.text_threshold) / span
            m.reasons.append(f"title and description {sim:.0f}% similar")
        if m.score >= config.min_score and m.reasons:
            matches.append(m)
    matches.sort(key=lambda m: (m.score, m.text_similarity, m.incident.declared_at), reverse=True)
    return matches[: config.max_results]


__all__ = ["Match", "MatchConfig", "index_keys", "label", "score_matches"]
