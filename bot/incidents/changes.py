"""What a change to an incident is, as its guards and follow-up steps see it: the kinds of
change, the request a guard checks, the outcome a step reads and adds to, and the record of
who registered each step (bot/incidents/flows.py runs them)."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

from bot.incidents.models import Incident, Role
from bot.timeline.models import TimelineEvent


class Change(StrEnum):
    DECLARED = "declared"
    ROLE = "role"
    SEVERITY = "severity"
    STATUS = "status"  # investigating, identified, monitoring (resolved is RESOLVED)
    LABELS = "labels"  # services or tags
    NOTE = "note"
    RESOLVED = "resolved"
    CLOSED = "closed"
    # the lifecycle beyond resolve (bot/incidents/lifecycle.py)
    REOPENED = "reopened"  # a resolved incident back to investigating
    DECLINED = "declined"  # closed as a false alarm
    MERGED = "merged"  # closed as a duplicate; data["merge"] is the lifecycle.Merge
    PRIVATE = "private"  # moved to a private channel; data["conversion"]
    TIMES = "times"  # key times corrected; data["corrections"]


Blocks = list[dict[str, object]]


@dataclass(frozen=True)
class ChannelPost:
    """Something a step has to say in the incident's channel once its header is there. A
    declare's steps that only read (similar incidents, the metrics) run beside its first
    Slack calls and leave these; its "channel posts" step then sends them as one message,
    lowest `order` first, so the channel reads in order one round trip after the header."""

    order: int  # similar incidents 10, the metrics snapshot 20, the impact-start offer 30
    text: str  # what a notification shows
    blocks: Blocks
    warning: str | None = None  # told to the user when the message could not be posted
    undo: Callable[[], Awaitable[None]] | None = None  # run when it could not be posted


@dataclass
class Outcome:
    """What a change did; follow-up steps read it and may add warnings and data."""

    change: Change
    incident: Incident  # after the change (a step may replace it with a newer copy)
    actor: str
    before: Incident | None = None  # None for a declare
    events: list[TimelineEvent] = field(default_factory=list)  # recorded with the change
    summary: str | None = None  # resolve; the reason of a reopen or decline
    role: Role | None = None  # role
    assignee: str | None = None  # role
    field_name: str | None = None  # labels: "services" or "tags"
    warnings: list[str] = field(default_factory=list)
    data: dict[str, object] = field(default_factory=dict)  # left by steps for later steps
    posts: list[ChannelPost] = field(default_factory=list)  # for declare's "channel posts"

    def post_after_header(self, post: ChannelPost) -> None:
        self.posts.append(post)

    def warn(self, text: str) -> None:
        """Tell the user something did not happen (lower case, after "I": "could not …")."""
        if text not in self.warnings:
            self.warnings.append(text)


Step = Callable[[Outcome], Awaitable[None]]


@dataclass(frozen=True)
class FollowUp:
    name: str
    run: Step
    warning: str | None = None  # told to the user when the step fails; None: logged only
    concurrent: bool = False  # runs together with the concurrent steps beside it


@dataclass(frozen=True)
class ChangeRequest:
    """A change about to be made, as guards see it."""

    change: Change
    incident: Incident
    actor: str
    confirmed: frozenset[str] = frozenset()  # guards the user already said "anyway" to
    arguments: dict[str, str] = field(default_factory=dict)  # e.g. {"summary": …}


GuardCheck = Callable[[ChangeRequest], Awaitable[None]]


@dataclass(frozen=True)
class Guard:
    name: str
    check: GuardCheck


@dataclass(frozen=True)
class Registration:
    """One step or guard as it was registered: which module's function, registered by which
    module (tests hold every feature to its own package, tests/test_features.py)."""

    change: Change
    name: str
    kind: str  # "step" or "guard"
    function: str  # the module the step's function is defined in
    registered_by: str  # the module that called `after` or `guard`


def module_of(function: object) -> str:
    return str(getattr(function, "__module__", "?"))


def caller_module() -> str:
    """The module that called IncidentFlows.after/guard (two frames above this one)."""
    return str(sys._getframe(2).f_globals.get("__name__", "?"))
