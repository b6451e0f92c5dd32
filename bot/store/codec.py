"""Versioned JSON for stored records: old versions are upgraded on read, never broken.

Records are written by pydantic (`model_dump_json`, its Rust serializer) and read with
orjson; the JSON itself is unchanged, so records written by any earlier version read the
same (tests/test_store_versions.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel

from bot.errors import IncidentBotError

M = TypeVar("M", bound=BaseModel)
Upgrade = Callable[[dict[str, Any]], dict[str, Any]]


def _v0_to_v1(doc: dict[str, Any]) -> dict[str, Any]:
    # records written before versioning carried no schema_version and used "sev" for severity
    if "sev" in doc and "severity" not in doc:
        doc["severity"] = doc.pop("sev")
    doc["schema_version"] = 1
    return doc


def _v1_to_v2(doc: dict[str, Any]) -> dict[str, Any]:
    # version 2 added the status-update fields (announcement, cadence, next update due);
    # records from before them had none of these, so every one starts unset
    for name in (
        "announcement_channel_id",
        "announcement_ts",
        "update_cadence_minutes",
        "last_update_at",
        "next_update_due",
    ):
        doc.setdefault(name, None)
    doc["schema_version"] = 2
    return doc


def _v2_to_v3(doc: dict[str, Any]) -> dict[str, Any]:
    # version 3 added the lifecycle (private, reopenings, declined, merged): a record from
    # before it was public, never reopened, declined or merged
    doc.setdefault("private", False)
    doc.setdefault("reopenings", [])
    doc.setdefault("merged_from", [])
    for name in ("declined_at", "decline_reason", "merged_into"):
        doc.setdefault(name, None)
    doc["schema_version"] = 3
    return doc


UPGRADES: dict[int, Upgrade] = {0: _v0_to_v1, 1: _v1_to_v2, 2: _v2_to_v3}


def dumps(model: BaseModel) -> str:
    return model.model_dump_json()


def loads(model: type[M], raw: str | bytes, *, current: int = 1) -> M:
    doc: dict[str, Any] = orjson.loads(raw)
    version = int(doc.get("schema_version", 0))
    if version > current:
        raise IncidentBotError(
            f"stored {model.__name__} has schema version {version}, newer than this bot "
            f"understands ({current}); upgrade the bot"
        )
    while version < current:
        doc = UPGRADES[version](doc)
        version = int(doc["schema_version"])
    return model.model_validate(doc)
