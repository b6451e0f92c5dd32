"""Process-wide tallies of things that happen deep inside adapters (Redis unreachable, a
postmortem draft falling back), read by whichever process's /metrics is scraped
(bot/observability.py: TallyCollector). Plain counts: no Prometheus import down there."""

from __future__ import annotations

from collections import Counter

REDIS_ERRORS = "redis_errors"
MODEL_DRAFTS = "model_drafts"

_counts: Counter[tuple[str, str]] = Counter()


def tally(name: str, label: str = "") -> None:
    _counts[(name, label)] += 1


def count(name: str, label: str = "") -> int:
    return _counts[(name, label)]
