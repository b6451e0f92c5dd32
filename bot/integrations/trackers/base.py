"""The IssueTracker port: what the bot needs from Jira, GitHub or Linear."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from pydantic import BaseModel

from bot.actions.models import TrackerLink


class IssueDraft(BaseModel):
    """A new tracker issue for an action item."""

    title: str
    body: str
    labels: list[str]
    priority: str  # P0..P3, mapped by each adapter to its own scale
    due: date | None = None
    owner_email: str | None = None
    owner_login: str | None = None  # the owner's GitHub login, where one is known


TrackedIssue = TrackerLink  # a tracker issue, as stored on the action item


class IssueTracker(Protocol):
    name: str

    async def create(self, draft: IssueDraft) -> TrackedIssue: ...

    async def find(self, ref: str) -> TrackedIssue:
        """Resolve a key or URL given by a person to the issue (raises IntegrationError when
        the tracker has no such issue)."""

    async def refresh(self, issue: TrackedIssue) -> TrackedIssue:
        """The issue with its current done state."""

    async def comment(self, issue: TrackedIssue, text: str) -> None: ...

    async def close(self, issue: TrackedIssue) -> bool:
        """Close the issue where the tracker allows it; False when it could not be closed."""

    async def aclose(self) -> None: ...
