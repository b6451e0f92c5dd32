"""The follow-up steps and guards registered for each change, and how they run: guards in
order before the change (a ConfirmationNeeded carries what replaying it needs), steps in
order after it, neighbouring `concurrent` steps together, each failure isolated. The
extension points are documented in bot/incidents/flows.py, whose IncidentFlows builds on
this class."""

from __future__ import annotations

import asyncio

import structlog

from bot.errors import ConfirmationNeeded
from bot.incidents.changes import (
    Change,
    ChangeRequest,
    FollowUp,
    Guard,
    GuardCheck,
    Outcome,
    Registration,
    Step,
    caller_module,
    module_of,
)

log = structlog.get_logger(__name__)


class ChangeSteps:
    def __init__(self) -> None:
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
        self.registrations.append(
            Registration(change, name, "step", module_of(run), caller_module())
        )

    def guard(self, change: Change, name: str, check: GuardCheck) -> None:
        """Check every `change` before it is made; `check` raises ConfirmationNeeded to stop
        it until the user confirms (or any IncidentBotError to refuse it)."""
        if any(g.name == name for g in self._guards[change]):
            raise ValueError(f"{change.value} already has a guard named {name!r}")
        self._guards[change].append(Guard(name=name, check=check))
        self.registrations.append(
            Registration(change, name, "guard", module_of(check), caller_module())
        )

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
