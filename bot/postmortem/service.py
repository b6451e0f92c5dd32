"""Drafting, storing (versioned), posting and exporting postmortems; `/incident summary`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Protocol

import structlog

from bot.clock import Clock
from bot.errors import ChatError, IncidentBotError, NotFound, UsageError
from bot.incidents.models import Incident, Role, format_duration
from bot.mrkdwn import escape, mention, when
from bot.ports import ChatGateway
from bot.postmortem.analysis import analyze
from bot.postmortem.facts import plain
from bot.postmortem.llm import Drafter, DraftRequest
from bot.postmortem.models import DraftSections, Postmortem, ProposedAction
from bot.postmortem.render import render_markdown
from bot.runbooks import RunbookLibrary
from bot.store.redis_store import RedisStore
from bot.timeline.models import EventKind, TimelineEntry
from bot.timeline.render import render_entry

log = structlog.get_logger(__name__)
_MENTIONED_ID = re.compile(r"@([UW][A-Z0-9]{2,})\b")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def pattern_lines(entries: list[TimelineEntry]) -> list[str]:
    """Seed 004's pattern recognition, from the category the patterns service recorded."""
    notes = [e.event.data for e in entries if "root_cause_category" in e.event.data]
    if not notes:
        return []
    data = notes[-1]
    category = data["root_cause_category"].replace("_", " ").replace("-", " ")
    lines = [f"Root-cause category: {category}."]
    if data.get("recurrence"):
        lines.append(f"This is the **{data['recurrence']}**.")
        related = [r for r in data.get("related", "").split(",") if r]
        if related:
            lines.append("Related incidents: " + ", ".join(related) + ".")
        open_items = int(data.get("open_items") or 0)
        if data.get("cause_kind") == "organizational":
            lines.append(
                "Root cause (organizational): "
                + (
                    f"{open_items} action item(s) from the earlier incidents were never "
                    "finished, so the agreed fix was not in place."
                    if open_items
                    else "no action items were filed for the earlier incidents."
                )
            )
        else:
            lines.append("Root cause (technical): the earlier incidents' action items are done.")
    else:
        lines.append("No earlier incident in this category in the pattern window.")
    return lines


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


def incident_facts(
    incident: Incident, pm: Postmortem, entries: list[TimelineEntry]
) -> dict[str, Any]:
    """Everything the model may see about this incident, and nothing about any other."""
    return {
        "id": incident.id,
        "title": incident.title,
        "description": incident.description,
        "severity": incident.severity.label,
        "status": incident.status.value,
        "services": incident.services,
        "tags": incident.tags,
        "roles": pm.roles,
        "declared_at": incident.declared_at,
        "detected_at": incident.detected_at,
        "identified_at": incident.identified_at,
        "mitigated_at": incident.mitigated_at,
        "resolved_at": incident.resolved_at,
        "resolution_summary": incident.resolution_summary,
        "durations": {
            "ttd": format_duration(incident.time_to_detect),
            "ttm": format_duration(incident.time_to_mitigate),
            "ttr": format_duration(incident.time_to_resolve),
        },
        "timeline": [r.model_dump(mode="json") for r in pm.timeline],
        "metric_readings": [
            {"at": e.event.at, "reading": plain(e.event.text), "data": e.event.data}
            for e in entries
            if e.event.kind is EventKind.METRICS
        ],
        "other_messages": [
            {"at": e.event.at, "text": plain(e.event.text)}
            for e in entries
            if not e.is_key and e.event.kind is EventKind.MESSAGE
        ][-40:],
    }


