"""A year of history for the web benchmark, written through the real store writes (the
incident's atomic create, the timeline's atomic append, action items, postmortem versions),
many at once over the connection pool, so every index kept on write is kept here too.

10,000 incidents over 52 weeks (about 2,300 in the last 12), each with 100 timeline events
(the declaration, messages from role holders and others, notes, status changes, the
resolution); 4 severities, 30 services, 24 people in 8 time zones; 3 in 100 private;
a root-cause category on each resolved one; action items and postmortem drafts on most
SEV1/SEV2. Deterministic (seeded random), so two runs seed the same history."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.actions.models import ActionItem, ItemStatus
from bot.incidents.models import Incident, Role, Severity, Status
from bot.postmortem.models import Postmortem, RootCause, WhyStep
from bot.store.redis_store import RedisStore
from bot.timeline.models import EventKind, TimelineEvent

SERVICES = [f"svc-{n:02d}" for n in range(30)]
PEOPLE = [f"UB{n:04d}" for n in range(24)]
ZONES = [
    "UTC", "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles",
    "Asia/Tokyo", "Asia/Kolkata", "Australia/Sydney",
]  # fmt: skip
CAUSES = [
    "n_plus_one", "config_change", "dependency_outage", "traffic_spike",
    "resource_exhaustion", "slow_query", "connection_pool", "bad_deploy", "other",
]  # fmt: skip
WORDS = [
    "checkout", "errors", "latency", "pool", "database", "timeout", "deploy", "rollback",
    "cache", "queue", "payments", "login", "search", "api", "gateway", "memory", "disk", "cpu",
    "saturation", "retries", "upstream", "dns", "certificate",
]  # fmt: skip


@dataclass(frozen=True)
class Shape:
    incidents: int = 10_000
    events: int = 100  # per incident, the declaration included
    weeks: int = 52
    at_once: int = 48  # store writes in flight


def _incident(
    rng: random.Random, n: int, now: datetime, shape: Shape, per_day: dict[str, int]
) -> Incident:
    declared = now - timedelta(seconds=rng.uniform(3600, shape.weeks * 7 * 86400))
    day = f"{declared:%Y%m%d}"
    per_day[day] = per_day.get(day, 0) + 1
    severity = rng.choices(list(Severity), weights=[5, 20, 45, 30])[0]
    ic, ops = rng.sample(PEOPLE, 2)
    minutes = rng.lognormvariate(4.0, 0.9)  # median ~55 min
    old_enough = declared < now - timedelta(hours=6)
    resolved = declared + timedelta(minutes=minutes) if old_enough else None
    title = " ".join(rng.sample(WORDS, 4)).capitalize()
    return Incident(
        id=f"INC-{day}-{per_day[day]:04d}",
        title=title,
        description=f"{title}: customers see errors",
        severity=severity,
        status=Status.RESOLVED if resolved else Status.INVESTIGATING,
        services=rng.sample(SERVICES, rng.choice((1, 1, 2))),
        channel_id=f"CB{n:07d}",
        channel_name=f"inc-bench-{n:05d}",
        roles={Role.IC: ic, Role.OPS: ops},
        declared_by=ic,
        declared_at=declared,
        impact_started_at=(
            declared - timedelta(minutes=rng.uniform(1, 45)) if rng.random() < 0.7 else None
        ),
        resolved_at=resolved,
        resolution_summary="rolled back" if resolved else None,
        root_cause_category=rng.choice(CAUSES) if resolved else None,
        private=rng.random() < 0.03,
    )


def _events(rng: random.Random, inc: Incident, count: int) -> list[TimelineEvent]:
    end = inc.resolved_at or inc.declared_at + timedelta(hours=2)
    span = (end - inc.declared_at).total_seconds()
    holders = list(inc.roles.values())
    events = []
    for k in range(count - 2):
        at = inc.declared_at + timedelta(seconds=span * (k + 1) / count)
        who = rng.choice(holders) if k > 2 or rng.random() < 0.5 else rng.choice(PEOPLE)
        kind = EventKind.NOTE if k % 17 == 5 else EventKind.MESSAGE
        if k == count // 2:
            kind = EventKind.STATUS
        text = " ".join(rng.choices(WORDS, k=rng.randint(4, 14)))
        ts = f"{at.timestamp():.6f}"
        events.append(
            TimelineEvent(
                kind=kind, at=at, actor=who, text=text,
                message_ts=ts if kind is EventKind.MESSAGE else None,
            )
        )  # fmt: skip
    last = EventKind.RESOLVED if inc.resolved_at else EventKind.NOTE
    events.append(TimelineEvent(kind=last, at=end, actor=holders[0], text="resolved"))
    return events


def _postmortem(inc: Incident, at: datetime) -> Postmortem:
    return Postmortem(
        incident_id=inc.id,
        title=inc.title,
        severity=inc.severity.label,
        status="resolved",
        services=inc.services,
        declared_at=inc.declared_at,
        resolved_at=inc.resolved_at,
        generated_at=at,
        summary=f"{inc.title}. Resolved by rolling back.",
        impact=["Customers saw errors for part of the incident."],
        root_causes=[
            RootCause(cause="a change", category="deployment", kind="technical", confidence=0.6)
        ],
        five_whys=[WhyStep(question="Why did it fail?", answer="A change shipped.")],
    )


def _items(rng: random.Random, inc: Incident, n: int, now: datetime) -> list[ActionItem]:
    assert inc.resolved_at is not None
    out = []
    for k in range(rng.randint(1, 3)):
        due = inc.resolved_at + timedelta(days=rng.randint(3, 30))
        done = rng.random() < 0.6 and due - timedelta(days=2) < now
        done_at = due + timedelta(days=rng.uniform(-3, 4)) if done else None
        out.append(
            ActionItem(
                id=f"AI-B{n:05d}{k}", incident_id=inc.id, text="Add an alert",
                owner=inc.roles[Role.OPS], created_by=inc.declared_by,
                created_at=inc.resolved_at, due=due,
                status=ItemStatus.DONE if done else ItemStatus.OPEN,
                done_at=min(done_at, now) if done_at else None,
            )
        )  # fmt: skip
    return out


@dataclass
class Seeded:
    written: dict[str, int]
    public: list[str]  # ids of public incidents
    private: list[Incident]  # their channels are private: only members read them


async def seed(store: RedisStore, now: datetime, shape: Shape = Shape()) -> Seeded:
    """Write the history; returns what was written."""
    rng = random.Random(20261205)
    gate = asyncio.Semaphore(shape.at_once)
    written = {"incidents": 0, "events": 0, "action_items": 0, "postmortems": 0, "private": 0}
    seeded = Seeded(written, [], [])

    async def one(n: int, inc: Incident, events: list[TimelineEvent], late: float) -> None:
        async with gate:
            first = TimelineEvent(
                kind=EventKind.DECLARED, at=inc.declared_at, actor=inc.declared_by,
                text=f"Incident declared: {inc.title}",
            )  # fmt: skip
            await store.create_incident(inc, first)
            await store.append_events(inc.id, events)
            written["incidents"] += 1
            written["events"] += 1 + len(events)
            written["private"] += inc.private
            (seeded.private.append(inc) if inc.private else seeded.public.append(inc.id))
            if inc.resolved_at is not None and inc.severity <= Severity.SEV2:
                for item in _items(random.Random(n), inc, n, now):
                    await store.actions.create(item)
                    written["action_items"] += 1
                if late < 0.8:
                    at = inc.resolved_at + timedelta(days=late * 5)
                    if at < now:
                        await store.postmortems.save_new_version(_postmortem(inc, at))
                        written["postmortems"] += 1

    jobs = []
    per_day: dict[str, int] = {}
    for n in range(shape.incidents):
        inc = _incident(rng, n, now, shape, per_day)
        jobs.append(one(n, inc, _events(rng, inc, shape.events - 1), rng.random()))
        if len(jobs) >= 500:
            await asyncio.gather(*jobs)
            jobs = []
    await asyncio.gather(*jobs)
    return seeded


def bench_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
