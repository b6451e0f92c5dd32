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

* something to say in a new incident's channel: a declare step that only reads (Redis,
  Prometheus) runs beside the first Slack calls and leaves its post, and the standard
  "channel posts" step sends every post as one message right after the header::

      async def similar(outcome: Outcome) -> None:
          outcome.post_after_header(ChannelPost(order=10, text=text, blocks=blocks))
      flows.after(Change.DECLARED, "similar incidents", similar,
                  concurrent=True, before="channel posts")

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

from datetime import datetime, timedelta

from bot.errors import UsageError
from bot.incidents.changes import (
    Change,
    ChangeRequest,
    ChannelPost,
    GuardCheck,
    Outcome,
    Registration,
    Step,
)
from bot.incidents.lifecycle import LifecycleService
from bot.incidents.models import ACTIVE_STATUSES, Incident, Role, Severity, Status
from bot.incidents.service import IncidentService
from bot.incidents.steps import ChangeSteps

__all__ = [  # the change types live in bot/incidents/changes.py; importable from here too
    "Change", "ChangeRequest", "ChannelPost", "GuardCheck", "IncidentFlows", "Outcome",
    "Registration", "Step",
]


class IncidentFlows(ChangeSteps):
    def __init__(
        self, *, incidents: IncidentService, lifecycle: LifecycleService | None = None
    ) -> None:
        super().__init__()
        self.incidents = incidents
        self.lifecycle = lifecycle or LifecycleService(incidents=incidents)

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
