"""Every store class against a single Redis AND a 3-master Redis Cluster started by the
tests: the same calls, the same results, and no CROSSSLOT anywhere (records of different
incidents land on different masters, so reads across incidents really cross nodes)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot

from bot.actions.models import ActionItem, ItemStatus
from bot.errors import NotFound
from bot.incidents.models import Incident, Status
from bot.postmortem.models import Postmortem
from bot.store import keys
from bot.store.connection import Db, RedisSettings, connect, open_db
from bot.store.redis_store import RedisStore
from bot.timeline.models import EventKind, TimelineEvent

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
WHY = {"question": "Why slow?", "answer": "The pool was full."}


@pytest.fixture(params=["single", "cluster"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[RedisStore]:
    if request.param == "single":
        db = Db(connect(request.getfixturevalue("redis_url")))
    else:
        db = await open_db(RedisSettings(url=request.getfixturevalue("cluster_url"), cluster=True))
        assert isinstance(db.client, RedisCluster)
    s = RedisStore(db)
    yield s
    await s.aclose()


def incident(n: int, **kw: object) -> Incident:
    return Incident(
        id=f"INC-20261127-{n:04d}",
        title=f"Checkout latency {n}",
        services=["checkout", f"svc{n % 3}"],
        tags=["db"],
        channel_id=f"C{n:04d}",
        channel_name=f"inc-20261127-checkout-{n}",
        declared_by="U1",
        declared_at=T0 + timedelta(minutes=n),
        **kw,  # type: ignore[arg-type]
    )


def event(text: str, ts: str | None = None, kind: EventKind = EventKind.NOTE) -> TimelineEvent:
    return TimelineEvent(kind=kind, at=T0, actor="U1", text=text, message_ts=ts)


async def declare(store: RedisStore, n: int) -> Incident:
    inc = incident(n)
    await store.create_incident(inc, event("declared", kind=EventKind.DECLARED))
    return inc


async def test_incidents_across_slots(store: RedisStore) -> None:
    assert await store.next_incident_id(T0) == "INC-20261127-0001"
    made = [await declare(store, n) for n in range(1, 7)]
    assert len({key_slot(keys.incident(i.id).encode()) for i in made}) > 1
    assert await store.incident_id_for_channel("C0003") == "INC-20261127-0003"
    assert [i.id for i in await store.incidents([m.id for m in made])] == [m.id for m in made]
    assert await store.open_incident_count() == 6

    def resolve(inc: Incident) -> list[TimelineEvent]:
        inc.status = Status.RESOLVED
        inc.resolved_at = T0 + timedelta(hours=1)
        return [event("resolved"), event("thanks all")]

    resolved, events = await store.update_incident("INC-20261127-0002", resolve)
    assert resolved.status is Status.RESOLVED and len(events) == 2
    assert "INC-20261127-0002" not in await store.list_incident_ids(open_only=True)
    assert len(await store.list_incident_ids(open_only=False)) == 6
    kinds = [e.kind for _, e in await store.events("INC-20261127-0002")]
    assert kinds == [EventKind.DECLARED, EventKind.NOTE, EventKind.NOTE]
    window = await store.incident_ids_declared(
        (T0 + timedelta(minutes=2)).timestamp(), (T0 + timedelta(minutes=4)).timestamp()
    )
    assert window == ["INC-20261127-0002", "INC-20261127-0003", "INC-20261127-0004"]
    with pytest.raises(NotFound):
        await store.update_incident("INC-20261127-0099", resolve)


async def test_concurrent_updates_of_one_incident_keep_every_change(store: RedisStore) -> None:
    inc = await declare(store, 1)

    def add_tag(tag: str):  # type: ignore[no-untyped-def]
        def change(i: Incident) -> list[TimelineEvent]:
            i.tags.append(tag)
            return [event(f"tag {tag}")]

        return change

    await asyncio.gather(*(store.update_incident(inc.id, add_tag(f"t{n}")) for n in range(10)))
    stored = await store.get_incident(inc.id)
    assert sorted(stored.tags) == sorted(["db", *(f"t{n}" for n in range(10))])
    assert len(await store.events(inc.id)) == 11


async def test_timeline_records_each_message_once(store: RedisStore) -> None:
    inc = await declare(store, 1)
    said = event("db pool at 100%", ts="1.0", kind=EventKind.MESSAGE)
    assert await store.record_message(inc.id, said)
    assert not await store.record_message(inc.id, said)
    await store.append_event(inc.id, event("edited", ts="1.0", kind=EventKind.MESSAGE_EDITED))
    assert await store.has_message(inc.id, "1.0")
    texts = [e.event.text for e in await store.timeline(inc.id)]
    assert texts == ["declared", "edited"]


def item(n: int, incident_id: str, owner: str = "U2", due_in: timedelta = timedelta(0)
         ) -> ActionItem:
    return ActionItem(
        id=f"AI-{n:04d}",
        incident_id=incident_id,
        text=f"fix {n}",
        owner=owner,
        created_by="U1",
        created_at=T0,
        due=T0 + timedelta(days=1),
        next_reminder_at=T0 + due_in,
    )


async def test_action_items_and_their_indexes(store: RedisStore) -> None:
    items = store.actions
    assert await items.next_id() == "AI-0001"
    for n in range(1, 6):
        await items.create(item(n, f"INC-20261127-000{n % 2 + 1}", due_in=timedelta(minutes=n)))
    assert await items.ids_of_incident("INC-20261127-0001") == ["AI-0002", "AI-0004"]
    assert len(await items.many(await items.open_ids())) == 5
    assert await items.due_ids(T0 + timedelta(minutes=3), 10) == ["AI-0001", "AI-0002", "AI-0003"]

    def reassign_and_finish(it: ActionItem) -> None:
        it.owner = "U3"
        it.status = ItemStatus.DONE

    await items.update("AI-0002", reassign_and_finish)
    assert await items.ids_of_owner("U2") == ["AI-0001", "AI-0003", "AI-0004", "AI-0005"]
    assert await items.ids_of_owner("U3") == ["AI-0002"]
    assert "AI-0002" not in await items.open_ids()
    assert "AI-0002" not in await items.due_ids(T0 + timedelta(hours=1), 10)

    assert await items.claim("AI-0001", "w1", timedelta(seconds=30))
    assert not await items.claim("AI-0001", "w2", timedelta(seconds=30))
    await items.release("AI-0001", "w2")  # not w2's: stays
    assert not await items.claim("AI-0001", "w3", timedelta(seconds=30))
    await items.release("AI-0001", "w1")
    assert await items.claim("AI-0001", "w3", timedelta(seconds=30))
    assert await items.mark_slot("AI-0001", "g0:before")
    assert not await items.mark_slot("AI-0001", "g0:before")


async def test_postmortem_versions(store: RedisStore) -> None:
    inc = await declare(store, 1)
    pm = Postmortem.model_validate(
        {
            "incident_id": inc.id,
            "title": inc.title,
            "severity": "SEV3",
            "status": "resolved",
            "declared_at": T0,
            "generated_at": T0,
            "summary": "Pool exhausted.",
            "impact": ["checkout slow"],
            "root_causes": [
                {"cause": "pool too small", "category": "capacity", "kind": "technical",
                 "confidence": 0.8}
            ],
            "five_whys": [WHY],
        }
    )
    first = await store.postmortems.save_new_version(pm)
    second = await store.postmortems.save_new_version(pm)
    assert (first.version, second.version) == (1, 2)
    await store.postmortems.replace_latest(second.model_copy(update={"title": "Renamed"}))
    latest = await store.postmortems.latest(inc.id)
    assert latest is not None and latest.title == "Renamed" and latest.version == 2
    assert await store.postmortems.version_count(inc.id) == 2
    assert await store.postmortems.claim_accept(inc.id, "PA-1")
    assert not await store.postmortems.claim_accept(inc.id, "PA-1")


async def test_alerts_and_seen_markers(store: RedisStore) -> None:
    alerts = store.alerts
    await alerts.remember("fp1", '{"x": 1}')
    assert await alerts.payload("fp1") == '{"x": 1}'
    assert await alerts.claim_post("fp1", "t0")
    assert not await alerts.claim_post("fp1", "t0")
    await alerts.release_post("fp1", "t0")
    assert await alerts.claim_post("fp1", "t0")
    await alerts.link_incident("fp1", "INC-20261127-0001")
    assert await alerts.incident_id("fp1") == "INC-20261127-0001"
    assert await store.first_time(keys.seen_event("Ev1"))
    assert not await store.first_time(keys.seen_event("Ev1"))


async def test_pattern_index(store: RedisStore) -> None:
    made = [await declare(store, n) for n in range(1, 5)]
    for inc in made:
        await store.patterns.add(inc)
    found = await store.patterns.candidates(made[0], None, T0, T0 + timedelta(days=1))
    assert set(found) == {m.id for m in made[1:]}
    moved = made[1].model_copy(update={"services": ["billing"], "tags": [], "title": "Billing"})
    await store.patterns.add(moved)
    found = await store.patterns.candidates(made[0], None, T0, T0 + timedelta(days=1))
    assert made[1].id not in found


async def test_leases_run_each_job_once(store: RedisStore) -> None:
    runs: list[int] = []

    async def job() -> int:
        runs.append(1)
        await asyncio.sleep(0)
        return len(runs)

    outcomes = await asyncio.gather(
        *(
            store.leases.run_once("digest:2026-W48", job, ttl=timedelta(seconds=30),
                                  keep=timedelta(days=1))
            for _ in range(8)
        )
    )
    assert runs == [1] and sum(ran for ran, _ in outcomes) == 1
    ran, _ = await store.leases.run_once("digest:2026-W48", job, ttl=timedelta(seconds=30),
                                         keep=timedelta(days=1))
    assert not ran  # done stays done after the lease is gone

    async def broken() -> int:
        raise RuntimeError("slack down")

    with pytest.raises(RuntimeError):
        await store.leases.run_once("digest:2026-W49", broken, ttl=timedelta(seconds=30),
                                    keep=timedelta(days=1))
    ran, _ = await store.leases.run_once("digest:2026-W49", job, ttl=timedelta(seconds=30),
                                         keep=timedelta(days=1))
    assert ran  # a failed run is not marked done: the next holder retries

    lease = await store.leases.acquire("x", timedelta(seconds=30))
    assert lease is not None
    assert await store.leases.acquire("x", timedelta(seconds=30)) is None
    assert await store.leases.extend(lease, timedelta(seconds=60))
    assert await store.leases.release(lease)
    assert not await store.leases.release(lease)


async def test_update_relapse_and_integration_stores(store: RedisStore) -> None:
    from bot.incidents.models import Severity
    from bot.store.integrations import RetryJob
    from bot.updates.models import StatusUpdate

    made = [await declare(store, n) for n in range(1, 4)]
    for inc in made:
        for text in ("db pool full", "rolled back"):
            await store.updates.append(
                StatusUpdate(seq=0, incident_id=inc.id, at=T0, author="U1", text=text,
                             status=Status.INVESTIGATING, severity=Severity.SEV2)
            )
        assert await store.updates.subscribe(inc.id, "U9")
    assert [u.seq for u in await store.updates.updates(made[1].id)] == [1, 2]
    assert sorted(await store.updates.followed("U9")) == [m.id for m in made]
    when = T0 + timedelta(minutes=1)
    assert await store.fanout.enqueue(made[0].id, "1", '{"job": 1}', T0)
    assert not await store.fanout.enqueue(made[0].id, "1", '{"job": 2}', T0)  # queued once
    assert await store.fanout.due(T0) == [(f"{made[0].id}|1", T0.timestamp())]
    first = await store.fanout.claim(made[0].id, "1", "U9", "a", timedelta(seconds=60))
    second = await store.fanout.claim(made[0].id, "1", "U9", "b", timedelta(seconds=60))
    assert (first.value, second.value) == ("claimed", "held")
    await store.fanout.delivered(made[0].id, "1", "U9")
    again = await store.fanout.claim(made[0].id, "1", "U9", "b", timedelta(seconds=60))
    assert again.value == "delivered"
    assert await store.fanout.undelivered(made[0].id, "1", ["U9", "U8"]) == ["U8"]
    await store.fanout.reschedule(made[0].id, "1", '{"job": 1}', when)
    assert await store.fanout.due(T0) == []
    await store.fanout.finish(made[0].id, "1")
    assert await store.fanout.document(made[0].id, "1") is None
    assert await store.fanout.waiting() == 0

    await store.relapse.watch(made[0].id, T0 + timedelta(hours=1))
    assert made[0].id in await store.relapse.watched(T0)
    assert await store.relapse.claim_post(made[0].id, T0)
    assert not await store.relapse.claim_post(made[0].id, T0)

    await store.integrations.enqueue(RetryJob(op="page", incident_id=made[2].id), T0)
    assert [j.incident_id for j in await store.integrations.claim_due(T0)] == [made[2].id]
    assert await store.integrations.claim_due(T0) == []


async def test_a_write_no_replica_confirms_is_a_failed_write(store: RedisStore) -> None:
    """REDIS_MIN_REPLICAS_ACK=1 with no replica: the write and WAIT go out on one
    connection (on a cluster: to the primary owning the slot), WAIT times out, the caller
    gets StoreUnavailable (503 to Slack, 'try again' to a person)."""
    from bot.errors import StoreUnavailable
    from bot.store.connection import Durability

    inc = await declare(store, 1)
    strict = RedisStore(Db(store.db.client, Durability(replicas=1, timeout_ms=50)))
    with pytest.raises(StoreUnavailable, match="reached 0 of 1 replicas"):
        await strict.append_event(inc.id, event("not replicated"))
    with pytest.raises(StoreUnavailable):
        await strict.record_message(inc.id, event("said", ts="2.0", kind=EventKind.MESSAGE))
    # the primary has both (re-sent events are deduplicated when Slack retries)
    assert len(await store.events(inc.id)) == 3
    assert await store.has_message(inc.id, "2.0")
