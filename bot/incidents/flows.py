"""One flow per change to an incident. Every entry point — slash command, status change,
header button, modal, Alertmanager webhook, CLI, demo — calls these and nothing else, so a
change can never reach its follow-up steps by one route and miss them by another.

A flow (1) runs the change's guards, (2) makes the domain change through IncidentService
(record and timeline event in one transaction), then (3) runs the change's follow-up steps
in order. Each step is isolated: a failure is logged with the step's name and, when the step
says so, becomes a warning for the user ("could not set the channel topic"); it never undoes
the change or stops the other steps. The flow returns an `Outcome`: the incident after the
change and those warnings.

Extension points (each feature registers its own from its package's `install`, see
bot/features.py; never in a flow's body):

* a follow-up step for a change::

      async def verify_metrics(outcome: Outcome) -> None: ...
      flows.after(Change.RESOLVED, "verify metrics", verify_metrics,
                  warning="could not verify the metrics")

  Steps run in registration order; `before="announcement"` puts one ahead of a named step.
  `concurrent=True` steps next to each other run together (declare's Slack calls do). A step
  may add its own words with `outcome.warn(...)` and leave data for later steps in
  `outcome.data`.

* a guard that runs before a change and may stop it until the user confirms::

      async def metrics_still_bad(request: ChangeRequest) -> None:
          if ...:
              raise ConfirmationNeeded("Error rate is still 4.1/s.", confirm_label="Resolve anyway")
      flows.guard(Change.RESOLVED, "metrics still bad", metrics_still_bad)

  Guards run after the permission checks, before anything changes. The user sees the
  message with a button labelled `confirm_label`; pressing it replays the same change with
  that guard in `request.confirmed`, so it is skipped (commands/confirm.py).

`flows.steps(change)` names the steps registered for a change, in order.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

import structlog

from bot.errors import ConfirmationNeeded, UsageError
from bot.incidents.lifecycle import LifecycleService
from bot.incidents.models import ACTIVE_STATUSES, Incident, Role, Severity, Status
from bot.incidents.service import IncidentService
from bot.timeline.models import TimelineEvent

log = structlog.get_logger(__name__)


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


def _module(function: object) -> str:
    return str(getattr(function, "__module__", "?"))


def _caller() -> str:
    """The module that called `after`/`guard` (two frames up)."""
    return str(sys._getframe(2).f_globals.get("__name__", "?"))


class IncidentFlows:
    def __init__(
        self, *, incidents: IncidentService, lifecycle: LifecycleService | None = None
    ) -> None:
        self.incidents = incidents
        self.lifecycle = lifecycle or LifecycleService(incidents=incidents)
        self._steps: dict[Change, list[FollowUp]] = {change: [] for change in Change}
        self._guards: dict[Change, list[Guard]] = {change: [] for change in Change}
        self.registrations: list[Registration] = []  # in the order they were made

    # --- extension points ------------------------------------------------------------

    def after(
        self,
        change: Change,
        name: str,
        run: Step,
        *,
        warning: str | None = None,
        concurrent: bool = False,
        before: str | None = None,
    ) -> None:
        """Run `run` after every `change` (see the module docstring)."""
        steps = self._steps[change]
        if any(s.name == name for s in steps):
            raise ValueError(f"{change.value} already has a step named {name!r}")
        step = FollowUp(name=name, run=run, warning=warning, concurrent=concurrent)
        index = len(steps)
        if before is not None:
            found = next((i for i, s in enumerate(steps) if s.name == before), None)
            if found is None:
                raise ValueError(f"{change.value} has no step named {before!r}")
            index = found
        steps.insert(index, step)
        self.registrations.append(Registration(change, name, "step", _module(run), _caller()))

    def guard(self, change: Change, name: str, check: GuardCheck) -> None:
        """Check every `change` before it is made; `check` raises ConfirmationNeeded to stop
        it until the user confirms (or any IncidentBotError to refuse it)."""
        if any(g.name == name for g in self._guards[change]):
            raise ValueError(f"{change.value} already has a guard named {name!r}")
        self._guards[change].append(Guard(name=name, check=check))
        self.registrations.append(Registration(change, name, "guard", _module(check), _caller()))

    def steps(self, change: Change) -> list[str]:
        return [s.name for s in self._steps[change]]

    # --- running ---------------------------------------------------------------------

    async def _check(self, request: ChangeRequest) -> None:
        for guard in self._guards[request.change]:
            if guard.name in request.confirmed:
                continue
            try:
                await guard.check(request)
            except ConfirmationNeeded as exc:
                exc.guard = guard.name
                exc.change = request.change.value
                exc.incident_id = request.incident.id
                exc.arguments = dict(request.arguments)
                exc.arguments["confirmed"] = ",".join(sorted({*request.confirmed, guard.name}))
                raise

    async def _follow_up(self, outcome: Outcome, alongside: Step | None = None) -> Outcome:
        steps = self._steps[outcome.change]
        if alongside is not None:  # this call's own step, with the first batch
            steps = [FollowUp("alongside", alongside, concurrent=True), *steps]
        i = 0
        with structlog.contextvars.bound_contextvars(
            incident_id=outcome.incident.id, change=outcome.change.value
        ):
            while i < len(steps):
                batch = [steps[i]]
                while steps[i].concurrent and i + 1 < len(steps) and steps[i + 1].concurrent:
                    i += 1
                    batch.append(steps[i])
                i += 1
                await asyncio.gather(*(self._run_step(step, outcome) for step in batch))
        return outcome

    async def _run_step(self, step: FollowUp, outcome: Outcome) -> None:
        try:
            await step.run(outcome)
        except Exception as exc:  # one step's failure never stops the others
            log.warning("follow_up_failed", step=step.name, error=repr(exc), exc_info=exc)
            if step.warning:
                outcome.warn(step.warning)

    async def _may_change(self, incident: Incident, actor: str) -> None:
        """The read rule first, for every change and whichever route asks: a private
        incident's outsiders are told its label and change nothing (bot/incidents/access.py)."""
        await self.incidents.access.require_change(incident, actor)

    # --- the changes -----------------------------------------------------------------

    async def declare(
        self,
        *,
        title: str,
        declared_by: str,
        severity: Severity = Severity.SEV3,
        services: list[str] | None = None,
        tags: list[str] | None = None,
        description: str = "",
        started_ago: timedelta | None = None,
        alongside: Step | None = None,
        private: bool = False,
    ) -> Outcome:
        """`alongside` runs with the first follow-ups, e.g. telling the declarer the channel
        exists while the topic, header and announcement are still on their way."""
        result = await self.incidents.declare(
            title=title,
            declared_by=declared_by,
            severity=severity,
            services=services,
            tags=tags,
            description=description,
            started_ago=started_ago,
            private=private,
        )
        return await self._follow_up(
            Outcome(change=Change.DECLARED, incident=result.incident, actor=declared_by),
            alongside,
        )

    async def assign_role(
        self, incident: Incident, role: Role, user_id: str, actor: str
    ) -> Outcome:
        await self._may_change(incident, actor)
        await self._check(ChangeRequest(Change.ROLE, incident, actor, arguments={"role": role}))
        updated, events = await self.incidents.assign_role(incident, role, user_id, actor)
        return await self._follow_up(
            Outcome(
                change=Change.ROLE,
                incident=updated,
                actor=actor,
                before=incident,
                events=events,
                role=role,
                assignee=user_id,
            )
        )

    async def set_severity(
        self,
        incident: Incident,
        severity: Severity,
        actor: str,
        *,
        confirmed: frozenset[str] = frozenset(),
    ) -> Outcome:
        await self._may_change(incident, actor)
        await self._check(
            ChangeRequest(
                Change.SEVERITY, incident, actor, confirmed, {"severity": str(severity.value)}
            )
        )
        updated, events = await self.incidents.set_severity(incident, severity, actor)
        return await self._follow_up(
            Outcome(Change.SEVERITY, updated, actor, before=incident, events=events)
        )

    async def set_status(
        self,
        incident: Incident,
        status: Status,
        actor: str,
        *,
        confirmed: frozenset[str] = frozenset(),
    ) -> Outcome:
        """Resolved is the resolve flow and closed the close flow, whichever route asks."""
        await self._may_change(incident, actor)
        if status is Status.RESOLVED:
            return await self.resolve(incident, actor, confirmed=confirmed)
        if status is Status.CLOSED:
            return await self.close(incident, actor, confirmed=confirmed)
        if incident.status is Status.RESOLVED and status in ACTIVE_STATUSES:
            # leaving resolved is a reopening, whichever route asks
            reopened = await self.reopen(incident, actor, confirmed=confirmed)
            if status is Status.INVESTIGATING:
                return reopened
            incident = reopened.incident
        await self.incidents.check_status(incident, status, actor)
        await self._check(
            ChangeRequest(Change.STATUS, incident, actor, confirmed, {"status": status.value})
        )
        updated, events = await self.incidents.set_status(incident, status, actor)
        return await self._follow_up(
            Outcome(Change.STATUS, updated, actor, before=incident, events=events)
        )

    async def set_labels(
        self, incident: Incident, *, field_name: str, values: list[str], actor: str
    ) -> Outcome:
        await self._may_change(incident, actor)
        await self._check(ChangeRequest(Change.LABELS, incident, actor))
        updated, events = await self.incidents.set_labels(
            incident, field_name=field_name, values=values, actor=actor
        )
        return await self._follow_up(
            Outcome(
                Change.LABELS, updated, actor, before=incident, events=events, field_name=field_name
            )
        )

    async def add_note(self, incident: Incident, text: str, actor: str) -> Outcome:
        await self._may_change(incident, actor)
        await self._check(ChangeRequest(Change.NOTE, incident, actor))
        event = await self.incidents.add_note(incident, text, actor)
        return await self._follow_up(
            Outcome(Change.NOTE, incident, actor, before=incident, events=[event])
        )

    async def resolve(
        self,
        incident: Incident,
        actor: str,
        summary: str | None = None,
        *,
        confirmed: frozenset[str] = frozenset(),
    ) -> Outcome:
        await self._may_change(incident, actor)
        await self.incidents.check_resolve(incident, actor)
        arguments = {"summary": summary} if summary else {}
        await self._check(ChangeRequest(Change.RESOLVED, incident, actor, confirmed, arguments))
        updated, events = await self.incidents.resolve(incident, actor, summary=summary)
        return await self._follow_up(
            Outcome(
                Change.RESOLVED, updated, actor, before=incident, events=events, summary=summary
            )
        )

    async def close(
        self, incident: Incident, actor: str, *, confirmed: frozenset[str] = frozenset()
    ) -> Outcome:
        await self._may_change(incident, actor)
        await self.incidents.check_close(incident, actor)
        await self._check(ChangeRequest(Change.CLOSED, incident, actor, confirmed))
        updated, events = await self.incidents.close(incident, actor)
        return await self._follow_up(
            Outcome(Change.CLOSED, updated, actor, before=incident, events=events)
        )

    # --- the lifecycle beyond resolve -------------------------------------------------

    async def reopen(
        self,
        incident: Incident,
        actor: str,
        reason: str = "",
        *,
        confirmed: frozenset[str] = frozenset(),
    ) -> Outcome:
        """A resolved incident back to investigating (the `/incident reopen` command, a
        status change out of resolved, and any "Reopen" button all come here)."""
        await self._may_change(incident, actor)
        await self.lifecycle.check_reopen(incident, actor)
        arguments = {"reason": reason} if reason else {}
        await self._check(ChangeRequest(Change.REOPENED, incident, actor, confirmed, arguments))
        updated, events = await self.lifecycle.reopen(incident, actor, reason)
        return await self._follow_up(
            Outcome(Change.REOPENED, updated, actor, before=incident, events=events, summary=reason)
        )

    async def decline(
        self,
        incident: Incident,
        actor: str,
        reason: str = "",
        *,
        confirmed: frozenset[str] = frozenset(),
    ) -> Outcome:
        await self._may_change(incident, actor)
        await self.lifecycle.check_decline(incident, actor)
        arguments = {"reason": reason} if reason else {}
        await self._check(ChangeRequest(Change.DECLINED, incident, actor, confirmed, arguments))
        updated, events = await self.lifecycle.decline(incident, actor, reason)
        return await self._follow_up(
            Outcome(Change.DECLINED, updated, actor, before=incident, events=events, summary=reason)
        )

    async def merge(self, source: Incident, target_id: str, actor: str) -> Outcome:
        await self._may_change(source, actor)
        target = await self.lifecycle.check_merge(source, target_id, actor)
        await self._check(
            ChangeRequest(Change.MERGED, source, actor, arguments={"into": target.id})
        )
        updated, events, merge = await self.lifecycle.merge(source, target, actor)
        outcome = Outcome(Change.MERGED, updated, actor, before=source, events=events)
        outcome.data["merge"] = merge
        return await self._follow_up(outcome)

    async def make_private(self, incident: Incident, actor: str) -> Outcome:
        await self._may_change(incident, actor)
        await self.lifecycle.check_private(incident, actor)
        await self._check(ChangeRequest(Change.PRIVATE, incident, actor))
        updated, events, conversion = await self.lifecycle.make_private(incident, actor)
        outcome = Outcome(Change.PRIVATE, updated, actor, before=incident, events=events)
        outcome.data["conversion"] = conversion
        return await self._follow_up(outcome)

    async def correct_times(
        self, incident: Incident, actor: str, new: dict[str, datetime]
    ) -> Outcome:
        await self._may_change(incident, actor)
        await self.lifecycle.check_times(incident, actor, new)
        await self._check(ChangeRequest(Change.TIMES, incident, actor))
        updated, events, made = await self.lifecycle.correct_times(incident, actor, new)
        outcome = Outcome(Change.TIMES, updated, actor, before=incident, events=events)
        outcome.data["corrections"] = made
        return await self._follow_up(outcome)

    async def confirmed(
        self, change: str, incident_id: str, actor: str, arguments: dict[str, str]
    ) -> Outcome:
        """Replay a change a guard stopped, now that `actor` confirmed it (the button under
        a ConfirmationNeeded message). `arguments` are the ones the guard's error carried."""
        incident = await self.incidents.store.get_incident(incident_id)
        confirmed = frozenset(filter(None, arguments.get("confirmed", "").split(",")))
        match Change(change):
            case Change.RESOLVED:
                return await self.resolve(
                    incident, actor, arguments.get("summary"), confirmed=confirmed
                )
            case Change.CLOSED:
                return await self.close(incident, actor, confirmed=confirmed)
            case Change.STATUS:
                return await self.set_status(
                    incident, Status(arguments["status"]), actor, confirmed=confirmed
                )
            case Change.SEVERITY:
                return await self.set_severity(
                    incident, Severity(int(arguments["severity"])), actor, confirmed=confirmed
                )
            case Change.REOPENED:
                return await self.reopen(
                    incident, actor, arguments.get("reason", ""), confirmed=confirmed
                )
            case Change.DECLINED:
                return await self.decline(
                    incident, actor, arguments.get("reason", ""), confirmed=confirmed
                )
        raise UsageError(f"A {change} change cannot be confirmed later; run it again.")
