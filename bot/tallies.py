"""Process-wide tallies of things that happen deep inside adapters (Redis unreachable, a
postmortem draft falling back), read by whichever process's /metrics is scraped
(bot/observability.py: TallyCollector). Plain counts: no Prometheus import down there."""

from __future__ import annotations

from collections import Counter

REDIS_ERRORS = "redis_errors"
MODEL_DRAFTS = "model_drafts"
LLM_TOKENS = "llm_tokens"  # by kind: input, output, cache_read, cache_creation
TOKEN_KINDS = ("input", "output", "cache_read", "cache_creation")
LLM_CLAIMS = "llm_claims"  # the model's claims checked against the record, by verdict
CLAIM_VERDICTS = ("kept", "flagged", "dropped")

_counts: Counter[tuple[str, str]] = Counter()


def tally(name: str, label: str = "", amount: int = 1) -> None:
    _counts[(name, label)] += amount


def count(name: str, label: str = "") -> int:
    return _counts[(name, label)]
