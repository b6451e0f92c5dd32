"""Accepting a proposed action item of the latest postmortem draft: it becomes a tracked
action item once (a claim in Redis), owned by the suggested person when the draft names a
Slack user, else by whoever accepted it, due on the suggested day when that is still ahead."""

from __future__ import annotations

import re
from typing import Any, Protocol

from bot.clock import Clock
from bot.errors import IncidentBotError, NotFound, UsageError
from bot.incidents.models import Incident
from bot.postmortem.models import Postmortem, ProposedAction
from bot.store.redis_store import RedisStore

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


class ActionItemsPort(Protocol):
    """The part of bot.actions.service.ActionItemService that accepting a proposal needs."""

    async def add(
        self,
        incident: Incident,
        *,
        owner: str,
        text: str,
        actor: str,
        due: str | None = None,
        priority: str | None = None,
        type: str | None = None,
        ticket: str | None = None,
    ) -> Any: ...


class Drafts(Protocol):
    """What accepting needs of bot.postmortem.service.PostmortemService."""

    store: RedisStore
    clock: Clock
    actions: ActionItemsPort | None

    async def latest(self, incident_id: str) -> Postmortem | None: ...

    async def replace_latest(self, pm: Postmortem) -> None: ...


def owner_of(proposal: ProposedAction, actor: str) -> str:
    owner = (proposal.owner_suggestion or "").lstrip("@")
    return owner if _USER_ID.match(owner) else actor


def due_of(proposal: ProposedAction, drafts: Drafts) -> str | None:
    due = proposal.due_suggestion
    if due is None or due <= drafts.clock().date():
        return None
    return due.isoformat()


async def accept_proposal(
    drafts: Drafts, incident_id: str, proposal_id: str, actor: str, *, version: int | None = None
) -> Any:
    """Turn a proposed action item of the latest draft into a tracked one, once."""
    if drafts.actions is None:
        raise IncidentBotError("Action items are not set up on this bot.")
    pm = await drafts.latest(incident_id)
    if pm is None:
        raise NotFound(f"{incident_id} has no postmortem draft yet.")
    if version is not None and version != pm.version:
        raise UsageError(
            f"That button belongs to postmortem draft v{version}; v{pm.version} replaced "
            "it. Use the buttons of the latest draft."
        )
    proposal = next((a for a in pm.action_items if a.id == proposal_id), None)
    if proposal is None:
        raise NotFound(f"The draft of {incident_id} has no proposed item {proposal_id}.")
    if proposal.accepted_item_id:
        raise UsageError(f"{proposal_id} is already tracked as {proposal.accepted_item_id}.")
    store = drafts.store
    if not await store.postmortems.claim_accept(incident_id, proposal_id):
        raise UsageError(f"{proposal_id} is already being accepted.")
    incident = await store.get_incident(incident_id)
    try:
        item = await drafts.actions.add(
            incident,
            owner=owner_of(proposal, actor),
            text=proposal.description,
            actor=actor,
            due=due_of(proposal, drafts),
            priority=proposal.priority,
            type=proposal.type,
        )
    except IncidentBotError:
        await store.postmortems.release_accept(incident_id, proposal_id)
        raise
    latest = await drafts.latest(incident_id) or pm
    for a in latest.action_items:
        if a.id == proposal_id:
            a.accepted_item_id = str(getattr(item, "id", item))
    await drafts.replace_latest(latest)
    return item
