"""Postmortems from the real record: Redis, the incident service, the runbooks in runbooks/,
and a local stand-in for the Anthropic Messages API (valid answers and every failure)."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import redis as sync_redis
import redis.asyncio as aioredis

from bot.causes.classifier import signature_of
from bot.clock import ManualClock
from bot.errors import UsageError
from bot.export import export_postmortem
from bot.incidents.models import Role, Severity, Status
from bot.incidents.service import IncidentService
from bot.parsing import ParsedText
from bot.patterns.service import PatternService
from bot.patterns.taxonomy import category_of_signature
from bot.ports import ChatUser
from bot.postmortem.llm import AnthropicDrafter, NoModelDrafter, make_drafter
from bot.postmortem.models import Postmortem
from bot.postmortem.render import render_markdown
from bot.postmortem.service import PostmortemService
from bot.runbooks import RunbookLibrary
from bot.settings import Settings
from bot.store.redis_store import RedisStore
from bot.timeline.models import EventKind, TimelineEvent
from commands.context import CommandContext
from sandbox.anthropic_standin import AnthropicStandin
from tests.conftest import redis_db_url
from tests.fakes import FakeChat

PM_REDIS_URL = os.environ.get("TEST_PM_REDIS_URL", redis_db_url(7))
RUNBOOKS = Path(__file__).resolve().parent.parent / "runbooks"
T0 = datetime(2025, 10, 27, 14, 23, tzinfo=UTC)  # seed 002: first alert, incident declared
HEADINGS = (
    "# Postmortem:",
    "## Summary",
    "## Impact",
    "## Timeline",
    "| Time (UTC) | Event | Significance |",
    "## Root Cause Analysis",
    "### Five Whys",
    "### Contributing Factors",
    "| Factor | Category | Preventable |",
    "## What Went Well",
    "## What Went Poorly",
    "## Where We Got Lucky",
    "## Action Items",
    "### Prevention",
    "### Detection",
    "### Response",
    "### Process",
    "## Metrics",
    "## Decision Record",
    "## Tags",
)


@pytest.fixture
def pm_redis_url() -> Iterator[str]:
    client = sync_redis.Redis.from_url(PM_REDIS_URL)
    client.flushdb()
    yield PM_REDIS_URL
    client.flushdb()


@pytest.fixture
async def store(pm_redis_url: str) -> AsyncIterator[RedisStore]:
    r = aioredis.Redis.from_url(pm_redis_url, decode_responses=True)
    yield RedisStore(r)
    await r.aclose()


@pytest.fixture(scope="module")
def standin() -> Iterator[AnthropicStandin]:
    with AnthropicStandin() as s:
        yield s


@pytest.fixture
def anthropic(standin: AnthropicStandin) -> AnthropicStandin:
    standin.reset("valid")
    return standin


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def chat() -> FakeChat:
    return FakeChat()


def service(
    store: RedisStore, chat: FakeChat, clock: ManualClock, drafter: Any, **kw: Any
) -> PostmortemService:
    return PostmortemService(
        store=store, chat=chat, drafter=drafter, clock=clock, runbooks_dir=RUNBOOKS, **kw
    )


def drafter_for(standin: AnthropicStandin, *, budget: float = 5.0) -> AnthropicDrafter:
    return AnthropicDrafter(
        api_key=standin.api_key,
        base_url=standin.base_url,
        model="claude-sonnet-4-6",
        budget=budget,
        max_retries=2,
    )


async def seed_002(store: RedisStore, chat: FakeChat, clock: ManualClock) -> str:
    """Seed 002 through the incident service: IC alice, Ops bob, Comms charlie; deploy
    v2.3.4 with an N+1 query under a 3x traffic spike; rollback to v2.3.3."""
    incidents = IncidentService(store=store, chat=chat, clock=clock, incidents_channel="inc")
    result = await incidents.declare(
        title="API high error rate",
        declared_by="UALICE",
        severity=Severity.SEV2,
        services=["payment-api"],
    )
    inc = result.incident

    async def at(hh: int, mm: int) -> None:
        clock.set(T0.replace(hour=hh, minute=mm))

    async def note(hh: int, mm: int, text: str, who: str = "UALICE") -> None:
        await at(hh, mm)
        await incidents.add_note(await store.get_incident(inc.id), text, who)

    await note(14, 25, "Acknowledged the ErrorRateHigh alert; Grafana shows database timeouts")
    await note(
        14,
        27,
        "Traffic analysis: 3x normal load (1000 req/s -> 3000 req/s), "
        "marketing campaign launched without notice",
    )
    await at(14, 30)
    await store.append_event(
        inc.id,
        TimelineEvent(
            kind=EventKind.METRICS,
            at=clock(),
            actor=None,
            text="DB pool 50/50 (100%) CRITICAL · error rate 5% HIGH · p99 500ms HIGH",
            data={"db_percent": "100", "verdict": "CRITICAL"},
        ),
    )
    await note(14, 33, "Database connection pool exhausted: 50/50 connections, 200+ waiting")
    await at(14, 35)
    await incidents.assign_role(await store.get_incident(inc.id), Role.OPS, "UBOB", "UALICE")
    await incidents.assign_role(await store.get_incident(inc.id), Role.COMMS, "UCHARLIE", "UALICE")
    await at(14, 37)
    await incidents.set_status(await store.get_incident(inc.id), Status.IDENTIFIED, "UALICE")
    await note(
        14,
        37,
        "Root cause identified: N+1 query in /api/products, deployed in v2.3.4 at 14:20",
        "UBOB",
    )
    await note(14, 40, "Decision: rollback to v2.3.3 (known-good, safer than debugging)")
    await note(14, 42, "Rollback initiated via CI/CD", "UBOB")
    await at(14, 45)
    await incidents.set_status(await store.get_incident(inc.id), Status.MONITORING, "UALICE")
    await note(14, 50, "Error rate back to baseline (<0.1%), DB connections 30/50", "UBOB")
    await note(15, 0, "Status page updated and customer email sent", "UCHARLIE")
    await at(15, 8)
    await incidents.resolve(
        await store.get_incident(inc.id),
        "UALICE",
        summary="Rolled back v2.3.4; N+1 query fixed in v2.3.5",
    )
    clock.set(T0 + timedelta(days=1))
    return inc.id


def assert_complete(markdown: str) -> None:
    for heading in HEADINGS:
        assert heading in markdown, heading


def assert_real_citations(pm: Postmortem) -> int:
    library = RunbookLibrary.from_folder(RUNBOOKS)
    real = {c.rendered for c in library.sections()}
    cites = [e.citation for rc in pm.root_causes for e in rc.evidence if e.kind == "runbook"]
    for c in cites:
        assert c in real, c
    return len(cites)


async def test_seed_002_deterministic_draft_carries_the_record(
    store: RedisStore, chat: FakeChat, clock: ManualClock
) -> None:
    incident_id = await seed_002(store, chat, clock)
    svc = service(store, chat, clock, NoModelDrafter())
    pm = await svc.draft(incident_id)

    assert not pm.ai_written and pm.not_ai_reason == "ANTHROPIC_API_KEY is not set"
    # durations from the recorded times: declared 14:23, monitoring 14:45, resolved 15:08
    assert pm.durations.ttd_seconds == 0
    assert pm.durations.ttm_seconds == 22 * 60
    assert pm.durations.ttr_seconds == 45 * 60
    rows = {r.time.strftime("%H:%M"): r for r in pm.timeline}
    assert rows["14:23"].significance == "Response initiated"
    assert rows["14:37"].significance in ("Root cause identified", "Investigation")
    assert rows["14:45"].significance == "Mitigation applied"
    assert rows["15:08"].significance.startswith("Resolved")
    assert any(r.significance == "Decision" for r in pm.timeline)
    times = [r.time for r in pm.timeline]
    assert times == sorted(times)
    # root causes: N+1 in v2.3.4, several listed, organizational one too
    top = pm.root_causes[0]
    assert "N+1" in top.cause and "v2.3.4" in top.cause and top.kind == "technical"
    assert top.confidence >= 0.7
    assert len([rc for rc in pm.root_causes if rc.kind == "technical"]) > 1
    assert any(rc.kind == "organizational" for rc in pm.root_causes)
    assert any(e.kind == "metric" for e in top.evidence)
    assert assert_real_citations(pm) >= 1
    assert len(pm.five_whys) == 5
    assert pm.roles == {
        "Incident Commander": "UALICE",
        "Ops Lead": "UBOB",
        "Comms Lead": "UCHARLIE",
    }
    assert {a.type for a in pm.action_items} >= {"prevent", "detect", "mitigate", "process"}
    assert all(a.priority in ("P0", "P1", "P2") for a in pm.action_items)
    assert "n-plus-one" in pm.tags and "payment-api" in pm.tags
    for dr in pm.decision_records:
        assert re.fullmatch(
            r"date:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\|context:[^|]+\|decision:[^|]+\|"
            r"rationale:[^|]+\|consequences:[^|]+\|status:(proposed|accepted|superseded)",
            dr.line(),
        ), dr.line()
    assert any("rollback to v2.3.3" in dr.decision for dr in pm.decision_records)

    # stored (versioned) and posted as a file
    assert pm.version == 1 and (await svc.latest(incident_id)) == pm
    [upload] = chat.uploads
    assert upload["filename"] == f"postmortem-{incident_id}-v1.md"
    md = upload["content"]
    assert_complete(md)
    assert "| 14:45:00 |" in md and "| Time to Resolve (TTR) | 45m 0s |" in md
    assert "| Time to Mitigate (TTM) | 22m 0s |" in md
    assert "Not AI-written" in md and "Not AI-written" in upload["comment"]
    again = await svc.draft(incident_id)
    assert again.version == 2 and await svc.version_count(incident_id) == 2
    assert await svc.export(incident_id) == await svc.markdown(again)


async def test_ai_draft_through_the_standin_is_grounded_and_scoped(
    store: RedisStore, chat: FakeChat, clock: ManualClock, anthropic: AnthropicStandin
) -> None:
    other = IncidentService(store=store, chat=chat, clock=clock, incidents_channel="inc")
    await other.declare(title="Unrelated DNS outage zebra", declared_by="UZED")
    incident_id = await seed_002(store, chat, clock)
    pm = await service(store, chat, clock, drafter_for(anthropic)).draft(incident_id)

    # a faithful answer is kept whole: every claim checks out against the record
    assert pm.ai_written and pm.ai_model == "claude-sonnet-4-6" and pm.not_ai_reason is None
    assert pm.claims is not None and pm.claims.kept > 20
    assert (pm.claims.flagged, pm.claims.dropped) == (0, 0), pm.unverified
    assert pm.unverified == [] and pm.version == 2
    assert pm.summary.startswith("Blameless review")
    assert "@UALICE declared it at 14:23 UTC" in pm.summary  # rendered by the bot
    assert "It was resolved after 45m 0s." in pm.summary
    assert "(model-reviewed)" in pm.root_causes[0].cause and "N+1" in pm.root_causes[0].cause
    # the bot's confidence from the evidence that validated, not the model's
    assert 0.7 <= pm.root_causes[0].confidence <= 0.9
    assert any(e.kind == "resolution" for e in pm.root_causes[0].evidence)
    assert any("rollback to v2.3.3" in d.decision for d in pm.decision_records)
    assert {a.owner_suggestion for a in pm.action_items} <= {"UALICE", "UBOB"}
    # facts stay the recorded ones whatever the model says
    assert pm.durations.ttr_seconds == 45 * 60 and pm.timeline[0].time == T0
    assert assert_real_citations(pm) >= 1
    md = render_markdown(pm)
    assert_complete(md)
    assert "AI-drafted by claude-sonnet-4-6" in md and "Unverified" not in md
    first, second = chat.uploads
    assert "AI draft in progress" in first["comment"] and first["filename"].endswith("-v1.md")
    assert "checked against the record" in second["comment"] and "Replaces v1" in second["comment"]
    [req] = anthropic.requests
    sent_key = req.headers.get("x-api-key") or req.headers.get("Authorization", "")[7:]
    assert sent_key == anthropic.api_key and req.headers["anthropic-version"]
    body = req.body
    assert body["tool_choice"] == {"type": "tool", "name": "write_postmortem"}
    schema = body["tools"][0]["input_schema"]
    cause = schema["$defs"]["CauseClaim"]["properties"]
    assert "evidence" in cause and "confidence" not in cause  # the model gives no confidence
    # the stable prefix is marked for caching: system prompt (with the tools), runbooks
    assert [b.get("cache_control") for b in body["system"]] == [{"type": "ephemeral"}] * 2
    assert "Engineering Runbook: Database Connection Issues" in body["system"][1]["text"]
    prompt = req.prompt
    assert incident_id in prompt and "N+1 query in /api/products" in prompt
    assert '"id": "E1"' in prompt and '"id": "M1"' in prompt
    assert '<runbook_section id="R1"' in body["system"][1]["text"]
    assert "zebra" not in prompt and "UZED" not in prompt  # only this incident's data
    assert "Lazy loading in a loop" not in prompt  # not the whole folder
    assert pm.ai_usage is not None and pm.ai_usage.cache_creation_input_tokens > 0
    again = await service(store, chat, clock, drafter_for(anthropic)).build(incident_id)
    assert again.ai_usage is not None and again.ai_usage.cache_read_input_tokens > 0


@pytest.mark.parametrize(
    ("mode", "reason", "requests"),
    [
        ("broken_json", "could not be read as a postmortem draft", 1),
        ("invalid_tool_input", "could not be read as a postmortem draft", 1),
        ("slow", "the AI draft was not ready within 0.3 s", 1),
        ("overloaded", "overloaded each time the bot tried", 3),
        ("unauthorized", "refused the bot's API key", 1),
    ],
)
async def test_every_api_failure_falls_back_to_a_complete_draft(
    store: RedisStore,
    chat: FakeChat,
    clock: ManualClock,
    anthropic: AnthropicStandin,
    mode: str,
    reason: str,
    requests: int,
) -> None:
    incident_id = await seed_002(store, chat, clock)
    anthropic.reset(mode)
    anthropic.delay = 3.0
    drafter = drafter_for(anthropic, budget=0.3 if mode == "slow" else 5.0)
    pm = await service(store, chat, clock, drafter).draft(incident_id)

    assert not pm.ai_written and pm.not_ai_reason and reason in pm.not_ai_reason
    assert pm.version == 1 and not pm.ai_pending  # the record's draft stands, updated
    assert pm.durations.ttr_seconds == 45 * 60 and "N+1" in pm.root_causes[0].cause
    [upload] = chat.uploads  # posted at once, before the model answered
    assert_complete(upload["content"]) and "AI draft in progress" in upload["comment"]
    [note] = [text for _, text in chat.posts if "No AI draft" in text]
    assert reason in note and "v1 above is built from the record" in note
    for said in (note, pm.not_ai_reason, await svc_export(store, chat, clock, incident_id)):
        for leak in ("JSONDecodeError", "Expecting", "validation error", "Traceback", "anthropic."):
            assert leak not in said
    assert len(anthropic.requests) == requests  # 529 retried twice (max_retries=2), not 401


async def svc_export(
    store: RedisStore, chat: FakeChat, clock: ManualClock, incident_id: str
) -> str:
    return await service(store, chat, clock, NoModelDrafter()).export(incident_id)


async def test_a_retry_after_longer_than_the_budget_ends_in_plain_words(
    store: RedisStore, chat: FakeChat, clock: ManualClock, anthropic: AnthropicStandin
) -> None:
    """529 with retry-after: the SDK waits as told; the budget still bounds the whole call."""
    incident_id = await seed_002(store, chat, clock)
    anthropic.reset("overloaded")
    anthropic.retry_after = 30
    pm = await service(store, chat, clock, drafter_for(anthropic, budget=0.5)).draft(incident_id)
    assert pm.not_ai_reason == "the AI draft was not ready within 0.5 s"
    assert len(anthropic.requests) == 1  # still waiting the 30 s it was told when time ran out


async def test_no_key_means_deterministic_and_bad_key_falls_back(
    store: RedisStore, chat: FakeChat, clock: ManualClock, anthropic: AnthropicStandin
) -> None:
    assert isinstance(make_drafter(Settings(anthropic_api_key=None)), NoModelDrafter)
    incident_id = await seed_002(store, chat, clock)
    wrong = AnthropicDrafter(api_key="sk-wrong", base_url=anthropic.base_url, model="m")
    pm = await service(store, chat, clock, wrong).build(incident_id)
    assert not pm.ai_written and "refused the bot's API key" in (pm.not_ai_reason or "")
    assert_complete(render_markdown(pm))


async def test_thin_record_gives_low_confidence_and_lists_gaps(
    store: RedisStore, chat: FakeChat, clock: ManualClock
) -> None:
    incidents = IncidentService(store=store, chat=chat, clock=clock, incidents_channel="inc")
    inc = (await incidents.declare(title="Checkout is slow", declared_by="UALICE")).incident
    pm = await service(store, chat, clock, NoModelDrafter()).build(inc.id)
    assert pm.root_causes[0].confidence < 0.7
    assert pm.root_causes[0].cause.startswith("Undetermined")
    assert pm.durations.ttm_seconds is None and pm.durations.ttr_seconds is None
    assert any("metric" in g.lower() for g in pm.data_gaps)
    assert any("below 70%" in g for g in pm.data_gaps)
    md = render_markdown(pm)
    assert_complete(md)
    assert "| Time to Resolve (TTR) | — |" in md and "**Duration**: ongoing" in md


async def test_pool_exhaustion_with_traffic_cites_the_traffic_spike_section(
    store: RedisStore, chat: FakeChat, clock: ManualClock
) -> None:
    incidents = IncidentService(store=store, chat=chat, clock=clock, incidents_channel="inc")
    inc = (await incidents.declare(title="User service 500s", declared_by="UALICE")).incident
    clock.advance(timedelta(minutes=2))
    await incidents.add_note(
        inc, "Logs: ConnectionPoolTimeoutError, connection pool exhausted", "UALICE"
    )
    clock.advance(timedelta(minutes=2))
    await incidents.add_note(inc, "Traffic spike: 4x normal load on login", "UALICE")
    pm = await service(store, chat, clock, NoModelDrafter()).build(inc.id)
    cites = [e.citation for rc in pm.root_causes for e in rc.evidence if e.citation]
    expected = (
        "Engineering Runbook: Database Connection Issues → Error: ConnectionPoolTimeoutError"
        " → Root Causes → 1. Traffic Spike"
    )
    assert expected in cites
    assert pm.root_causes[0].confidence < 0.7  # no metric readings


class FakeActions:
    def __init__(self) -> None:
        self.added: list[dict[str, Any]] = []

    async def add(self, incident: Any, **kw: Any) -> Any:
        self.added.append(kw)
        return SimpleNamespace(
            id=f"AI-{len(self.added):04d}",
            owner=kw["owner"],
            priority=SimpleNamespace(value=kw["priority"]),
            text=kw["text"],
        )


async def test_accepting_a_proposed_action_item_tracks_it_once(
    store: RedisStore, chat: FakeChat, clock: ManualClock
) -> None:
    incident_id = await seed_002(store, chat, clock)
    actions = FakeActions()
    svc = service(store, chat, clock, NoModelDrafter(), actions=actions)
    pm = await svc.draft(incident_id)
    detect = next(a for a in pm.action_items if a.type == "detect")
    item = await svc.accept_action(incident_id, detect.id, "UCAROL")
    assert item.id == "AI-0001"
    [added] = actions.added
    assert added["owner"] == "UBOB" and added["type"] == "detect"
    assert added["due"] == detect.due_suggestion.isoformat()  # type: ignore[union-attr]
    stored = await svc.latest(incident_id)
    assert stored is not None
    assert next(a for a in stored.action_items if a.id == detect.id).accepted_item_id == "AI-0001"
    with pytest.raises(UsageError):
        await svc.accept_action(incident_id, detect.id, "UCAROL")
    assert "AI-0001" in await svc.export(incident_id)


async def test_commands_postmortem_and_summary(
    store: RedisStore, chat: FakeChat, clock: ManualClock
) -> None:
    from commands import postmortem as cmd

    incident_id = await seed_002(store, chat, clock)
    inc = await store.get_incident(incident_id)
    replies: list[str] = []

    async def respond(**kw: Any) -> None:
        replies.append(kw["text"])

    incidents = IncidentService(store=store, chat=chat, clock=clock, incidents_channel="inc")
    services = SimpleNamespace(
        incidents=incidents, postmortems=None, actions=None, chat=chat, clock=clock
    )
    ctx = CommandContext(
        services=services,
        user_id="UALICE",  # type: ignore[arg-type]
        channel_id=inc.channel_id,
        trigger_id=None,
        parsed=ParsedText(),
        respond=respond,
        client=None,
    )
    await cmd.postmortem(ctx)
    assert "not set up" in replies[-1]
    services.postmortems = service(store, chat, clock, NoModelDrafter())
    await cmd.summary(ctx)
    text = replies[-1]
    assert "API high error rate" in text and "resolved after 45m 0s" in text
    assert "<@UBOB>" in text and "<@UCHARLIE>" in text and "customer email" in text
    await cmd.postmortem(ctx)
    assert "v1" in replies[-1] and "not AI-written" in replies[-1]
    assert "cannot be accepted with a click" in replies[-1]
    services.actions = FakeActions()
    await cmd.postmortem(ctx)
    [(channel, blocks)] = chat.blocks
    assert channel == inc.channel_id
    buttons = [b["accessory"] for b in blocks if "accessory" in b]
    assert buttons and buttons[0]["value"].startswith(f"{incident_id}|PA-")  # type: ignore[index]


async def test_export_postmortem_from_settings(
    store: RedisStore, chat: FakeChat, clock: ManualClock, pm_redis_url: str
) -> None:
    incident_id = await seed_002(store, chat, clock)
    settings = Settings(redis_url=pm_redis_url, runbooks_dir=str(RUNBOOKS), anthropic_api_key=None)
    fresh = await export_postmortem(settings, incident_id.lower())
    assert_complete(fresh)
    assert "Not AI-written" in fresh
    await service(store, chat, clock, NoModelDrafter()).draft(incident_id)
    stored = await export_postmortem(settings, incident_id)
    assert "**Draft version**: 1" in stored
    with pytest.raises(UsageError):
        await export_postmortem(settings, incident_id, fmt="pdf")


async def test_exported_markdown_names_people_not_slack_ids(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import bot.postmortem.service as svc
    from bot.ports import ChatUser

    class Directory:
        async def user(self, user_id: str) -> ChatUser:
            if user_id == "U0GONE":
                raise svc.IncidentBotError("no such user")
            return ChatUser(id=user_id, name={"U0ALICE": "alice"}.get(user_id, "bob"))

    service = svc.PostmortemService.__new__(svc.PostmortemService)
    service.chat = Directory()  # type: ignore[assignment]
    monkeypatch.setattr(svc, "render_markdown", lambda pm: "IC @U0ALICE, Ops @U0BOB, @U0GONE")
    text = await service.markdown(object())  # type: ignore[arg-type]
    assert text == "IC @alice, Ops @bob, @U0GONE"


# --- root cause weighs what fixed it (issue 15, item 8) ---------------------------------------


async def play_timeline(
    store: RedisStore,
    chat: FakeChat,
    clock: ManualClock,
    title: str,
    steps: list[tuple[int, str]],
    *,
    resolution: str,
) -> str:
    """Declare, then one note (or a metric reading, text starting `METRICS `) per step at
    T0 + minutes, then monitoring and resolve with `resolution`."""
    incidents = IncidentService(store=store, chat=chat, clock=clock, incidents_channel="inc")
    clock.set(T0)
    inc = (await incidents.declare(title=title, declared_by="UALICE")).incident
    last = 0
    for minutes, text in steps:
        clock.set(T0 + timedelta(minutes=minutes))
        last = minutes
        if text.startswith("METRICS "):
            await store.append_event(
                inc.id,
                TimelineEvent(kind=EventKind.METRICS, at=clock(), actor=None, text=text[8:]),
            )
        else:
            await incidents.add_note(await store.get_incident(inc.id), text, "UBOB")
    clock.set(T0 + timedelta(minutes=last + 2))
    await incidents.set_status(await store.get_incident(inc.id), Status.MONITORING, "UALICE")
    clock.set(T0 + timedelta(minutes=last + 10))
    await incidents.resolve(await store.get_incident(inc.id), "UALICE", summary=resolution)
    return inc.id


FIX_TIMELINES = [
    pytest.param(
        "Checkout API returning 500s",
        [
            (1, "Seeing 500s on /checkout since ~10 min"),
            (
                2,
                "METRICS DB pool 98/100 (98%) [CRITICAL]; likely cause: database connection pool "
                "exhaustion (Runbook → Root Causes → 1. Traffic Spike)",
            ),
            (3, "DB pool is exhausted: 98/100 active. Started right after deploy v2.3.4"),
            (4, "METRICS DB pool 99/100 (99%) [CRITICAL]; traffic spike suspected"),
            (9, "Rolled back v2.3.4"),
        ],
        "Rolled back; pool back to 40%",
        "deployment",
        "capacity",
        id="seed-like demo: rollback ends it, traffic spike ranks below the bad deploy",
    ),
    pytest.param(
        "Search results empty for EU users",
        [
            (1, "Traffic is up 2x since the newsletter went out"),
            (2, "METRICS search req/s 2x normal traffic; error rate 30% [CRITICAL]"),
            (3, "A config change to the search index alias went out at 14:15"),
            (4, "Traffic still climbing, surge from the newsletter"),
            (6, "METRICS search error rate 30% [CRITICAL]; traffic 2.2x normal"),
            (8, "Reverted the config change; results are coming back"),
        ],
        "Config change reverted",
        "configuration",
        "capacity",
        id="config change reverted beats a coincident traffic rise",
    ),
    pytest.param(
        "Login latency high",
        [
            (1, "Deploy v1.8.0 went out an hour ago, nothing unusual in it"),
            (2, "Traffic spike: 5x normal load from a scraper, 4000 req/s"),
            (4, "The v1.8.0 release notes list only a logging change"),
            (5, "Checked the deploy diff for v1.8.0 again: config untouched"),
            (3, "METRICS login p99 2400ms [HIGH]; req/s 4000, 5x normal traffic"),
            (7, "Scaled out to 12 replicas and raised the rate limit for anonymous clients"),
        ],
        "Capacity added and the scraper rate-limited",
        "capacity",
        "deployment",
        id="scaling out fixes a traffic spike; the unrelated deploy stays below",
    ),
    pytest.param(
        "Workers crash-looping",
        [
            (1, "Workers OOM-killed every few minutes, looks like a memory leak"),
            (2, "Traffic is 1.5x normal, the usual Monday peak"),
            (3, "METRICS worker req/s 1.5x normal traffic [ELEVATED]"),
            (4, "METRICS worker memory 95% [CRITICAL]; traffic 1.5x normal"),
            (5, "Traffic surge from the Monday campaign is still on"),
            (6, "Restarted the workers with a lower concurrency"),
        ],
        "Workers restarted; leak fix to follow",
        "code",
        "capacity",
        id="a restart fixes a leak",
    ),
]


@pytest.mark.parametrize(("title", "steps", "resolution", "winner", "loser"), FIX_TIMELINES)
async def test_root_cause_weighs_what_fixed_it(
    store: RedisStore,
    chat: FakeChat,
    clock: ManualClock,
    title: str,
    steps: list[tuple[int, str]],
    resolution: str,
    winner: str,
    loser: str,
) -> None:
    incident_id = await play_timeline(store, chat, clock, title, steps, resolution=resolution)
    pm = await service(store, chat, clock, NoModelDrafter()).build(incident_id)
    technical = [rc for rc in pm.root_causes if rc.kind == "technical"]
    categories = [rc.category for rc in technical]
    assert categories[0] == winner, [(rc.cause, rc.confidence) for rc in technical]
    assert loser in categories  # the other cause is still listed, below
    top, other = technical[0], technical[categories.index(loser)]
    assert top.confidence > other.confidence
    assert any(e.kind == "resolution" for e in top.evidence)
    assert not any(e.kind == "resolution" for e in other.evidence)
    md = render_markdown(pm)
    primary = md.split("### Primary Root Cause", 1)[1].split("### Root Cause 2", 1)[0]
    assert top.cause in primary and "(what fixed it)" in primary
    assert f"Multiple root causes are plausible: {top.cause}" in pm.summary


AGREEMENT_TIMELINES = [
    *(
        pytest.param(*p.values[:3], category, id=p.id)
        for p, category in zip(
            FIX_TIMELINES,
            ("bad_deploy", "config_change", "traffic_spike", "resource_exhaustion"),
            strict=True,
        )
    ),
    pytest.param(
        "Orders page timing out",
        [
            (1, "Orders page issues one query per row since the v5.2 release"),
            (2, "METRICS DB pool 97/100 (97%) [CRITICAL]; 2x normal traffic"),
            (4, "Rolled back to v5.1"),
        ],
        "Rolled back; the N+1 query gets a fix in v5.3",
        "n_plus_one",
        id="a rollback of the release that shipped an N+1 query: the query, not the deploy",
    ),
    pytest.param(
        "Payments failing at checkout",
        [
            (1, "Card provider returns 503 for every authorisation"),
            (2, "Traffic normal, no deploy since Friday"),
            (5, "Failed over to the backup provider"),
        ],
        "Provider outage; failover worked",
        "dependency_outage",
        id="a failover fixes an upstream outage",
    ),
]


@pytest.mark.parametrize(("title", "steps", "resolution", "category"), AGREEMENT_TIMELINES)
async def test_the_patterns_category_is_the_postmortems_root_cause(
    store: RedisStore,
    chat: FakeChat,
    clock: ManualClock,
    title: str,
    steps: list[tuple[int, str]],
    resolution: str,
    category: str,
) -> None:
    """One classifier: the category the patterns record at resolve is the one of the cause
    the postmortem then names first (the seed-like demo once said *traffic spike* here)."""
    incident_id = await play_timeline(store, chat, clock, title, steps, resolution=resolution)
    postmortems = service(store, chat, clock, NoModelDrafter())
    patterns = PatternService(
        store=store, chat=chat, clock=clock, postmortems=postmortems, runbooks=postmortems.library
    )
    recurrence = await patterns.on_resolve(await store.get_incident(incident_id))
    assert recurrence is not None and recurrence.category.value == category, recurrence
    pm = await postmortems.build(incident_id)
    top = signature_of(pm.root_causes[0].cause)
    assert top is not None and category_of_signature(top.key) is recurrence.category
    assert (await store.get_incident(incident_id)).root_cause_category == category
    # asked again once the postmortem exists, the category is still its root cause's
    await postmortems.draft(incident_id)
    assert (await patterns.categorize(await store.get_incident(incident_id)))[0].value == category


async def test_a_fix_recorded_after_recovery_does_not_count(
    store: RedisStore, chat: FakeChat, clock: ManualClock
) -> None:
    """Without a fix before the recovery, causes rank by their evidence alone."""
    incident_id = await play_timeline(
        store,
        chat,
        clock,
        "Checkout slow",
        [
            (1, "Traffic spike: 3x normal load after the campaign"),
            (2, "METRICS DB pool 100% [CRITICAL]; 3x normal traffic"),
            (3, "Connection pool exhausted, traffic still climbing"),
            (4, "Deploy v3.1.0 went out yesterday"),
        ],
        resolution="Traffic subsided",
    )
    svc = service(store, chat, clock, NoModelDrafter())
    before = [rc.cause for rc in (await svc.build(incident_id)).root_causes]
    incidents = IncidentService(store=store, chat=chat, clock=clock, incidents_channel="inc")
    clock.advance(timedelta(hours=1))
    inc = await store.get_incident(incident_id)
    await incidents.add_note(inc, "Rolled back v3.1.0 anyway, to be safe", "UBOB")
    pm = await svc.build(incident_id)
    assert [rc.cause for rc in pm.root_causes] == before
    assert pm.root_causes[0].category == "capacity"
    assert not any(e.kind == "resolution" for rc in pm.root_causes for e in rc.evidence)


async def test_a_draft_that_cannot_be_checked_is_never_posted(
    store: RedisStore,
    chat: FakeChat,
    clock: ManualClock,
    anthropic: AnthropicStandin,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import bot.postmortem.service as svc_module

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in the checks")

    monkeypatch.setattr(svc_module, "assemble", broken)
    incident_id = await seed_002(store, chat, clock)
    pm = await service(store, chat, clock, drafter_for(anthropic)).draft(incident_id)
    assert not pm.ai_written and pm.version == 1
    assert pm.not_ai_reason == "the model's draft could not be checked against the record"
    assert len(chat.uploads) == 1 and "(model-reviewed)" not in chat.uploads[0]["content"]
    assert not any("a bug in the checks" in text for _, text in chat.posts)


async def test_the_fact_sheet_is_there_for_other_model_written_text(
    store: RedisStore, chat: FakeChat, clock: ManualClock
) -> None:
    """What /incident summary exec (or any other model-written text) is checked against."""
    from bot.postmortem.validation import check_claim

    incident_id = await seed_002(store, chat, clock)
    sheet = await service(store, chat, clock, NoModelDrafter()).fact_sheet(incident_id)
    assert sheet.names["ubob"] == "UBOB"  # FakeChat names people by their lower-case id
    ok = check_claim("exec summary", ["{person:ops} rolled back v2.3.4 at 14:42."], [], sheet)
    assert ok.verdict == "kept" and ok.text == "@UBOB rolled back v2.3.4 at 14:42."
    bad = check_claim("exec summary", ["@dave says 40% of users in us-east-1 failed."], [], sheet)
    assert bad.verdict == "dropped"
    assert '"id": "M1"' in sheet.prompt_json()
