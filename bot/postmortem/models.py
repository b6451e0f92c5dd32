"""The postmortem record. Facts (times, timeline, roles, durations) come from the incident
record only; the narrative sections (`DraftSections`) may be written by the model."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from bot.causes.models import Evidence

POSTMORTEM_SCHEMA_VERSION = 1

ActionType = Literal["prevent", "detect", "mitigate", "process"]
ACTION_GROUPS: dict[str, str] = {
    "prevent": "Prevention",
    "detect": "Detection",
    "mitigate": "Response",
    "process": "Process",
}
GROUP_ORDER = ("prevent", "detect", "mitigate", "process")


class RootCause(BaseModel):
    cause: str
    category: str = Field(description="e.g. deployment, code, capacity, configuration, process")
    kind: Literal["technical", "organizational"]
    confidence: float = Field(ge=0.0, le=1.0)
    evidence: list[Evidence] = Field(default_factory=list)


class WhyStep(BaseModel):
    question: str
    answer: str


class ContributingFactor(BaseModel):
    factor: str
    category: Literal["process", "technology", "people", "external"]
    preventable: bool


class ProposedAction(BaseModel):
    id: str = Field(description="PA-1, PA-2, …")
    type: ActionType
    description: str
    priority: Literal["P0", "P1", "P2", "P3"] = "P2"
    owner_suggestion: str | None = Field(default=None, description="a Slack user id or a team")
    due_suggestion: date | None = None
    accepted_item_id: str | None = None

    @property
    def group(self) -> str:
        return ACTION_GROUPS[self.type]


class DecisionRecord(BaseModel):
    date: datetime
    context: str
    decision: str
    rationale: str
    consequences: str
    status: Literal["proposed", "accepted", "superseded"] = "proposed"

    def line(self) -> str:
        def clean(s: str) -> str:
            return " ".join(s.replace("|", "/").split())

        stamp = self.date.strftime("%Y-%m-%dT%H:%M:%SZ")
        return (
            f"date:{stamp}|context:{clean(self.context)}|decision:{clean(self.decision)}|"
            f"rationale:{clean(self.rationale)}|consequences:{clean(self.consequences)}|"
            f"status:{self.status}"
        )


class TimelineRow(BaseModel):
    time: datetime
    event: str
    significance: str


class Durations(BaseModel):
    """Seconds from the declaration, from the recorded times; None when not recorded."""

    ttd_seconds: int | None = None
    ttm_seconds: int | None = None
    ttr_seconds: int | None = None


class DraftSections(BaseModel):
    """What the drafter writes. The model fills exactly this, as the tool's input."""

    summary: str = Field(min_length=1)
    impact: list[str] = Field(min_length=1)
    root_causes: list[RootCause] = Field(min_length=1)
    five_whys: list[WhyStep] = Field(min_length=1, max_length=7)
    contributing_factors: list[ContributingFactor] = Field(default_factory=list)
    went_well: list[str] = Field(default_factory=list)
    went_poorly: list[str] = Field(default_factory=list)
    got_lucky: list[str] = Field(default_factory=list)
    action_items: list[ProposedAction] = Field(default_factory=list)
    decision_records: list[DecisionRecord] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    data_gaps: list[str] = Field(default_factory=list)


class UnverifiedClaim(BaseModel):
    """A model's claim the record did not support: shown apart, never as fact."""

    section: str
    text: str
    reason: str


class ClaimTally(BaseModel):
    kept: int = 0
    flagged: int = 0
    dropped: int = 0


class TokenUsage(BaseModel):
    """Tokens one draft used (the Messages API's `usage`)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0


class RecordedAction(BaseModel):
    """An action item recorded for the incident (not a proposal), with its tracker issue."""

    id: str
    text: str
    owner: str
    status: str
    due: datetime | None = None
    tracker_key: str | None = None
    tracker_url: str | None = None


class Postmortem(DraftSections):
    schema_version: int = POSTMORTEM_SCHEMA_VERSION
    version: int = 0  # set when stored (1, 2, …)
    incident_id: str
    title: str
    severity: str
    status: str
    services: list[str] = Field(default_factory=list)
    declared_at: datetime
    resolved_at: datetime | None = None
    roles: dict[str, str] = Field(default_factory=dict)  # role display name -> user id
    timeline: list[TimelineRow] = Field(default_factory=list)
    durations: Durations = Field(default_factory=Durations)
    generated_at: datetime
    ai_written: bool = False
    ai_model: str | None = None
    not_ai_reason: str | None = None  # why the deterministic draft was used
    pattern: list[str] = Field(default_factory=list)  # recurrence, from the patterns service
    lifecycle: list[str] = Field(default_factory=list)  # reopenings, corrected times, merges
    ai_pending: bool = False  # posted from the record while the model drafts
    unverified: list[UnverifiedClaim] = Field(default_factory=list)
    claims: ClaimTally | None = None  # how the model's claims fared against the record
    ai_usage: TokenUsage | None = None
    recorded_actions: list[RecordedAction] = Field(default_factory=list)

    @property
    def overall_confidence(self) -> float:
        return max((rc.confidence for rc in self.root_causes), default=0.0)

    def sections(self) -> DraftSections:
        fields = set(DraftSections.model_fields)
        return DraftSections.model_validate(self.model_dump(include=fields))
