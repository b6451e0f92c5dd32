"""Stored records carry a schema version: old ones are upgraded on read, newer ones refused
with a clear message (upgrades never break stored data)."""

from __future__ import annotations

import json

import pytest
import redis.asyncio as aioredis

from bot.errors import IncidentBotError
from bot.incidents.models import INCIDENT_SCHEMA_VERSION, Severity
from bot.store import keys
from bot.store.redis_store import RedisStore

V0_INCIDENT = {
    "id": "INC-20250101-0001",
    "title": "Old record",
    "sev": 2,
    "status": "resolved",
    "channel_id": "C0OLD",
    "channel_name": "inc-20250101-old-record",
    "declared_by": "U0ALICE",
    "declared_at": "2025-01-01T10:00:00Z",
    "resolved_at": "2025-01-01T10:45:00Z",
}


async def test_a_record_from_before_versioning_is_upgraded(redis_url: str) -> None:
    redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        await redis.set(keys.incident(V0_INCIDENT["id"]), json.dumps(V0_INCIDENT))
        incident = await RedisStore(redis).get_incident(V0_INCIDENT["id"])
        assert incident.schema_version == INCIDENT_SCHEMA_VERSION
        assert incident.severity is Severity.SEV2
        assert incident.time_to_resolve is not None
        assert incident.time_to_resolve.total_seconds() == 45 * 60
    finally:
        await redis.aclose()


async def test_a_record_from_a_newer_bot_is_refused_clearly(redis_url: str) -> None:
    redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        doc = {**V0_INCIDENT, "schema_version": 9, "severity": 2}
        await redis.set(keys.incident(V0_INCIDENT["id"]), json.dumps(doc))
        with pytest.raises(IncidentBotError, match="schema version 9, newer than this bot"):
            await RedisStore(redis).get_incident(V0_INCIDENT["id"])
    finally:
        await redis.aclose()


async def test_a_version_1_record_loads_without_the_status_update_fields(redis_url: str) -> None:
    redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        doc = {**V0_INCIDENT, "schema_version": 1, "severity": 1, "status": "investigating"}
        del doc["sev"]
        await redis.set(keys.incident(V0_INCIDENT["id"]), json.dumps(doc))
        store = RedisStore(redis)
        incident = await store.get_incident(V0_INCIDENT["id"])
        assert incident.schema_version == INCIDENT_SCHEMA_VERSION
        assert incident.announcement_ts is None
        assert incident.update_cadence_minutes is None  # the severity's default cadence
        assert incident.next_update_due is None and incident.last_update_at is None

        def set_cadence(inc: object) -> list[object]:
            inc.update_cadence_minutes = 15  # type: ignore[attr-defined]
            return []

        await store.update_incident(V0_INCIDENT["id"], set_cadence)  # type: ignore[arg-type]
        stored = json.loads(await redis.get(keys.incident(V0_INCIDENT["id"])) or "{}")
        assert stored["schema_version"] == INCIDENT_SCHEMA_VERSION
        assert stored["update_cadence_minutes"] == 15
    finally:
        await redis.aclose()


async def test_a_version_2_record_loads_with_the_lifecycle_defaults(redis_url: str) -> None:
    redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        doc = {**V0_INCIDENT, "schema_version": 2, "severity": 2, "announcement_ts": "1.2"}
        del doc["sev"]
        await redis.set(keys.incident(V0_INCIDENT["id"]), json.dumps(doc))
        store = RedisStore(redis)
        incident = await store.get_incident(V0_INCIDENT["id"])
        assert incident.schema_version == INCIDENT_SCHEMA_VERSION == 3
        assert incident.announcement_ts == "1.2"
        assert not incident.private and incident.reopenings == [] and incident.merged_from == []
        assert incident.merged_into is None and incident.declined_at is None
        assert incident.counts_in_stats
        assert incident.time_to_resolve is not None
        assert incident.time_to_resolve.total_seconds() == 45 * 60

        def touch(inc: object) -> list[object]:
            return []

        # a write stores the upgraded record, which the next read takes as it is
        await store.update_incident(V0_INCIDENT["id"], touch)  # type: ignore[arg-type]
        stored = json.loads(await redis.get(keys.incident(V0_INCIDENT["id"])) or "{}")
        assert stored["schema_version"] == 3 and stored["private"] is False
    finally:
        await redis.aclose()
