"""The write_postmortem tool's input: claims in prose, each with the ids of the facts it
rests on (grounding.py gives the model those facts; validation.py checks every claim)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from bot.postmortem.models import ActionType

_CLAIM_TEXT = (
    "Prose. Refer to times, people, durations and readings ONLY by placeholder: {time:E3}, "
    "{person:E3} or {person:ic}, {duration:ttr}, {value:M2}. Never write a clock time, a "
    "name, a duration or a measured number yourself."
)
_EVIDENCE = (
    "Ids of the facts this rests on: events E…, metric readings M…, runbook sections R… "
    "(or an event's permalink), exactly as given."
)


class Claim(BaseModel):
    text: str = Field(min_length=1, description=_CLAIM_TEXT)
    evidence: list[str] = Field(default_factory=list, description=_EVIDENCE)


class CauseClaim(Claim):
    category: str = Field(description="deployment, code, capacity, configuration, database, …")
    kind: Literal["technical", "organizational"]


class WhyClaim(BaseModel):
    question: str = Field(min_length=1)
    answer: str = Field(min_length=1, description=_CLAIM_TEXT)
    evidence: list[str] = Field(default_factory=list, description=_EVIDENCE)


class FactorClaim(Claim):
    category: Literal["process", "technology", "people", "external"]
    preventable: bool


class ActionClaim(Claim):
    type: ActionType
    priority: Literal["P0", "P1", "P2", "P3"] = "P2"
    owner: str | None = Field(
        default=None, description="a user id from `people`, or null to let the IC pick"
    )


class DecisionClaim(Claim):
    event: str = Field(description="the id of the event (E…) where the decision was recorded")
    rationale: str = Field(min_length=1, description=_CLAIM_TEXT)


class GroundedDraft(BaseModel):
    """The write_postmortem tool's input. No confidence: the bot computes it from the
    evidence that validates."""

    summary: list[Claim] = Field(min_length=1, description="the summary, one claim a sentence")
    impact: list[Claim] = Field(default_factory=list)
    root_causes: list[CauseClaim] = Field(min_length=1)
    five_whys: list[WhyClaim] = Field(default_factory=list, max_length=7)
    contributing_factors: list[FactorClaim] = Field(default_factory=list)
    went_well: list[Claim] = Field(default_factory=list)
    went_poorly: list[Claim] = Field(default_factory=list)
    got_lucky: list[Claim] = Field(default_factory=list)
    action_items: list[ActionClaim] = Field(default_factory=list)
    decision_records: list[DecisionClaim] = Field(default_factory=list)
    data_gaps: list[str] = Field(default_factory=list)
