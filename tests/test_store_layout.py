"""The store boundary: keys of one atomic unit share one hash slot, an atomic write that
would span slots is refused before Redis sees it (so no CROSSSLOT on a cluster), optimistic
updates retry instead of losing a concurrent change, and only the store package talks Redis."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from redis.crc import key_slot

from bot.store import atomic, keys
from bot.store.atomic import CrossSlotWrite, Write
from bot.store.connection import Db, connect

ROOT = Path(__file__).resolve().parent.parent


def _slot(key: str) -> int:
    return key_slot(key.encode())


@pytest.mark.parametrize("incident_id", ["INC-20261127-0001", "INC-20300101-9999"])
def test_every_key_of_an_incident_shares_its_slot(incident_id: str) -> None:
    unit = [
        keys.incident(incident_id),
        keys.timeline(incident_id),
        keys.timeline_messages(incident_id),
        keys.action_items_of_incident(incident_id),
        keys.postmortem(incident_id),
        keys.postmortem_versions(incident_id),
        keys.postmortem_sequence(incident_id),
        keys.postmortem_accept(incident_id, "PA-1"),
        keys.metric_snapshots(incident_id),
        keys.timeline_event_seen(incident_id, "Ev0123ABCD"),
    ]
    assert len({_slot(k) for k in unit}) == 1
    other = keys.incident("INC-20261127-0002")
    assert _slot(other) != _slot(unit[0])  # different incidents spread over the cluster


async def test_a_write_across_two_incidents_is_refused_and_writes_nothing(redis_url: str) -> None:
    db = Db(connect(redis_url))
    try:
        a, b = keys.incident("INC-20261127-0001"), keys.incident("INC-20261127-0002")
        with pytest.raises(CrossSlotWrite):
            await atomic.apply(db, [Write("SET", a, ("1",)), Write("SET", b, ("2",))])
        assert await db.client.exists(a, b) == 0
    finally:
        await db.aclose()


async def test_concurrent_optimistic_updates_all_count(redis_url: str) -> None:
    db = Db(connect(redis_url))
    key = keys.incident("INC-20261127-0003")
    stream = keys.timeline("INC-20261127-0003")

    async def bump(raw: str | None) -> list[Write]:
        n = 0 if raw is None else json.loads(raw)["n"]
        await asyncio.sleep(0)  # let the others read the same value
        return [
            Write("SET", key, (json.dumps({"n": n + 1}),)),
            Write("XADD", stream, ("*", "n", n)),
        ]

    try:
        await asyncio.gather(*(atomic.update(db, key, bump) for _ in range(20)))
        assert json.loads(await db.client.get(key))["n"] == 20
        assert await db.client.xlen(stream) == 20  # each commit wrote its event exactly once
    finally:
        await db.aclose()


async def test_a_refused_update_changes_nothing(redis_url: str) -> None:
    db = Db(connect(redis_url))
    key = keys.incident("INC-20261127-0004")
    await db.client.set(key, "before")

    async def refuse(raw: str | None) -> list[Write]:
        raise PermissionError("not allowed")

    try:
        with pytest.raises(PermissionError):
            await atomic.update(db, key, refuse)
        assert await db.client.get(key) == "before"
    finally:
        await db.aclose()


def test_only_the_store_package_talks_to_redis() -> None:
    """Services go through store methods: no `.redis` and no hand-built `ib:` key outside
    bot/store/ and bot/actions/store.py."""
    allowed = {ROOT / "bot/actions/store.py"}
    offenders = []
    for path in [*(ROOT / "bot").rglob("*.py"), *(ROOT / "commands").rglob("*.py")]:
        if "store" in path.parts or path in allowed:
            continue
        text = path.read_text()
        if re.search(r"\.redis\b(?!\.)|\.redis\.", text) or re.search(r"[\"']ib:", text):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
