"""The status page's records, in Atlassian Statuspage's vocabulary: component statuses,
public incidents and their updates, scheduled maintenance, subscribers and the notices
they are sent. A public incident is what a person published about an incident, never the
incident record itself: it holds only the words they said yes to."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field


class ComponentStatus(StrEnum):
    OPERATIONAL = "operational"
    DEGRADED = "degraded_performance"
    PARTIAL = "partial_outage"
    MAJOR = "major_outage"
    MAINTENANCE = "under_maintenance"

    @property
    def label(self) -> str:
        return {
            "operational": "Operational",
            "degraded_performance": "Degraded performance",
            "partial_outage": "Partial outage",
            "major_outage": "Major outage",
            "under_maintenance": "Under maintenance",
        }[self.value]

    @property
    def short(self) -> str:
        """How a title says it: "Checkout degraded"."""
        return {
            "operational": "operational",
            "degraded_performance": "degraded",
            "partial_outage": "partially unavailable",
            "major_outage": "unavailable",
            "under_maintenance": "under maintenance",
        }[self.value]

    @property
    def rank(self) -> int:
        """Worse is higher (maintenance is planned, so below any outage)."""
        return {
            "operational": 0, "under_maintenance": 1, "degraded_performance": 2,
            "partial_outage": 3, "major_outage": 4,
        }[self.value]


class PublicStatus(StrEnum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class MaintenanceStatus(StrEnum):
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    VERIFYING = "verifying"
    COMPLETED = "completed"


class Impact(StrEnum):
    NONE = "none"
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"
    MAINTENANCE = "maintenance"


def impact_of(statuses: list[ComponentStatus]) -> Impact:
    """An incident's impact from its components' worst status (Statuspage's calculation:
    a major outage is critical, a partial outage major, degraded performance minor)."""
    worst = max((s.rank for s in statuses), default=0)
    if worst >= ComponentStatus.MAJOR.rank:
        return Impact.CRITICAL
    if worst >= ComponentStatus.PARTIAL.rank:
        return Impact.MAJOR
    if worst >= ComponentStatus.DEGRADED.rank:
        return Impact.MINOR
    return Impact.NONE


class PublicUpdate(BaseModel):
    id: str
    status: str  # a PublicStatus for incidents, a MaintenanceStatus for maintenance
    body: str
    at: datetime
    # the affected components' statuses set by this update (component name -> status)
    components: dict[str, ComponentStatus] = Field(default_factory=dict)
    by: str = ""  # who said yes (a Slack user id; never shown on the public page)


class PublicIncident(BaseModel):
    id: str  # the public id (12 characters, like Statuspage's)
    incident_id: str  # the incident it was published from (internal only)
    name: str
    status: PublicStatus
    components: dict[str, ComponentStatus] = Field(default_factory=dict)  # now, by name
    created_at: datetime
    updated_at: datetime
    started_at: datetime  # impact start, else the first publish
    monitoring_at: datetime | None = None
    resolved_at: datetime | None = None
    updates: list[PublicUpdate] = Field(default_factory=list)
    internal: bool = False  # every component it touches is internal: /status/internal only

    @property
    def impact(self) -> Impact:
        """The worst it got (as Statuspage keeps it): a resolved outage stays critical,
        though its components are operational again."""
        held = [s for u in self.updates for s in u.components.values()]
        return impact_of([*self.components.values(), *held])

    @property
    def is_open(self) -> bool:
        return self.status is not PublicStatus.RESOLVED


class Maintenance(BaseModel):
    id: str
    name: str
    status: MaintenanceStatus = MaintenanceStatus.SCHEDULED
    components: list[str]
    scheduled_for: datetime
    scheduled_until: datetime
    created_at: datetime
    updated_at: datetime
    created_by: str = ""
    updates: list[PublicUpdate] = Field(default_factory=list)
    internal: bool = False

    @property
    def is_open(self) -> bool:
        return self.status is not MaintenanceStatus.COMPLETED


SubscriberKind = Literal["webhook", "email"]


class Subscriber(BaseModel):
    id: str
    kind: SubscriberKind
    target: str  # the URL, or the email address
    components: list[str] = Field(default_factory=list)  # empty: every public component
    secret: str = ""  # webhooks: the HMAC key (shown once, when subscribing)
    token: str  # in confirm and unsubscribe links
    confirmed: bool = False  # email: after the link in the first mail (double opt-in)
    created_at: datetime

    def wants(self, components: list[str]) -> bool:
        if not self.components:
            return True
        return bool({c.lower() for c in self.components} & {c.lower() for c in components})


NoticeKind = Literal["incident", "maintenance", "confirm"]


class Notice(BaseModel):
    """One thing subscribers are told: a public incident's or maintenance's update (or, to
    one new email subscriber, the link that confirms the subscription)."""

    id: str  # `<subject id>:<update id>`: the same update is noticed once
    kind: NoticeKind
    subject_id: str
    update_id: str
    components: list[str]
    at: datetime
    subject: str = ""  # the mail's subject line
    text: str = ""  # the mail's text (without the unsubscribe line, added per subscriber)
    payload: dict[str, object] = Field(default_factory=dict)  # the webhook's JSON