class PostmortemService:
    def __init__(
        self,
        *,
        store: RedisStore,
        chat: ChatGateway,
        drafter: Drafter,
        clock: Clock,
        runbooks_dir: str | Path = "runbooks",
        actions: ActionItemsPort | None = None,
    ) -> None:
        self.store = store
        self.chat = chat
        self.drafter = drafter
        self.clock = clock
        self.runbooks_dir = Path(runbooks_dir)
        self.actions = actions

    def library(self) -> RunbookLibrary | None:
        if not self.runbooks_dir.is_dir():
            return None
        return RunbookLibrary.from_folder(self.runbooks_dir)

    # --- drafting ---------------------------------------------------------------------

    async def build(self, incident_id: str) -> Postmortem:
        """Draft without storing or posting: the model's sections when it answers well,
        else the deterministic draft with the reason."""
        incident = await self.store.get_incident(incident_id)
        entries = await self.store.timeline(incident_id)
        library = self.library()
        analysis = analyze(incident, entries, library=library, now=self.clock())
        base = analysis.postmortem
        request = DraftRequest(
            incident_id=incident.id,
            incident=incident_facts(incident, base, entries),
            baseline=base.sections(),
            citations=analysis.citations,
        )
        base = base.model_copy(update={"pattern": pattern_lines(entries)})
        outcome = await self.drafter.draft(request)
        if outcome.sections is None:
            return base.model_copy(update={"not_ai_reason": outcome.reason})
        sections = self._grounded(outcome.sections, library)
        return base.model_copy(
            update={
                **dict(sections),
                "ai_written": True,
                "ai_model": outcome.model,
                "not_ai_reason": None,
            }
        )

    @staticmethod
    def _grounded(sections: DraftSections, library: RunbookLibrary | None) -> DraftSections:
        """Drop runbook citations that match no real heading; number the proposals."""
        known = {c.rendered for c in library.sections()} if library else set()
        dropped = 0
        for rc in sections.root_causes:
            kept = []
            for ev in rc.evidence:
                if ev.kind == "runbook":
                    cite = (ev.citation or ev.text).removeprefix("Runbook: ").strip()
                    if cite not in known:
                        dropped += 1
                        continue
                    ev.citation = cite
                kept.append(ev)
            rc.evidence = kept
        if dropped:
            sections.data_gaps.append(
                f"{dropped} runbook citation(s) from the model matched no runbook heading "
                "and were removed."
            )
        for i, action in enumerate(sections.action_items, 1):
            action.id = f"PA-{i}"
        return sections

    async def _save(self, pm: Postmortem) -> Postmortem:
        return await self.store.postmortems.save_new_version(pm)

    async def _replace_latest(self, pm: Postmortem) -> None:
        await self.store.postmortems.replace_latest(pm)

    async def latest(self, incident_id: str) -> Postmortem | None:
        return await self.store.postmortems.latest(incident_id)

    async def version_count(self, incident_id: str) -> int:
        return await self.store.postmortems.version_count(incident_id)

    async def draft(self, incident_id: str) -> Postmortem:
        """Draft, store as a new version and post the Markdown to the incident channel.
        Raises ChatError after storing when the upload fails."""
        incident = await self.store.get_incident(incident_id)
        pm = await self._save(await self.build(incident.id))
        kind = "AI-drafted" if pm.ai_written else "Not AI-written (deterministic)"
        try:
            await self.chat.upload_file(
                incident.channel_id,
                filename=f"postmortem-{incident.id}-v{pm.version}.md",
                title=f"Postmortem draft v{pm.version}: {incident.title}",
                content=await self.markdown(pm),
                comment=f":memo: Postmortem draft v{pm.version} for *{incident.id}* — {kind}."
                + (f" Why: {escape(pm.not_ai_reason)}." if pm.not_ai_reason else ""),
            )
        except ChatError as exc:
            raise ChatError(
                f"The postmortem was drafted and saved (version {pm.version}) but could not "
                f"be posted: {exc.message}. `incident-bot export {incident.id}` writes it.",
                code=exc.code,
            ) from exc
        return pm

    async def export(self, incident_id: str) -> str:
        """The latest stored draft as Markdown; a fresh (unsaved) draft when none is stored."""
        incident = await self.store.get_incident(incident_id)
        pm = await self.latest(incident.id) or await self.build(incident.id)
        return await self.markdown(pm)

    async def markdown(self, pm: Postmortem) -> str:
        """The Markdown with people's names instead of Slack user ids (it is read outside Slack)."""
        text = render_markdown(pm)
        names: dict[str, str] = {}
        for user_id in set(_MENTIONED_ID.findall(text)):
            try:
                names[user_id] = (await self.chat.user(user_id)).name
            except IncidentBotError:
                continue  # unknown or unreachable: keep the id
        return _MENTIONED_ID.sub(lambda m: "@" + names.get(m.group(1), m.group(1)), text)

    # --- action items -------------------------------------------------------------------

    async def accept_action(self, incident_id: str, proposal_id: str, actor: str) -> Any:
        """Turn a proposed action item into a tracked one, once."""
        if self.actions is None:
            raise IncidentBotError("Action items are not set up on this bot.")
        pm = await self.latest(incident_id)
        if pm is None:
            raise NotFound(f"{incident_id} has no postmortem draft yet.")
        proposal = next((a for a in pm.action_items if a.id == proposal_id), None)
        if proposal is None:
            raise NotFound(f"The draft of {incident_id} has no proposed item {proposal_id}.")
        if proposal.accepted_item_id:
            raise UsageError(f"{proposal_id} is already tracked as {proposal.accepted_item_id}.")
        if not await self.store.postmortems.claim_accept(incident_id, proposal_id):
            raise UsageError(f"{proposal_id} is already being accepted.")
        incident = await self.store.get_incident(incident_id)
        try:
            item = await self.actions.add(
                incident,
                owner=self._owner(proposal, actor),
                text=proposal.description,
                actor=actor,
                due=self._due(proposal),
                priority=proposal.priority,
                type=proposal.type,
            )
        except IncidentBotError:
            await self.store.postmortems.release_accept(incident_id, proposal_id)
            raise
        latest = await self.latest(incident_id) or pm
        for a in latest.action_items:
            if a.id == proposal_id:
                a.accepted_item_id = str(getattr(item, "id", item))
        await self._replace_latest(latest)
        return item

    @staticmethod
    def _owner(proposal: ProposedAction, actor: str) -> str:
        owner = (proposal.owner_suggestion or "").lstrip("@")
        return owner if _USER_ID.match(owner) else actor

    def _due(self, proposal: ProposedAction) -> str | None:
        due = proposal.due_suggestion
        if due is None or due <= self.clock().date():
            return None
        return due.isoformat()

    # --- summary -------------------------------------------------------------------------

    async def summary(self, incident_id: str) -> str:
        """A catch-up for someone joining: what happened, status, roles, what is being tried."""
        incident = await self.store.get_incident(incident_id)
        entries = await self.store.timeline(incident_id)
        now = self.clock()
        lines = [
            f"*{incident.id}: {escape(incident.title)}*",
            f"*What happened:* {incident.severity.label} ({incident.severity.meaning}) "
            f"declared {when(incident.declared_at)} by {mention(incident.declared_by)}"
            + (f", affecting {escape(', '.join(incident.services))}" if incident.services else "")
            + ".",
        ]
        if incident.description:
            lines.append(f">{escape(incident.description)}")
        status = f"*Status:* {incident.status.value}"
        if incident.resolved_at is not None:
            status += f" — resolved after {format_duration(incident.time_to_resolve)}"
        elif incident.mitigated_at is not None:
            status += f" — mitigated after {format_duration(incident.time_to_mitigate)}"
        else:
            status += f" — open for {format_duration(now - incident.declared_at)}"
        lines.append(status)
        lines.append(
            "*Roles:* "
            + " · ".join(f"{r.display_name}: {mention(incident.roles.get(r))}" for r in Role)
        )
        trying = [
            e
            for e in entries
            if e.is_key and e.event.kind not in (EventKind.ROLE, EventKind.DECLARED)
        ][-5:]
        if trying:
            lines.append("*What is being tried (latest key events):*")
            lines += [f"• {render_entry(e)}" for e in trying]
        else:
            lines.append("*What is being tried:* nothing recorded yet — add `/incident note`.")
        if incident.resolution_summary:
            lines.append(f"*Resolution:* {escape(incident.resolution_summary)}")
        return "\n".join(lines)
