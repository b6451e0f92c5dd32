"""What insights answer (the page and `/api/v1/insights` show the same record).

Durations are in seconds. A week starts on Monday 00:00 UTC; the window is the current
week and the weeks before it. Medians and p90s interpolate linearly between the nearest
ranks (the "inclusive" method: the median of 1, 2, 3, 4 is 2.5; the p90 of 1…10 is 9.1).
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class Summary(BaseModel):
    count: int = 0  # incidents whose duration is known
    median_seconds: float | None = None
    p90_seconds: float | None = None


class DurationRow(BaseModel):
    group: str  # "all", "SEV2", or a service
    total: Summary  # over the whole window
    weeks: list[Summary]  # one per week, oldest first


class DurationMetric(BaseModel):
    name: str  # detect | acknowledge | resolve
    label: str  # "Time to detect"
    measured: str  # what is measured, in words
    overall: DurationRow
    by_severity: list[DurationRow]
    by_service: list[DurationRow]


class Week(BaseModel):
    start: date  # a Monday (UTC)
    label: str  # "Nov 30"


class SeverityWeeks(BaseModel):
    severity: str  # SEV1 …
    weeks: list[int]  # incidents declared each week, oldest first
    total: int


class ResponderLoad(BaseModel):
    user: str
    name: str  # their Slack name (the id when unknown)
    tz: str
    incidents: int  # incidents in which they held a role
    after_hours: int  # of those, how many they first acted on outside their working hours


class ActionItemTally(BaseModel):
    total: int = 0
    open: int = 0
    overdue: int = 0  # open and past their due date
    done: int = 0
    done_on_time: int = 0  # done by their due date
    done_late: int = 0
    done_undated: int = 0  # done, with no due date to be late for


class PostmortemTally(BaseModel):
    due_business_days: int  # POSTMORTEM_DUE
    expected: int = 0  # resolved SEV1/SEV2 incidents (the ones a postmortem is due for)
    on_time: int = 0  # first draft within POSTMORTEM_DUE business days (in the IC's zone)
    late: int = 0
    missing: int = 0  # none yet, and past due
    not_yet_due: int = 0


class CauseCount(BaseModel):
    category: str
    label: str
    count: int
    incidents: list[str]  # ids, newest first (only those the reader may read)


class Insights(BaseModel):
    generated_at: datetime
    window_start: datetime
    weeks: list[Week]
    incidents: int  # counted in the window (false alarms and merged duplicates left out)
    private_aggregated: int  # private incidents counted by severity and times only
    per_week: list[SeverityWeeks]
    durations: list[DurationMetric]
    working_hours: str
    responders: list[ResponderLoad]
    action_items: ActionItemTally
    postmortems: PostmortemTally
    causes: list[CauseCount] = Field(default_factory=list)
