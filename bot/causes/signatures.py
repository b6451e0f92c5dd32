"""Cause signatures: keyword patterns (and incident tags) that recognise a cause in the
record, with the runbook section it follows, its five-whys step, contributing factors and
action-item templates. Ordered from symptom to deepest cause. The patterns taxonomy names
each one's category (bot/patterns/taxonomy.py); there are no other cause keywords."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


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
    tags: tuple[str, ...] = ()  # the postmortem's tags for it
    incident_tags: tuple[str, ...] = ()  # an incident tagged with one of these names it

    def matches(self, text: str) -> bool:
        return self.keyword(text) is not None

    def keyword(self, text: str) -> str | None:
        """The words in `text` that name this cause (for an explanation), or None."""
        low = text.lower()
        for pattern in self.patterns:
            found = re.search(pattern, low)
            if found:
                return found.group(0).strip()
        return None

    def tagged(self, tags: Iterable[str]) -> str | None:
        """The incident's tag that names this cause, or None."""
        return next((t for t in tags if t.lower() in self.incident_tags), None)


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
            r"pool exhaust",
            r"too many connections",
            r"connection limit",
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
        incident_tags=("connection-pool", "db-pool", "pool"),
    ),
    Signature(
        key="resources",
        cause="Resource exhaustion (memory, disk, CPU or file descriptors)",
        category="capacity",
        patterns=(
            r"disk (full|space)",
            r"no space left",
            r"memory (pressure|exhaust)",
            r"\bcpu (saturat|throttl|100)",
            r"too many open files",
            r"file descriptor",
            r"oomkill",
        ),
        answer="a resource the service needs (memory, disk, CPU or file descriptors) ran out",
        follow_up="Why did the resource run out without warning?",
        mechanism=True,
        factors=(("No alert on resource saturation before it ran out", "technology", True),),
        actions=(
            Template("detect", "Alert on memory, disk, CPU and file-descriptor saturation", 0),
        ),
        tags=("resources",),
        incident_tags=("memory", "disk", "oom", "resource-exhaustion"),
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
            r"load spike",
            r"thundering herd",
            r"\bddos\b",
            r"flash sale",
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
        incident_tags=("traffic", "traffic-spike", "load"),
    ),
    Signature(
        key="n_plus_one",
        cause="N+1 query pattern multiplying database queries per request",
        category="code",
        patterns=(
            r"n\s?\+\s?1",
            r"n-plus-one",
            r"one query per",
            r"query per (row|item)",
            r"queries per request",
            r"inefficient quer",
            r"orm quer",
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
        incident_tags=("n+1", "n-plus-one", "nplusone", "n_plus_one"),
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
        incident_tags=("leak",),
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
        incident_tags=("slow-query", "slow-queries"),
    ),
    Signature(
        key="config",
        cause="Configuration change",
        category="configuration",
        patterns=(
            r"config(uration)? (change|push|error)",
            r"misconfig",
            r"wrong (setting|config)",
            r"\bttl\b",
            r"feature flag",
            r"\bflag (flip|turned)",
        ),
        answer="a configuration change altered the service's behaviour",
        follow_up="Why was the configuration change not caught before production?",
        actions=(
            Template(
                "prevent", "Validate configuration changes in CI and roll them out gradually", 1
            ),
        ),
        tags=("configuration",),
        incident_tags=("config", "configuration", "config-change", "feature-flag"),
    ),
    Signature(
        key="dependency",
        cause="Failure of an upstream dependency",
        category="external",
        patterns=(
            r"upstream",
            r"third[- ]party",
            r"\bdns\b",
            r"certificate",
            r"provider",
            r"vendor",
            r"\b(aws|gcp|azure|stripe|twilio|cloudflare)\b.*(outage|down|degrad)",
        ),
        answer="an upstream dependency failed",
        follow_up="Why did the dependency failure reach users?",
        factors=(
            ("Dependency failure not isolated (timeouts, circuit breaker)", "technology", True),
        ),
        actions=(
            Template("mitigate", "Add timeouts and a circuit breaker around the dependency", 1),
        ),
        tags=("dependency",),
        incident_tags=("dependency", "third-party", "upstream", "vendor"),
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
            r"bad (deploy|release|build)",
            r"regression",
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
        incident_tags=("deploy", "deployment", "release", "bad-deploy"),
    ),
)
ORG_ANSWER = (
    "the change was not load tested or reviewed for performance before production, so "
    "nothing stopped it"
)
CHANGE_KEYS = {"deploy", "n_plus_one", "leak", "config"}
POOL_CAUSES = {"traffic", "n_plus_one", "leak", "slow_query"}
BY_KEY: dict[str, Signature] = {s.key: s for s in SIGNATURES}
