"""Recurring incident patterns (issue 7, seed 004): categories, matching, the recurrence flag,
escalation of unfinished action items, the window, the report and `/incident patterns`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.actions.models import ActionItem, ItemStatus
from bot.actions.service import ActionItemService
from bot.actions.store import ActionItemStore
from bot.clock import ManualClock
from bot.incidents.access import IncidentAccess
from bot.incidents.models import Incident, Role, Status
from bot.patterns.matcher import MatchConfig
from bot.patterns.report import describe_window, ordinal, parse_since
from bot.patterns.service import PatternService
from bot.patterns.taxonomy import Category, categorize, parse_category
from bot.store.redis_store import RedisStore, connect
from bot.timeline.models import EventKind, TimelineEntry, TimelineEvent
from commands import patterns as _patterns_command  # noqa: F401  (registers the subcommand)
from tests.conftest import Harness
from tests.fakes import FakeChat

T0 = datetime(2024, 1, 18, 10, 0, tzinfo=UTC)


@dataclass
class World:
    store: RedisStore
    items: ActionItemStore
    chat: FakeChat
    clock: ManualClock
    patterns: PatternService
    seq: int = 0

    async def incident(
        self,
        title: str,
        at: datetime,
        *,
        services: list[str] | None = None,
        tags: list[str] | None = None,
        description: str = "",
        ic: str = "U0ALICE",
    ) -> Incident:
        self.seq += 1
        inc = Incident(
            id=f"INC-{at:%Y%m%d}-{self.seq:04d}",
            title=title,
            description=description,
            services=services or [],
            tags=tags or [],
            channel_id=f"C{self.seq:04d}",
            channel_name=f"inc-{self.seq}",
            declared_by=ic,
            declared_at=at,
            roles={Role.IC: ic},
        )
        await self.store.create_incident(
            inc, TimelineEvent(kind=EventKind.DECLARED, at=at, actor=ic, text=title)
        )
        return inc

    async def resolve(self, inc: Incident, after: timedelta, summary: str | None = None) -> Any:
        def change(i: Incident) -> list[TimelineEvent]:
            i.status = Status.RESOLVED
            i.resolved_at = i.declared_at + after
            i.resolution_summary = summary
            return []

        done, _ = await self.store.update_incident(inc.id, change)
        self.clock.set(done.resolved_at or self.clock())
        return await self.patterns.on_resolve(done)

    async def item(self, inc: Incident, text: str, owner: str, *, done: bool = False) -> str:
        item_id = await self.items.next_id()
        await self.items.create(
            ActionItem(
                id=item_id,
                incident_id=inc.id,
                text=text,
                owner=owner,
                created_by="U0ALICE",
                created_at=inc.declared_at,
                status=ItemStatus.DONE if done else ItemStatus.OPEN,
            )
        )
        return item_id


@pytest.fixture
async def world(redis_url: str) -> AsyncIterator[World]:
    redis = connect(redis_url)
    store = RedisStore(redis)
    items = ActionItemStore(redis)
    chat = FakeChat()
    clock = ManualClock(T0)
    actions = ActionItemService(
        store=store, actions_store=items, chat=chat, clock=clock,
        access=IncidentAccess(members=chat),
    )
    patterns = PatternService(store=store, chat=chat, clock=clock, actions=actions)
    try:
        yield World(store, items, chat, clock, patterns)
    finally:
        await redis.aclose()


async def seed_004(w: World) -> tuple[Incident, Incident]:
    """The two earlier N+1 incidents of seed 004, resolved."""
    a = await w.incident(
        "User listing endpoint slow",
        datetime(2023, 10, 15, 9, 0, tzinfo=UTC),
        services=["api"],
        tags=["database"],
        description="N+1 query pattern in the user listing endpoint",
    )
    await w.resolve(a, timedelta(hours=1, minutes=30))
    b = await w.incident(
        "Organization dashboard timeouts",
        datetime(2023, 12, 1, 14, 0, tzinfo=UTC),
        services=["api", "dashboard"],
        description="Each organization loaded its members with a separate query (N+1)",
    )
    await w.resolve(b, timedelta(hours=2))
    return a, b


# --- taxonomy and helpers -----------------------------------------------------------


def said(*texts: str) -> list[TimelineEntry]:
    """Timeline notes, a minute apart."""
    return [
        TimelineEntry(
            event=TimelineEvent(kind=EventKind.NOTE, at=T0 + timedelta(minutes=n), text=text),
            stream_id=f"{n}-0",
        )
        for n, text in enumerate(texts, start=1)
    ]


def test_categorize_prefers_the_deepest_cause_and_explains() -> None:
    inc = Incident(
        id="INC-1",
        title="API response time degradation",
        description="N+1 query pattern introduced during a pagination refactor; "
        "connection pool at 100%",
        channel_id="C1",
        channel_name="inc-1",
        declared_by="U0ALICE",
        declared_at=T0,
    )
    # the pool is the mechanism and the deploy shipped the code: the N+1 query is the cause
    cat, why = categorize(inc, said("deployed v2.3 at 14:00"))
    assert cat is Category.N_PLUS_ONE
    assert why == "the description mentions “n+1”"
    inc.description = ""
    assert categorize(inc, said("connection pool exhausted 20/20"))[0] is Category.CONNECTION_POOL
    assert categorize(inc, said("rolled back the deploy"))[0] is Category.BAD_DEPLOY
    assert categorize(inc, []) == (
        Category.OTHER, "no known cause named in the record or timeline"
    )
    inc.tags = ["traffic"]
    assert categorize(inc, said("connection pool exhausted")) == (
        Category.TRAFFIC_SPIKE,
        "tagged `traffic`",
    )
    # what fixed it outranks what was mentioned: the spike was still there after the rollback
    inc.tags = []
    inc.status, inc.mitigated_at = Status.MONITORING, T0 + timedelta(minutes=10)
    assert categorize(
        inc,
        said("traffic spike, 3x normal", "deploy v4.1 went out at 13:50", "Rolled back v4.1"),
    ) == (Category.BAD_DEPLOY, "what fixed it: “Rolled back v4.1”")
    # a postmortem's root cause, when there is one, names the category
    assert categorize(
        inc, said("traffic spike"), postmortem_cause="Failure of an upstream dependency"
    )[0] is Category.DEPENDENCY_OUTAGE


def test_parsers_and_words() -> None:
    assert parse_category("n+1") is Category.N_PLUS_ONE
    assert parse_category("N+1 query") is Category.N_PLUS_ONE
    assert parse_category("connection-pool") is Category.CONNECTION_POOL
    assert parse_category("nonsense") is None
    assert parse_since("6m") == timedelta(days=183)
    assert parse_since("90d") == timedelta(days=90)
    assert parse_since("2w") == timedelta(weeks=2)
    with pytest.raises(Exception, match="not a period"):
        parse_since("soon")
    assert describe_window(timedelta(days=183)) == "6 months"
    assert describe_window(timedelta(days=90)) == "3 months"
    assert describe_window(timedelta(weeks=2)) == "2 weeks"
    assert describe_window(timedelta(days=10)) == "10 days"
    assert [ordinal(n) for n in (1, 2, 3, 12, 13, 22)] == [
        "first",
        "second",
        "third",
        "twelfth",
        "13th",
        "22nd",
    ]


# --- recurrence on resolve ------------------------------------------------------------


async def test_seed_004_third_n_plus_one_in_6_months(world: World) -> None:
    a, b = await seed_004(world)
    other_svc = await world.incident(
        "Checkout traffic spike", datetime(2023, 12, 20, tzinfo=UTC), services=["checkout"]
    )
    await world.resolve(other_svc, timedelta(minutes=40), "campaign traffic 5x normal load")
    third = await world.incident(
        "API response time degradation",
        datetime(2024, 1, 18, 10, 0, tzinfo=UTC),
        services=["api"],
        description="N+1 query pattern in the workflow listing endpoint",
    )
    rec = await world.resolve(third, timedelta(hours=2))
    assert rec.category is Category.N_PLUS_ONE
    assert rec.flag == "third N+1 query incident in 6 months"
    assert [i.id for i in rec.related] == [a.id, b.id]
    text = world.chat.posted_in(third.channel_id)
    assert "third N+1 query incident in 6 months" in text
    assert a.id in text and b.id in text and other_svc.id not in text
    assert "resolved after 1h 30m" in text
    # the category is stored on the incident and on its timeline
    stored = await world.store.get_incident(third.id)
    assert stored.root_cause_category == "n_plus_one"
    notes = [e for _, e in await world.store.events(third.id) if e.kind is EventKind.NOTE]
    assert notes and "N+1 query" in notes[-1].text
    # no action items were ever filed for the earlier ones: the follow-up is missing
    assert rec.organizational and "organizational" in text
    # the earlier flags counted correctly too
    first_text = world.chat.posted_in(a.channel_id)
    assert "No earlier N+1 query incident" in first_text
    assert "second N+1 query incident in 6 months" in world.chat.posted_in(b.channel_id)


async def test_other_services_and_causes_are_not_flagged(world: World) -> None:
    await seed_004(world)
    spike = await world.incident(
        "API latency", datetime(2024, 1, 10, tzinfo=UTC), services=["api"], tags=["database"]
    )
    rec = await world.resolve(spike, timedelta(minutes=20), "traffic spike from a campaign")
    assert rec.category is Category.TRAFFIC_SPIKE
    assert rec.flag is None and rec.related == []
    text = world.chat.posted_in(spike.channel_id)
    assert "traffic spike" in text and ":repeat:" not in text
    unknown = await world.incident("Weird blip", datetime(2024, 1, 11, tzinfo=UTC))
    rec2 = await world.resolve(unknown, timedelta(minutes=5))
    assert rec2.category is Category.OTHER and rec2.flag is None
    assert world.chat.dms == []


async def test_open_action_items_of_earlier_incidents_are_escalated(world: World) -> None:
    a, b = await seed_004(world)
    open_a = await world.item(a, "Add query count monitoring per endpoint", "U0BOB")
    done_a = await world.item(a, "Fix the user listing query", "U0CHARLIE", done=True)
    open_b = await world.item(b, "Add ORM query checklist to PR template", "U0DIANA")
    third = await world.incident(
        "Workflow listing slow",
        datetime(2024, 1, 18, tzinfo=UTC),
        services=["api"],
        description="N+1 query after pagination refactor",
        ic="U0ALICE",
    )
    rec = await world.resolve(third, timedelta(hours=2))
    assert rec.organizational
    assert {i.id for i in rec.open_items} == {open_a, open_b}
    text = world.chat.posted_in(third.channel_id)
    assert "Cause: organizational" in text
    assert open_a in text and open_b in text and done_a not in text
    assert "<@U0BOB>" in text and "<@U0DIANA>" in text
    dm_to = [u for u, _ in world.chat.dms]
    assert sorted(dm_to) == ["U0ALICE", "U0BOB", "U0DIANA"]
    bob = next(t for u, t in world.chat.dms if u == "U0BOB")
    assert open_a in bob and "third N+1 query incident in 6 months" in bob
    assert open_b not in bob
    ic = next(t for u, t in world.chat.dms if u == "U0ALICE")
    assert open_a in ic and open_b in ic
    # resolving again (or a retry) does not DM everybody twice
    await world.patterns.on_resolve(await world.store.get_incident(third.id))
    assert len(world.chat.dms) == 3


async def test_the_postmortem_carries_the_recurrence_flag(world: World) -> None:
    from bot.postmortem.llm import NoModelDrafter
    from bot.postmortem.render import render_markdown
    from bot.postmortem.service import PostmortemService

    a, b = await seed_004(world)
    await world.item(a, "Add query count monitoring per endpoint", "U0BOB")
    third = await world.incident(
        "Workflow listing slow",
        datetime(2024, 1, 18, tzinfo=UTC),
        services=["api"],
        description="N+1 query after pagination refactor",
        ic="U0ALICE",
    )
    await world.resolve(third, timedelta(hours=2))
    postmortems = PostmortemService(
        store=world.store,
        chat=world.chat,
        drafter=NoModelDrafter(),
        clock=world.clock,  # type: ignore[arg-type]
    )
    md = render_markdown(await postmortems.build(third.id))
    section = md.split("### Pattern Recognition", 1)[1].split("###", 1)[0]
    assert "This is the **third N+1 query incident in 6 months**" in section
    assert a.id in section and b.id in section
    assert "Root cause (organizational)" in section and "1 action item(s)" in section


async def test_done_action_items_mean_a_technical_cause(world: World) -> None:
    a, b = await seed_004(world)
    await world.item(a, "Fix it", "U0BOB", done=True)
    await world.item(b, "Fix it too", "U0BOB", done=True)
    third = await world.incident(
        "Slow listing", datetime(2024, 1, 18, tzinfo=UTC), description="n+1 queries"
    )
    rec = await world.resolve(third, timedelta(hours=1))
    assert rec.flag == "third N+1 query incident in 6 months"
    assert not rec.organizational
    assert "Cause: technical" in world.chat.posted_in(third.channel_id)
    assert world.chat.dms == []


async def test_six_month_window_drops_old_incidents(world: World) -> None:
    old = await world.incident(
        "Old N+1", datetime(2023, 5, 1, tzinfo=UTC), description="N+1 query in search"
    )
    await world.item(old, "Never done", "U0BOB")
    await world.resolve(old, timedelta(hours=1))
    recent = await world.incident(
        "Recent N+1", datetime(2023, 11, 20, tzinfo=UTC), description="N+1 query in export"
    )
    await world.resolve(recent, timedelta(hours=1))
    now = await world.incident(
        "Now N+1", datetime(2024, 1, 18, tzinfo=UTC), description="N+1 query in listing"
    )
    rec = await world.resolve(now, timedelta(hours=1))
    assert rec.flag == "second N+1 query incident in 6 months"
    assert [i.id for i in rec.related] == [recent.id]
    assert old.id not in world.chat.posted_in(now.channel_id)
    assert world.chat.dms == []  # the old open item is outside the window
    # a narrower window: the recent one falls out too
    narrow = PatternService(
        store=world.store,
        chat=world.chat,
        clock=world.clock,
        config=MatchConfig(window=timedelta(days=30)),
    )
    later = await world.incident(
        "Later N+1", datetime(2024, 1, 25, tzinfo=UTC), description="N+1 again"
    )
    rec2 = await narrow.on_resolve(later)
    assert rec2 is not None and rec2.flag == "second N+1 query incident in a month"
    assert [i.id for i in rec2.related] == [now.id]


# --- similar incidents on declare -------------------------------------------------------


async def test_declare_posts_up_to_three_similar_incidents_with_reasons(world: World) -> None:
    a, b = await seed_004(world)
    item = await world.item(b, "Add ORM query checklist to PR template", "U0DIANA")
    unrelated = await world.incident(
        "Payments provider outage", datetime(2023, 12, 5, tzinfo=UTC), services=["payments"]
    )
    await world.resolve(unrelated, timedelta(minutes=30), "upstream provider down")
    for n in range(3):
        filler = await world.incident(
            f"Dashboard widget {n} broken",
            datetime(2023, 12, 10 + n, tzinfo=UTC),
            services=["dashboard"],
        )
        await world.resolve(filler, timedelta(minutes=10))
    new = await world.incident(
        "Workflow listing endpoint slow",
        datetime(2024, 1, 18, tzinfo=UTC),
        services=["api"],
        tags=["database"],
        description="listing endpoint slow, looks like an N+1 query",
    )
    world.chat.posts.clear()
    matches = await world.patterns.on_declare(new)
    assert 1 <= len(matches) <= 3
    ids = [m.incident.id for m in matches]
    assert ids[0] == a.id  # service + tag + category + wording
    assert b.id in ids and unrelated.id not in ids
    first = matches[0]
    assert any("same service `api`" in r for r in first.reasons)
    assert any("shared tags `database`" in r for r in first.reasons)
    assert any("same root cause: N+1 query" in r for r in first.reasons)
    text = world.chat.posted_in(new.channel_id)
    assert "similar past incident" in text and "resolved after 1h 30m" in text
    assert item in text and "<@U0DIANA>" in text


async def test_declare_with_no_history_posts_nothing(world: World) -> None:
    new = await world.incident("Something new", T0, services=["api"])
    assert await world.patterns.on_declare(new) == []
    assert world.chat.posts == []


async def test_text_similarity_alone_can_match(world: World) -> None:
    past = await world.incident(
        "Search results page times out for large accounts",
        datetime(2023, 12, 1, tzinfo=UTC),
    )
    await world.resolve(past, timedelta(minutes=30))
    new = await world.incident("Search results page times out", datetime(2024, 1, 5, tzinfo=UTC))
    matches = await world.patterns.on_declare(new)
    assert [m.incident.id for m in matches] == [past.id]
    assert "% similar" in matches[0].reasons[-1]


# --- report ---------------------------------------------------------------------------


async def test_report_counts_offenders_mttr_and_recurring_items(world: World) -> None:
    a, b = await seed_004(world)
    await world.item(a, "Add query count monitoring per endpoint", "U0BOB")
    await world.item(b, "Add query count monitoring for each endpoint", "U0DIANA", done=True)
    spike = await world.incident(
        "Checkout slow", datetime(2024, 1, 2, tzinfo=UTC), services=["checkout"]
    )
    await world.resolve(spike, timedelta(minutes=30), "traffic spike")
    world.clock.set(datetime(2024, 1, 20, tzinfo=UTC))
    rep = await world.patterns.report()
    assert rep.total == 3
    n1 = next(s for s in rep.by_category if s.category == "n_plus_one")
    assert n1.count == 2 and n1.mean_time_to_resolve == timedelta(hours=1, minutes=45)
    assert dict(rep.by_service)["api"] == 2
    assert [(r.service, r.category) for r in rep.repeat_offenders] == [("api", "n_plus_one")]
    assert len(rep.recurring_items) == 1
    assert rep.recurring_items[0].incident_ids == [a.id, b.id]
    only = await world.patterns.report(service="checkout")
    assert only.total == 1 and only.repeat_offenders == []
    by_cat = await world.patterns.report(category=Category.N_PLUS_ONE, since=timedelta(days=60))
    assert by_cat.total == 1  # only the December one is within 60 days


# --- through Slack ----------------------------------------------------------------------


def dms_to(harness: Harness, user: str) -> str:
    chans = [c for c in harness.slack.channels() if c.is_im and c.im_user == user]
    return "\n".join(m.text for c in chans for m in harness.slack.messages(c.id))


async def test_patterns_command_not_set_up(harness: Harness) -> None:
    harness.bot.services.patterns = None
    reply = await harness.driver.command(
        "patterns since:6m", user="U0ALICE", channel=harness.incidents_id
    )
    assert "not set up" in reply.text


async def test_end_to_end_declare_resolve_and_patterns_command(harness: Harness) -> None:
    services = harness.bot.services
    assert isinstance(services.patterns, PatternService)  # wired by bot/wiring.py
    channels = []
    for title in ("Users list slow N+1 query", "Org dashboard N+1 query"):
        ch = await harness.declare(f"{title} services:api sev:3", user="U0BOB")
        channels.append(ch)
        await harness.driver.command("resolve fixed the N+1", user="U0BOB", channel=ch)
    inc0 = await services.store.get_incident(
        await services.store.incident_id_for_channel(channels[0]) or ""
    )
    await services.actions.items.create(
        ActionItem(
            id="AI-9001",
            incident_id=inc0.id,
            text="Add query count lint rule in CI",
            owner="U0CHARLIE",
            created_by="U0BOB",
            created_at=inc0.declared_at,
        )
    )
    third = await harness.declare("Workflow listing N+1 query services:api", user="U0ALICE")
    await asyncio.sleep(0.2)
    declared = "\n".join(m.text for m in harness.slack.messages(third))
    assert "similar past incident" in declared and "same service `api`" in declared
    await harness.driver.command("resolve", user="U0ALICE", channel=third)
    text = "\n".join(m.text for m in harness.slack.messages(third))
    assert "third N+1 query incident in 6 months" in text
    assert "AI-9001" in text and "Cause: organizational" in text
    assert "AI-9001" in dms_to(harness, "U0CHARLIE")
    assert "AI-9001" in dms_to(harness, "U0ALICE")
    reply = await harness.driver.command(
        "patterns service:api category:n+1 since:6m", user="U0DIANA", channel=harness.incidents_id
    )
    assert "Incident patterns" in reply.text and "*3* incidents" in reply.text
    assert "N+1 query: 3" in reply.text
    bad = await harness.driver.command(
        "patterns category:gremlins", user="U0DIANA", channel=harness.incidents_id
    )
    assert "not a root-cause category" in bad.text


async def test_short_titles_are_not_a_text_reason(world: World) -> None:
    past = await world.incident("Outage", datetime(2023, 12, 1, tzinfo=UTC))
    await world.resolve(past, timedelta(minutes=30))
    new = await world.incident("Outage of the billing page", datetime(2024, 1, 5, tzinfo=UTC))
    assert await world.patterns.on_declare(new) == []


async def test_reindex_covers_incidents_from_before_the_feature(world: World) -> None:
    a = await world.incident("Users slow", datetime(2023, 12, 1, tzinfo=UTC), services=["api"])
    b = await world.incident("Users slower", datetime(2023, 12, 2, tzinfo=UTC), services=["api"])
    new = await world.incident("Users slowest", datetime(2024, 1, 5, tzinfo=UTC), services=["api"])
    assert await world.patterns.similar(new) == []  # nothing indexed yet
    assert await world.patterns.reindex(batch=2) == 3
    assert {m.incident.id for m in await world.patterns.similar(new)} == {a.id, b.id}
