"""The integrations' follow-up steps on incident changes (registered by install.py):
page the on-call on declare and on a severity raised over PAGE_MIN_SEVERITY, resolve the
pages on resolve. A pager that is down only adds a warning; the change stands."""

from __future__ import annotations

from bot.incidents.flows import Change, IncidentFlows, Outcome
from bot.integrations.paging import PageOutcome, PagingService


def _tell(outcome: Outcome, result: PageOutcome) -> None:
    for problem in result.problems:
        outcome.warn(problem)
    if result.paged:
        outcome.data["paged"] = result.paged


def add_paging_steps(flows: IncidentFlows, paging: PagingService) -> None:
    async def page_on_call(outcome: Outcome) -> None:
        _tell(outcome, await paging.on_declare(outcome.incident))

    async def page_on_raise(outcome: Outcome) -> None:
        if outcome.before is not None:
            _tell(outcome, await paging.on_severity(outcome.incident,
                                                    int(outcome.before.severity)))

    async def resolve_pages(outcome: Outcome) -> None:
        _tell(outcome, await paging.on_resolve(outcome.incident))

    # paging needs nothing from Slack: beside declare's first Slack calls
    flows.after(Change.DECLARED, "page on-call", page_on_call,
                warning="could not page the on-call", concurrent=True, before="channel posts")
    flows.after(Change.SEVERITY, "page on raise", page_on_raise,
                warning="could not page the on-call")
    flows.after(Change.RESOLVED, "resolve pages", resolve_pages,
                warning="could not resolve the pages")
