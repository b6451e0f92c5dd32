"""Units of latency families: from Prometheus's metadata when it has them, else from the
name's suffix (a backfilled TSDB, or a store without /api/v1/metadata, has none)."""

from __future__ import annotations

from typing import Literal

Unit = Literal["seconds", "milliseconds", "microseconds"]


def unit_from_name(name: str) -> Unit | None:
    base = name.removesuffix("_bucket").removesuffix("_count").removesuffix("_sum")
    for suffix, unit in (
        ("_seconds", "seconds"),
        ("_milliseconds", "milliseconds"),
        ("_ms", "milliseconds"),
        ("_microseconds", "microseconds"),
    ):
        if base.endswith(suffix):
            return unit  # type: ignore[return-value]
    return None


def unit_from_metadata(name: str, metadata: dict[str, list[dict[str, str]]]) -> Unit | None:
    base = name.removesuffix("_bucket")
    for entry in metadata.get(base, []):
        unit = entry.get("unit", "").lower()
        if unit in ("seconds", "s"):
            return "seconds"
        if unit in ("milliseconds", "ms"):
            return "milliseconds"
        if unit in ("microseconds", "us"):
            return "microseconds"
    return None
