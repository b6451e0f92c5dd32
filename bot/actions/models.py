"""The action item record (versioned JSON) and the reminder settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr

from bot.workweek import MON_FRI, WorkingHours

ACTION_ITEM_SCHEMA_VERSION = 1


class Priority(StrEnum):
    P0 = "P0"
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"


class ItemType(StrEnum):
    PREVENT = "prevent"
    DETECT = "detect"
    MITIGATE = "mitigate"
    PROCESS = "process"


class ItemStatus(StrEnum):
    OPEN = "open"
    DONE = "done"


class ReminderKind(StrEnum):
    BEFORE_DUE = "before_due"
    OVERDUE = "overdue"
    ESCALATION = "escalation"
    UNDATED = "undated"  # no due date: a periodic nudge to set one (or finish)


class SentReminder(BaseModel):
    """One reminder that went out, kept on the item (the item is the record of what was sent)."""

    slot: str
    kind: ReminderKind
    at: datetime
    to: str


class TrackerLink(BaseModel):
    """The tracker issue (Jira, GitHub, Linear) that follows an action item."""

    tracker: str  # "jira" | "github" | "linear"
    key: str  # OPS-12, #34, ENG-5
    url: str
    done: bool = False
    id: str = ""  # the tracker's own id where it differs from the key (Linear's UUID)


class ActionItem(BaseModel):
    schema_version: int = ACTION_ITEM_SCHEMA_VERSION
    id: str
    incident_id: str
    text: str
    owner: str
    created_by: str
    created_at: datetime
    due: datetime | None = None
    priority: Priority = Priority.P2
    type: ItemType | None = None
    ticket: str | None = None
    tracked: TrackerLink | None = None
    status: ItemStatus = ItemStatus.OPEN
    done_at: datetime | None = None
    done_by: str | None = None
    snoozed_until: datetime | None = None
    # reminders: `generation` changes on snooze / reassign / done so slots never collide
    generation: int = 0
    next_reminder_at: datetime | None = None
    reminders_sent: list[SentReminder] = Field(default_factory=list)
    last_reminded_at: datetime | None = None
    overdue_reminders_count: int = 0
    escalated_at: datetime | None = None
    # what a follower (the issue tracker) could not do in this request; never stored
    _notes: list[str] = PrivateAttr(default_factory=list)

    @property
    def notes(self) -> list[str]:
        return self._notes

    def finish(self, at: datetime, by: str | None) -> bool:
        """Mark done and end the reminder cycle; False when it already was done."""
        if self.status is ItemStatus.DONE:
            return False
        self.status = ItemStatus.DONE
        self.done_at = at
        self.done_by = by
        self.generation += 1
        self.next_reminder_at = None
        return True

    def reopen(self) -> bool:
        """Open again (its tracker issue was reopened): a new reminder cycle; False when it
        was open. The caller schedules the next reminder (bot/actions/schedule.py)."""
        if self.status is ItemStatus.OPEN:
            return False
        self.status = ItemStatus.OPEN
        self.done_at = None
        self.done_by = None
        self.generation += 1
        self.overdue_reminders_count = 0
        self.escalated_at = None
        return True

    @property
    def is_open(self) -> bool:
        return self.status is ItemStatus.OPEN

    def is_overdue(self, now: datetime) -> bool:
        return self.is_open and self.due is not None and self.due <= now

    def sent_in_generation(self, kind: ReminderKind) -> list[SentReminder]:
        prefix = f"g{self.generation}:"
        return [r for r in self.reminders_sent if r.kind is kind and r.slot.startswith(prefix)]


def _parse_every(value: Any, default: timedelta) -> timedelta:
    """`12h`, `7d`, `2w` (UNDATED_REMINDER)."""
    if value is None:
        return default
    if isinstance(value, timedelta):
        return value
    text = str(value).strip().lower()
    unit = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}.get(text[-1:])
    if unit is None or not text[:-1].isdigit() or int(text[:-1]) == 0:
        raise ValueError(f"setting UNDATED_REMINDER is invalid: {value!r}; use e.g. 12h, 7d, 2w")
    return int(text[:-1]) * unit


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _parse_clock(value: Any, default: time) -> time:
    if value is None:
        return default
    if isinstance(value, time):
        return value
    return time.fromisoformat(str(value))


@dataclass(frozen=True)
class ActionSettings:
    """Reminder behaviour. `from_settings` reads the app settings (names in the report)."""

    lead_time: timedelta = timedelta(hours=24)
    overdue_every: timedelta = timedelta(days=1)
    escalate_after: int = 3
    undated_every: timedelta = timedelta(days=7)
    work_start: time = time(9, 0)
    work_end: time = time(18, 0)
    working_days: frozenset[int] = MON_FRI
    default_snooze: timedelta = timedelta(days=1)
    claim_ttl: timedelta = timedelta(seconds=120)
    scan_limit: int = 200
    digest_day: str = "mon"
    digest_time: time = time(9, 0)
    digest_channel: str = "incidents"

    @property
    def working_hours(self) -> WorkingHours:
        return WorkingHours(days=self.working_days, start=self.work_start, end=self.work_end)

    @classmethod
    def from_settings(cls, settings: Any) -> ActionSettings:
        g = getattr
        day = str(g(settings, "digest_day", "mon") or "mon").lower()[:3]
        if day not in WEEKDAYS:
            raise ValueError(f"setting DIGEST_DAY is invalid: {day!r}; use mon..sun")
        return cls(
            lead_time=timedelta(hours=float(g(settings, "reminder_lead_time_hours", 24.0))),
            escalate_after=int(g(settings, "reminder_escalate_after", 3)),
            claim_ttl=timedelta(seconds=float(g(settings, "reminder_claim_ttl", 120.0))),
            undated_every=_parse_every(g(settings, "undated_reminder", None), timedelta(days=7)),
            work_start=_parse_clock(g(settings, "reminder_work_start", None), time(9, 0)),
            work_end=_parse_clock(g(settings, "reminder_work_end", None), time(18, 0)),
            working_days=frozenset(g(settings, "reminder_work_days", MON_FRI)),
            digest_day=day,
            digest_time=_parse_clock(g(settings, "digest_time", None), time(9, 0)),
            digest_channel=str(g(settings, "incidents_channel", "incidents")),
        )
