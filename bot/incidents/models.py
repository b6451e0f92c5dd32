"""The incident record. Stored as versioned JSON; see bot/store/codec.py for upgrades."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import IntEnum, StrEnum
from typing import Literal

from pydantic import BaseModel, Field

INCIDENT_SCHEMA_VERSION = 3  # 2: status updates; 3: private, reopenings, declined, merged


class Severity(IntEnum):
    SEV1 = 1
    SEV2 = 2
    SEV3 = 3
    SEV4 = 4

    @property
    def label(self) -> str:
        return f"SEV{self.value}"

    @property
    def meaning(self) -> str:
        return {
            1: "critical customer impact",
            2: "major degradation",
            3: "minor impact",
            4: "no customer impact",
        }[self.value]


class Status(StrEnum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    CLOSED = "closed"


ACTIVE_STATUSES = (Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING)


class Role(StrEnum):
    IC = "ic"
    OPS = "ops"
    COMMS = "comms"

    @property
    def display_name(self) -> str:
        return {"ic": "Incident Commander", "ops": "Ops Lead", "comms": "Comms Lead"}[self.value]

    @property
    def duties(self) -> str:
        return {
            "ic": "You run the response: set priorities, make the calls, keep the roles "
            "filled and decide when it is resolved.",
            "ops": "You drive the technical investigation and the fix: dig into metrics, "
            "logs and deploys, and report findings to the IC.",
            "comms": "You keep everyone outside the war room informed: status page, "
            "stakeholders and customer-facing updates, on a regular cadence.",
        }[self.value]


class Reopening(BaseModel):
    """A resolved incident put back to investigating; `resolved_at` is the resolution it
    undid, so the time between that and `at` is not counted as time to resolve."""

    at: datetime
    by: str
    reason: str = ""
    resolved_at: datetime


class ExternalLink(BaseModel):
    """Something the bot made for the incident elsewhere: its call (Zoom, Google Meet, the
    fixed bridge) or its published postmortem (Confluence, Notion, Google Docs). The web
    page and the record show them; a new postmortem version updates the same document."""

    kind: Literal["call", "postmortem"]
    provider: str  # zoom | meet | bridge | confluence | notion | gdocs
    url: str
    ref: str = ""  # the provider's id: meeting, page or file
    version: int = 0  # the provider's own version of it (a Confluence page's number)
    source_version: int = 0  # the postmortem version it holds
    place: str = ""  # where it was put when a person named the place (a private incident)
    at: datetime | None = None


class Incident(BaseModel):
    schema_version: int = INCIDENT_SCHEMA_VERSION
    id: str
    title: str
    description: str = ""
    severity: Severity = Severity.SEV3
    status: Status = Status.INVESTIGATING
    services: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    channel_id: str
    channel_name: str
    header_ts: str | None = None
    roles: dict[Role, str] = Field(default_factory=dict)
    declared_by: str
    declared_at: datetime
    impact_started_at: datetime | None = None  # when customers were first hit, if known
    detected_at: datetime | None = None
    identified_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    resolution_summary: str | None = None
    root_cause_category: str | None = None
    # status updates (schema version 2; bot/updates/)
    announcement_channel_id: str | None = None  # the declaration in INCIDENTS_CHANNEL
    announcement_ts: str | None = None
    update_cadence_minutes: int | None = None  # overrides the severity's cadence; 0 = off
    last_update_at: datetime | None = None
    next_update_due: datetime | None = None  # promised by the last update or cadence change
    # lifecycle (schema version 3; bot/incidents/lifecycle.py)
    private: bool = False
    reopenings: list[Reopening] = Field(default_factory=list)
    declined_at: datetime | None = None
    decline_reason: str | None = None
    merged_into: str | None = None
    merged_from: list[str] = Field(default_factory=list)
    # links made elsewhere (bot/conferencing, bot/publishing); absent in older records
    links: list[ExternalLink] = Field(default_factory=list)

    def link(self, kind: str, provider: str | None = None) -> ExternalLink | None:
        """The latest link of that kind (and provider)."""
        found = [x for x in self.links if x.kind == kind and provider in (None, x.provider)]
        return found[-1] if found else None

    def set_link(self, link: ExternalLink) -> None:
        """Keep one link per kind and provider: a new one replaces the old."""
        self.links = [
            x for x in self.links if (x.kind, x.provider) != (link.kind, link.provider)
        ] + [link]

    @property
    def call_url(self) -> str | None:
        call = self.link("call")
        return call.url if call else None

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def is_declined(self) -> bool:
        return self.declined_at is not None

    @property
    def counts_in_stats(self) -> bool:
        """False for false alarms and duplicates: patterns, durations and reminders skip
        them, so a merged pair counts once."""
        return self.declined_at is None and self.merged_into is None

    @property
    def public_label(self) -> str:
        """All that places outside a private incident's channel may say about it."""
        return f"Private incident {self.id} ({self.severity.label})"

    @property
    def time_to_detect(self) -> timedelta | None:
        return None if self.detected_at is None else self.detected_at - self.started_at

    @property
    def started_at(self) -> datetime:
        return self.impact_started_at or self.declared_at

    @property
    def time_to_mitigate(self) -> timedelta | None:
        return None if self.mitigated_at is None else self.mitigated_at - self.started_at

    @property
    def time_to_resolve(self) -> timedelta | None:
        """From impact to the last resolution, less the time it spent resolved before a
        reopening: both periods of a relapse count, the quiet gap between them does not."""
        if self.resolved_at is None:
            return None
        quiet = sum(
            (max(r.at - r.resolved_at, timedelta(0)) for r in self.reopenings), timedelta(0)
        )
        return self.resolved_at - self.started_at - quiet


def format_duration(delta: timedelta | None) -> str:
    """`45m 23s`, `2h 5m`, `—` when unknown."""
    if delta is None:
        return "—"
    total = int(delta.total_seconds())
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {seconds}s"
    return f"{seconds}s"
