"""Settings of action items and their reminders: a group of bot.settings.Settings, kept
beside the reminders that use them (docs/settings.md is generated from it: `make docs`)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from bot.setting_values import WorkDays
from bot.workweek import MON_FRI

HHMM = r"^\d{2}:\d{2}$"


class ReminderSettings(BaseModel):
    """Action items and reminders

    The worker reminds owners in their working hours, in their Slack time zone."""

    reminder_scan_interval: float = Field(
        60.0, gt=0, description="seconds between reminder scans in the worker"
    )
    reminder_lead_time_hours: float = Field(
        24.0, gt=0, description="first reminder this long (hours) before the due date"
    )
    reminder_escalate_after: int = Field(
        3, ge=1, description="ignored overdue reminders before the IC is told"
    )
    reminder_claim_ttl: float = Field(
        120.0,
        gt=0,
        le=3600,
        description="seconds a worker holds a reminder it is sending; a worker killed "
        "mid-send delays that reminder by at most this (must exceed the longest send with "
        "Slack's 429 retries)",
    )
    undated_reminder: str = Field(
        "7d",
        pattern=r"^\d{1,4}[hdw]$",
        description="how often an item without a due date is nudged (`12h`, `7d`, `2w`), "
        "until done or dated",
    )
    reminder_work_start: str = Field(
        "09:00", pattern=HHMM, description="reminders only from this time of the owner's day"
    )
    reminder_work_end: str = Field(
        "18:00",
        pattern=HHMM,
        description="reminders stop at this time of the owner's day (their Slack time zone)",
    )
    reminder_work_days: WorkDays = Field(
        MON_FRI,
        description="the team's working week: ranges and lists such as `sun-thu` or "
        "`mon,tue,wed,thu,sat`; reminders and undated nudges wait for a working day, and "
        "`POSTMORTEM_DUE` counts these as business days",
    )
    digest_day: str = Field(
        "mon",
        pattern=r"^(mon|tue|wed|thu|fri|sat|sun)$",
        description="day of the weekly digest of open and overdue items",
    )
    digest_time: str = Field("09:00", pattern=HHMM, description="its time (UTC)")
