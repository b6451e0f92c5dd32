"""Action items: the service and the `/incident action` handler against real Redis (db 5)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from bot.actions.service import ActionItemService
from bot.actions.store import ActionItemStore
from bot.clock import ManualClock
from bot.errors import NotFound, PermissionDenied, UsageError
from bot.incidents.access import IncidentAccess
from bot.incidents.models import Incident, Role
from bot.store import codec, keys
from bot.store.redis_store import RedisStore, connect
from bot.timeline.models import EventKind
from commands.context import CommandContext
from commands.incident import registry
from tests.fakes import FakeChat
from tests.test_reminders import REDIS_URL, START, USERS

INC = "INC-20261123-0001"


@pytest.fixture
async def env() -> AsyncIterator[SimpleNamespace]:
    redis = connect(REDIS_URL)
    await redis.flushdb()
    clock = ManualClock(START)
    store = RedisStore(redis)
    items = ActionItemStore(redis)

    async def is_admin(user: str) -> bool:
        return user == "UDIANA"

    chat = FakeChat(users=USERS)
    service = ActionItemService(
        store=store, actions_store=items, chat=chat, clock=clock, is_admin=is_admin,
        access=IncidentAccess(members=chat, is_admin=is_admin),
    )
    inc = Incident(
        id=INC,
        title="Checkout 500s",
        channel_id="CINC0001",
        channel_name="inc-20261123-checkout",
        roles={Role.IC: "UCHARLIE"},
        declared_by="UCHARLIE",
        declared_at=START,
    )
    await redis.set(keys.incident(INC), codec.dumps(inc))
    await redis.set(keys.channel_index("CINC0001"), INC)
    yield SimpleNamespace(
        redis=redis, clock=clock, store=store, items=items, service=service, inc=inc
    )
    await redis.flushdb()
    await redis.aclose()


async def _nothing_stored(env: SimpleNamespace) -> None:
    assert await env.items.open_ids() == []
    assert await env.redis.zcard(keys.action_items_due()) == 0
    assert len(await env.store.events(INC)) == 0


@pytest.mark.parametrize(
    ("owner", "opts", "fragment"),
    [
        ("UALICE", {"due": "next friday"}, "not a date"),
        ("UALICE", {"due": "2026-13-45"}, "not a date"),
        ("UALICE", {"due": "2020-01-01"}, "in the past"),
        ("UNOBODY", {}, "not a user"),
        ("UALICE", {"priority": "P7"}, "not a priority"),
        ("UALICE", {"type": "hope"}, "not a type"),
        ("UALICE", {"ticket": "<!channel>"}, "not a ticket"),
    ],
)
async def test_bad_input_is_a_usage_error_and_nothing_is_stored(
    env: SimpleNamespace, owner: str, opts: dict[str, str], fragment: str
) -> None:
    with pytest.raises(UsageError, match=fragment):
        await env.service.add(env.inc, owner=owner, text="fix it", actor="UCHARLIE", **opts)
    await _nothing_stored(env)


async def test_add_indexes_and_timeline(env: SimpleNamespace) -> None:
    item = await env.service.add(
        env.inc,
        owner="UALICE",
        text="Alert on pool use",
        actor="UCHARLIE",
        due="2026-11-30",
        priority="p1",
        type="detect",
        ticket="OPS-123",
    )
    assert item.id == "AI-0001" and item.priority.value == "P1" and item.ticket == "OPS-123"
    assert item.next_reminder_at == item.due - timedelta(hours=24)  # type: ignore[operator]
    assert await env.items.ids_of_owner("UALICE") == ["AI-0001"]
    assert await env.items.ids_of_incident(INC) == ["AI-0001"]
    events = await env.store.events(INC)
    assert events[-1][1].kind is EventKind.ACTION_ITEM
    assert events[-1][1].data["action"] == "added"


async def test_permissions_done_snooze_reassign(env: SimpleNamespace) -> None:
    item = await env.service.add(env.inc, owner="UALICE", text="x", actor="UCHARLIE", due="3d")
    with pytest.raises(PermissionDenied):
        await env.service.done(item.id, "UBOB")
    with pytest.raises(PermissionDenied):
        await env.service.snooze(item.id, "UBOB")
    assert (await env.items.get(item.id)).is_open
    await env.service.snooze(item.id, "UCHARLIE", timedelta(days=1))  # the IC
    await env.service.reassign(item.id, "UBOB", "UDIANA")  # an admin
    assert await env.items.ids_of_owner("UALICE") == []
    assert await env.items.ids_of_owner("UBOB") == [item.id]
    _, changed = await env.service.done(item.id, "UBOB")
    _, again = await env.service.done(item.id, "UBOB")
    assert changed and not again
    kinds = [e.data.get("action") for _, e in await env.store.events(INC)]
    assert kinds == ["added", "snoozed", "reassigned", "done"]
    with pytest.raises(NotFound):
        await env.service.done("AI-9999", "UBOB")


async def test_list_scopes(env: SimpleNamespace) -> None:
    a = await env.service.add(env.inc, owner="UALICE", text="a", actor="UCHARLIE", due="1d")
    b = await env.service.add(env.inc, owner="UBOB", text="b", actor="UCHARLIE", due="2w")
    env.clock.advance(timedelta(days=2))
    mine = await env.service.list_items("mine", user_id="UALICE")
    assert [i.id for i in mine] == [a.id]
    overdue = await env.service.list_items("overdue", user_id="UBOB", incident_id=INC)
    assert [i.id for i in overdue] == [a.id]
    await env.service.done(b.id, "UBOB")
    every = await env.service.list_items("all", user_id="UBOB", incident_id=INC)
    assert [i.id for i in every] == [a.id, b.id]
    assert [i.id for i in await env.service.list_items("all", user_id="UBOB")] == [a.id]


class Replies:
    def __init__(self) -> None:
        self.texts: list[str] = []

    async def __call__(self, **kwargs: Any) -> None:
        self.texts.append(kwargs["text"])


async def run(env: SimpleNamespace, text: str, user: str = "UCHARLIE") -> Replies:
    """`/incident action <text>` through the command registry (parse, then dispatch)."""

    async def target(channel_id: str, explicit: str | None) -> Incident:
        if channel_id == "CINC0001" or explicit:
            return env.inc  # type: ignore[no-any-return]
        from bot.errors import NotInIncidentChannel

        raise NotInIncidentChannel("not an incident channel")

    services = SimpleNamespace(
        actions=env.service,
        clock=env.clock,
        store=env.store,
        incidents=SimpleNamespace(target=target, access=env.service.access),
    )
    replies = Replies()
    owner, sub, parsed = registry.parse(f"action {text}")
    ctx = CommandContext(
        services=services,  # type: ignore[arg-type]
        user_id=user,
        channel_id="CINC0001",
        trigger_id=None,
        parsed=parsed,
        respond=replies,
        client=None,
    )
    await owner.dispatch(sub, ctx)
    return replies


async def test_command_add_list_done(env: SimpleNamespace) -> None:
    out = await run(env, "add <@UALICE|alice> Alert on pool use due:3d priority:P1 type:detect")
    assert "AI-0001" in out.texts[-1] and "<!date^" in out.texts[-1]
    out = await run(env, "list")
    assert "AI-0001" in out.texts[-1] and "P1" in out.texts[-1]
    out = await run(env, "")  # no verb: the list
    assert "AI-0001" in out.texts[-1]
    out = await run(env, "done ai-0001", user="UALICE")
    assert "done" in out.texts[-1]


async def test_command_bad_input_shows_every_form(env: SimpleNamespace) -> None:
    for text in ("add <@UALICE> thing due:someday", "frobnicate", "add nobody thing", "snooze"):
        with pytest.raises(UsageError) as err:
            await run(env, text)
        assert err.value.usage and "`/incident action reassign <id> <@user>`" in err.value.usage
        assert "`/incident action add <@owner> <text>" in err.value.usage
    await _nothing_stored(env)
