"""What a cause rests on: a line of the record, the timeline, a metric reading, a runbook
section, or what fixed it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class Evidence(BaseModel):
    kind: Literal["timeline", "metric", "runbook", "record", "resolution"]
    text: str
    at: datetime | None = None
    citation: str | None = Field(
        default=None, description="for kind=runbook: the runbook heading path, as given"
    )
