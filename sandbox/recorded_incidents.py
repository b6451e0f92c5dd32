"""Recorded incidents for `make eval`: the sandbox's demo scenario and the tests' timelines,
as data. Each step happens `minute` minutes after the declaration: a slash command
(`/incident …` text) by a user, or a metric reading (`METRICS …`) written to the timeline
as `/metrics check` would."""

from __future__ import annotations

from dataclasses import dataclass

ALICE, BOB, CHARLIE, DIANA = "U0ALICE", "U0BOB", "U0CHARLIE", "U0DIANA"


@dataclass(frozen=True)
class RecordedIncident:
    name: str
    declare: str  # the `/incident declare` text
    steps: tuple[tuple[int, str, str], ...]  # (minute, user, command text or "METRICS …")


SEED_002 = RecordedIncident(
    "seed 002: N+1 query shipped under a traffic spike, rolled back",
    "API high error rate sev:2 services:payment-api",
    (
        (1, ALICE, f"role ops <@{BOB}>"),
        (1, ALICE, f"role comms <@{CHARLIE}>"),
        (4, ALICE, "note Traffic analysis: 3x normal load (1000 req/s -> 3000 req/s)"),
        (7, ALICE, "METRICS DB pool 50/50 (100%) CRITICAL · error rate 5% HIGH · p99 500ms"),
        (10, BOB, "note Database connection pool exhausted: 50/50 connections, 200+ waiting"),
        (14, ALICE, "status identified"),
        (14, BOB, "note Root cause: N+1 query in /api/products, deployed in v2.3.4 at 14:20"),
        (17, ALICE, "note Decision: rollback to v2.3.3 (known-good, safer than debugging)"),
        (19, BOB, "note Rollback initiated via CI/CD"),
        (22, ALICE, "status monitoring"),
        (27, BOB, "note Error rate back to baseline (<0.1%), DB connections 30/50"),
        (37, CHARLIE, "note Status page updated and customer email sent"),
        (45, ALICE, "resolve Rolled back v2.3.4; N+1 fixed in v2.3.5"),
    ),
)

DEMO = RecordedIncident(
    "sandbox demo: pool exhausted right after a deploy, rolled back",
    "Checkout API returning 500s sev:2 services:checkout-api,storefront tags:database",
    (
        (1, ALICE, f"role ops <@{BOB}>"),
        (1, ALICE, f"role comms <@{CHARLIE}>"),
        (2, BOB, "note Seeing 500s on /checkout since ~10 min"),
        (
            3,
            ALICE,
            "METRICS DB pool 98/100 (98%) [CRITICAL]; checkout-api 12.50 errors/s [CRITICAL]; "
            "likely cause: database connection pool exhaustion (traffic spike)",
        ),
        (
            4,
            DIANA,
            "note DB connection pool is exhausted: 98/100 active, 37 waiting. "
            "Started right after deploy v2.3.4",
        ),
        (8, ALICE, "status identified"),
        (12, BOB, "note Rolled back v2.3.4"),
        (15, ALICE, "status monitoring"),
        (25, ALICE, "resolve Rolled back; pool back to 40%"),
    ),
)

CONFIG = RecordedIncident(
    "tests: a config change reverted, under a coincident traffic rise",
    "Search results empty for EU users sev:3 services:search",
    (
        (1, BOB, "note Traffic is up 2x since the newsletter went out"),
        (2, ALICE, "METRICS search req/s 2x normal traffic; error rate 30% [CRITICAL]"),
        (3, BOB, "note A config change to the search index alias went out at 14:15"),
        (6, ALICE, "METRICS search error rate 30% [CRITICAL]; traffic 2.2x normal"),
        (8, BOB, "note Reverted the config change; results are coming back"),
        (10, ALICE, "status monitoring"),
        (18, ALICE, "resolve Config change reverted"),
    ),
)

SCALE_OUT = RecordedIncident(
    "tests: a scraper's traffic spike, fixed by scaling out",
    "Login latency high sev:2 services:auth",
    (
        (1, BOB, "note Deploy v1.8.0 went out an hour ago, nothing unusual in it"),
        (2, BOB, "note Traffic spike: 5x normal load from a scraper, 4000 req/s"),
        (3, ALICE, "METRICS login p99 2400ms [HIGH]; req/s 4000, 5x normal traffic"),
        (7, BOB, "note Scaled out to 12 replicas and raised the rate limit for anonymous clients"),
        (9, ALICE, "status monitoring"),
        (17, ALICE, "resolve Capacity added and the scraper rate-limited"),
    ),
)

LEAK = RecordedIncident(
    "tests: a memory leak, fixed by a restart",
    "Workers crash-looping sev:3 services:jobs",
    (
        (1, BOB, "note Workers OOM-killed every few minutes, looks like a memory leak"),
        (3, ALICE, "METRICS worker memory 95% [CRITICAL]; traffic 1.5x normal"),
        (6, BOB, "note Restarted the workers with a lower concurrency"),
        (8, ALICE, "status monitoring"),
        (20, ALICE, "resolve Workers restarted; leak fix to follow"),
    ),
)

THIN = RecordedIncident(
    "tests: a thin record (declared, one note, nothing else)",
    "Checkout is slow sev:3",
    ((2, ALICE, "note Customers report slow checkout pages"),),
)

RECORDED = (SEED_002, DEMO, CONFIG, SCALE_OUT, LEAK, THIN)
