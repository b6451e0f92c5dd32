"""Corrected key times (`/incident times started:HH:MM identified:… mitigated:… resolved:…`).

A time is `HH:MM` in the IC's time zone (the latest such moment not in the future) or an ISO
time (`2026-11-23T14:05`, with `Z` or an offset, else in the IC's time zone). The corrected
times must keep the order started ≤ identified ≤ mitigated ≤ resolved, impact cannot start
after the incident was declared, and nothing may lie in the future."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import UsageError
from bot.incidents.models import Incident

HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
# the option name users type -> the incident field it corrects, in the required order
KEY_TIMES: dict[str, str] = {
    "started": "impact_started_at",
    "identified": "identified_at",
    "mitigated": "mitigated_at",
    "resolved": "resolved_at",
}


@dataclass(frozen=True)
class TimeCorrection:
    name: str  # started | identified | mitigated | resolved
    old: datetime | None
    new: datetime


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def parse_key_time(value: str, *, now: datetime, tz: ZoneInfo) -> datetime:
    """`HH:MM` in `tz` (today, or yesterday when that is still ahead) or an ISO time."""
    text = value.strip()
    hint = (
        f"use HH:MM (your IC's time zone, {tz.key}) or an ISO time like "
        f"`{now.astimezone(tz).strftime('%Y-%m-%dT%H:%M')}`"
    )
    match = HHMM.match(text)
    if match:
        local_now = now.astimezone(tz)
        at = local_now.replace(
            hour=int(match.group(1)), minute=int(match.group(2)), second=0, microsecond=0
        )
        if at > local_now:
            at -= timedelta(days=1)
        return at.astimezone(now.tzinfo)
    if "T" not in text.upper():
        raise UsageError(f"`{text}` is not a time; {hint}.")
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"`{text}` is not a time; {hint}.") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=tz)
    at = at.astimezone(now.tzinfo)
    if at > now:
        raise UsageError(f"`{text}` is in the future; key times must already have happened.")
    return at


def current(incident: Incident, name: str) -> datetime | None:
    value: datetime | None = getattr(incident, KEY_TIMES[name])
    return value


def plan_corrections(incident: Incident, new: dict[str, datetime]) -> list[TimeCorrection]:
    """The corrections to make, checked against each other and the rest of the record.
    Raises UsageError (nothing changes) when the result would be out of order."""
    if not new:
        raise UsageError("Give at least one of started:, identified:, mitigated:, resolved:.")
    if "resolved" in new and incident.resolved_at is None:
        raise UsageError(
            f"{incident.id} is not resolved, so it has no resolved time to correct; "
            "use `/incident resolve` when it is."
        )
    merged = {
        name: new.get(name, incident.started_at if name == "started" else current(incident, name))
        for name in KEY_TIMES
    }
    known = [(name, at) for name, at in merged.items() if at is not None]
    for (a, at_a), (b, at_b) in pairwise(known):
        if at_a > at_b:
            raise UsageError(
                f"The times are out of order: {a} ({at_a:%Y-%m-%d %H:%M} UTC) would come after "
                f"{b} ({at_b:%Y-%m-%d %H:%M} UTC). Keep started ≤ identified ≤ mitigated ≤ "
                "resolved."
            )
    started = merged["started"]
    if "started" in new and started is not None and started > incident.declared_at:
        raise UsageError(
            f"Impact cannot start ({started:%Y-%m-%d %H:%M} UTC) after the incident was "
            f"declared ({incident.declared_at:%Y-%m-%d %H:%M} UTC)."
        )
    if "resolved" in new and incident.reopenings:
        last = incident.reopenings[-1].at
        if new["resolved"] < last:
            raise UsageError(
                f"{incident.id} was reopened at {last:%Y-%m-%d %H:%M} UTC; its resolved "
                "time cannot be before that."
            )
    out: list[TimeCorrection] = []
    for name, at in new.items():
        old = current(incident, name)
        if old != at:
            out.append(TimeCorrection(name=name, old=old, new=at))
    if not out:
        raise UsageError("Those are already the recorded times; nothing to correct.")
    return out


def apply_corrections(incident: Incident, corrections: list[TimeCorrection]) -> None:
    for c in corrections:
        setattr(incident, KEY_TIMES[c.name], c.new)
