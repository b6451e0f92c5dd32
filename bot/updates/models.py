"""Status updates, the update cadence and the nudge settings.

When the next update is due
---------------------------
An active incident's next update is due at ``incident.next_update_due`` when set (the last
update's ``next:``, or the cadence applied then, or a `/incident cadence` change); otherwise
one cadence after the last update (or the declaration). The cadence is the incident's own
override (``update_cadence_minutes``; 0 = off) or its severity's default
(``UPDATE_CADENCE_SEV1`` …). Resolved and closed incidents are never due.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from bot.incidents.models import Incident, Severity, Status
from bot.workweek import MON_FRI

STATUS_UPDATE_SCHEMA_VERSION = 1
MAX_FIELD_CHARS = 1500


class StatusUpdate(BaseModel):
    """One structured update, as posted (kept in a per-incident Redis list)."""

    schema_version: int = STATUS_UPDATE_SCHEMA_VERSION
    seq: int
    incident_id: str
    at: datetime
    author: str
    text: str  # what changed
    impact: str = ""  # current impact
    next_steps: str = ""
    status: Status
    severity: Severity
    next_update_due: datetime | None = None


class UpdateDraft(BaseModel):
    """What someone asked to post: from the command text or the modal."""

    text: str = Field(min_length=1, max_length=MAX_FIELD_CHARS)
    impact: str = Field(default="", max_length=MAX_FIELD_CHARS)
    next_steps: str = Field(default="", max_length=MAX_FIELD_CHARS)
    next_in: timedelta | None = None
    status: Status | None = None
    severity: Severity | None = None


class CadenceSettings(BaseModel):
    """Default cadence per severity (None: no cadence) and when a due update is overdue."""

    sev1: timedelta | None = timedelta(minutes=30)
    sev2: timedelta | None = timedelta(minutes=60)
    sev3: timedelta | None = None
    sev4: timedelta | None = None
    overdue_after: timedelta = timedelta(minutes=15)
    updates_by_anyone: bool = False

    @classmethod
    def from_settings(cls, settings: Any) -> CadenceSettings:
        return cls(
            sev1=settings.update_cadence_sev1,
            sev2=settings.update_cadence_sev2,
            sev3=settings.update_cadence_sev3,
            sev4=settings.update_cadence_sev4,
            overdue_after=settings.update_overdue_after,
            updates_by_anyone=settings.updates_by_anyone,
        )

    def default_for(self, severity: Severity) -> timedelta | None:
        return {
            Severity.SEV1: self.sev1,
            Severity.SEV2: self.sev2,
            Severity.SEV3: self.sev3,
            Severity.SEV4: self.sev4,
        }[severity]


class NudgeSettings(BaseModel):
    stale_after: timedelta | None = timedelta(hours=2)
    postmortem_due_business_days: int = 2
    work_days: frozenset[int] = MON_FRI  # REMINDER_WORK_DAYS: what a business day is
    close_after: timedelta | None = timedelta(days=7)
    lookback: timedelta = timedelta(days=60)  # resolved incidents older than this are left be

    @classmethod
    def from_settings(cls, settings: Any) -> NudgeSettings:
        return cls(
            stale_after=settings.stale_after,
            postmortem_due_business_days=settings.postmortem_due,
            work_days=settings.reminder_work_days,
            close_after=settings.close_after,
        )


def cadence_for(incident: Incident, cadence: CadenceSettings) -> timedelta | None:
    if incident.update_cadence_minutes is None:
        return cadence.default_for(incident.severity)
    if incident.update_cadence_minutes <= 0:
        return None
    return timedelta(minutes=incident.update_cadence_minutes)


def next_update_due(incident: Incident, cadence: CadenceSettings) -> datetime | None:
    if not incident.is_active:
        return None
    if incident.next_update_due is not None:
        return incident.next_update_due
    every = cadence_for(incident, cadence)
    if every is None:
        return None
    return (incident.last_update_at or incident.declared_at) + every


def describe_cadence(every: timedelta | None) -> str:
    if every is None:
        return "off"
    minutes = int(every.total_seconds() // 60)
    if minutes % 60 == 0:
        return f"every {minutes // 60}h"
    return f"every {minutes}m"
