"""Drafting, storing (versioned), posting and exporting postmortems; `/incident summary`."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from bot.clock import Clock
from bot.errors import ChatError, IncidentBotError
from bot.incidents.models import Role
from bot.mrkdwn import escape
from bot.ports import ChatGateway
from bot.postmortem.analysis import analyze
from bot.postmortem.assemble import assemble
from bot.postmortem.catch_up import catch_up
from bot.postmortem.grounding import FactSheet, build_fact_sheet
from bot.postmortem.lifecycle import lifecycle_lines
from bot.postmortem.llm import Drafter, DraftRequest, baseline_for_prompt, uses_model
from bot.postmortem.models import Postmortem, RecordedAction
from bot.postmortem.proposals import ActionItemsPort, accept_proposal
from bot.postmortem.render import claims_line, render_markdown
from bot.runbooks import RunbookLibrary
from bot.store.redis_store import RedisStore
from bot.tallies import CLAIM_VERDICTS, LLM_CLAIMS
from bot.tallies import tally as count_up
from bot.timeline.models import TimelineEntry
from bot.workweek import WorkingHours

log = structlog.get_logger(__name__)
_MENTIONED_ID = re.compile(r"@([UW][A-Z0-9]{2,})\b")


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


@dataclass
class _Drafting:
    base: Postmortem
    sheet: FactSheet
    sheet_incident_private: bool = False


class PostmortemService:
    web_base: str | None = None  # WEB_BASE_URL (its install sets it): drafts link the page
    def __init__(
        self,
        *,
        store: RedisStore,
        chat: ChatGateway,
        drafter: Drafter,
        clock: Clock,
        runbooks_dir: str | Path = "runbooks",
        actions: ActionItemsPort | None = None,
        private_use_ai: bool = False,
        working_hours: WorkingHours | None = None,
    ) -> None:
        self.private_use_ai = private_use_ai  # PRIVATE_INCIDENTS_USE_AI
        self.working_hours = working_hours or WorkingHours()  # the team's, in the IC's zone
        self.store = store
        self.chat = chat
        self.drafter = drafter
        self.clock = clock
        self.runbooks_dir = Path(runbooks_dir)
        self.actions = actions
        # told of every new version once it is posted (POSTMORTEM_PUBLISH=auto publishes it)
        self.followers: list[Callable[[Postmortem], Awaitable[None]]] = []

    def library(self) -> RunbookLibrary | None:
        if not self.runbooks_dir.is_dir():
            return None
        return RunbookLibrary.from_folder(self.runbooks_dir)

    # --- drafting ---------------------------------------------------------------------

    @property
    def uses_model(self) -> bool:
        """True when drafts go to the model (ANTHROPIC_API_KEY set)."""
        return uses_model(self.drafter)

    async def _from_record(self, incident_id: str) -> _Drafting:
        incident = await self.store.get_incident(incident_id)
        entries = await self.store.timeline(incident_id)
        library = self.library()
        now = self.clock()
        analysis = analyze(
            incident,
            entries,
            library=library,
            now=now,
            team_hours=self.working_hours,
            ic_zone=await self._zone(incident.roles.get(Role.IC) or incident.declared_by),
        )
        base = analysis.postmortem.model_copy(
            update={
                "pattern": pattern_lines(entries),
                "recorded_actions": await self._recorded_actions(incident_id),
                "lifecycle": lifecycle_lines(incident, entries),
            }
        )
        sheet = build_fact_sheet(
            incident,
            entries,
            citations=analysis.citations,
            library=library,
            now=now,
            baseline_text=baseline_for_prompt(base.sections()),
        )
        return _Drafting(base=base, sheet=sheet, sheet_incident_private=incident.private)

    async def _zone(self, user_id: str) -> str:
        """A person's Slack time zone; UTC when Slack cannot say."""
        try:
            return (await self.chat.user(user_id)).tz
        except IncidentBotError:
            return "UTC"

    async def _recorded_actions(self, incident_id: str) -> list[RecordedAction]:
        items = self.store.actions
        found = await items.many(await items.ids_of_incident(incident_id))
        return [
            RecordedAction(
                id=i.id, text=i.text, owner=i.owner, status=i.status.value, due=i.due,
                tracker_key=i.tracked.key if i.tracked else (i.ticket or None),
                tracker_url=i.tracked.url if i.tracked else None,
            )
            for i in sorted(found, key=lambda i: i.id)
        ]

    async def fact_sheet(self, incident_id: str) -> FactSheet:
        """This incident's record by id, with the names of its people: what any model-written
        text about it is checked against (bot.postmortem.validation.check_claim)."""
        sheet = (await self._from_record(incident_id)).sheet
        await self._learn_names(sheet)
        return sheet

    async def build_from_record(self, incident_id: str) -> Postmortem:
        """The deterministic draft (no model), not stored."""
        return (await self._from_record(incident_id)).base

    async def build(self, incident_id: str, *, ai: bool = True) -> Postmortem:
        """Draft without storing or posting: the model's checked claims when it answers
        well, else the deterministic draft with the reason."""
        drafting = await self._from_record(incident_id)
        private = drafting.sheet_incident_private
        ai = self._ai_allowed(private, ai)
        if not ai or not self.uses_model:
            reason = drafting.base.not_ai_reason or self._no_ai_reason(ai, private=private)
            return drafting.base.model_copy(update={"not_ai_reason": reason})
        return await self._with_model(drafting)

    def _ai_allowed(self, private: bool, ai: bool) -> bool:
        """A private incident's text goes to the model only with PRIVATE_INCIDENTS_USE_AI."""
        return ai and (not private or self.private_use_ai)

    def _no_ai_reason(self, ai: bool, *, private: bool = False) -> str | None:
        if not ai and private and not self.private_use_ai:
            return (
                "a private incident's text is not sent to the model "
                "(PRIVATE_INCIDENTS_USE_AI is off)"
            )
        if not ai:
            return "the model is not used for this incident"
        return getattr(self.drafter, "reason", None)

    async def _learn_names(self, sheet: FactSheet) -> None:
        """Display names of the people the record knows, so '@alice' in prose is checkable."""

        async def name(uid: str) -> tuple[str, list[str]]:
            try:
                user = await self.chat.user(uid)
            except IncidentBotError:
                return uid, []
            return uid, [n for n in (user.name, user.real_name) if n]

        for uid, names in await asyncio.gather(*(name(u) for u in sheet.people)):
            for n in names:
                sheet.names.setdefault(n.lower(), uid)

    async def _with_model(self, drafting: _Drafting) -> Postmortem:
        base, sheet = drafting.base, drafting.sheet
        await self._learn_names(sheet)
        request = DraftRequest(incident_id=base.incident_id, sheet=sheet, baseline=base.sections())
        outcome = await self.drafter.draft(request)
        usage = {"ai_usage": outcome.usage, "ai_pending": False}
        if outcome.draft is None:
            return base.model_copy(update={"not_ai_reason": outcome.reason, **usage})
        try:
            assembled = assemble(outcome.draft, sheet, base.sections(), now=self.clock())
        except Exception:  # a draft we cannot check is never posted; the record's stands
            log.exception("postmortem_ai_unchecked", incident=base.incident_id)
            reason = "the model's draft could not be checked against the record"
            return base.model_copy(update={"not_ai_reason": reason, **usage})
        tally = assembled.tally
        for verdict in CLAIM_VERDICTS:
            count_up(LLM_CLAIMS, verdict, getattr(tally, verdict))
        checked = {"unverified": assembled.unverified, "claims": tally, **usage}
        log.info(
            "postmortem_ai_checked",
            incident=base.incident_id,
            kept=tally.kept,
            flagged=tally.flagged,
            dropped=tally.dropped,
        )
        if tally.kept == 0:
            reason = "none of the model's claims matched the record"
            return base.model_copy(update={"not_ai_reason": reason, **checked})
        return base.model_copy(
            update={
                **dict(assembled.sections),
                **checked,
                "ai_written": True,
                "ai_model": outcome.model,
                "not_ai_reason": None,
            }
        )

    async def _save(self, pm: Postmortem) -> Postmortem:
        return await self.store.postmortems.save_new_version(pm)

    async def replace_latest(self, pm: Postmortem) -> None:
        await self.store.postmortems.replace_latest(pm)

    async def latest(self, incident_id: str) -> Postmortem | None:
        return await self.store.postmortems.latest(incident_id)

    async def version_count(self, incident_id: str) -> int:
        return await self.store.postmortems.version_count(incident_id)

    async def draft(self, incident_id: str, *, ai: bool = True) -> Postmortem:
        """Post the draft built from the record at once, then (with a model) the checked AI
        draft as the next version; returns the last one posted."""
        first = await self.draft_from_record(incident_id, ai=ai)
        if not first.ai_pending:
            return first
        return await self.draft_with_ai(incident_id, first)

    async def draft_from_record(self, incident_id: str, *, ai: bool = True) -> Postmortem:
        """Store and post the deterministic draft; `ai_pending` when the model drafts next.
        Raises ChatError after storing when the upload fails."""
        incident = await self.store.get_incident(incident_id)
        ai = self._ai_allowed(incident.private, ai)
        pending = ai and self.uses_model
        pm = await self.build_from_record(incident.id)
        pm = pm.model_copy(
            update={
                "ai_pending": pending,
                "not_ai_reason": None
                if pending
                else self._no_ai_reason(ai, private=incident.private),
            }
        )
        pm = await self._save(pm)
        if pending:
            comment = (
                f":memo: Postmortem draft v{pm.version} for *{incident.id}* — built from the "
                f"record. :hourglass_flowing_sand: AI draft in progress (at most "
                f"{self.drafter.budget:g} s); it follows as the next version once its claims "
                "are checked against the record."
            )
        else:
            comment = (
                f":memo: Postmortem draft v{pm.version} for *{incident.id}* — Not AI-written "
                "(deterministic)."
                + (f" Why: {escape(pm.not_ai_reason)}." if pm.not_ai_reason else "")
            )
        await self._post(incident.channel_id, incident.id, incident.title, pm, comment)
        return pm

    async def draft_with_ai(self, incident_id: str, first: Postmortem) -> Postmortem:
        """The model's draft, checked claim by claim, posted as the next version. When there
        is none (budget run out, API error, nothing checked out), says why in plain words
        and returns `first`, updated with the reason."""
        incident = await self.store.get_incident(incident_id)
        if not self._ai_allowed(incident.private, True):
            return first  # never the model for a private incident (PRIVATE_INCIDENTS_USE_AI)
        pm = await self._with_model(await self._from_record(incident.id))
        if not pm.ai_written:
            done = first.model_copy(
                update={
                    "ai_pending": False,
                    "not_ai_reason": pm.not_ai_reason,
                    "ai_usage": pm.ai_usage,
                    "unverified": pm.unverified,
                    "claims": pm.claims,
                }
            )
            if (await self.version_count(incident.id)) == first.version:
                await self.replace_latest(done)
            await self.chat.post(
                incident.channel_id,
                f":information_source: No AI draft for *{incident.id}*: "
                f"{escape(pm.not_ai_reason or 'the model gave none')}; postmortem "
                f"v{first.version} above is built from the record.",
            )
            return done
        pm = await self._save(pm)
        comment = (
            f":memo: Postmortem draft v{pm.version} for *{incident.id}* — AI-drafted "
            f"({escape(pm.ai_model or 'Claude')}), checked against the record: "
            f"{escape(claims_line(pm))}. Replaces v{first.version}."
        )
        await self._post(incident.channel_id, incident.id, incident.title, pm, comment)
        return pm

    async def _post(
        self, channel_id: str, incident_id: str, title: str, pm: Postmortem, comment: str
    ) -> None:
        try:
            await self._upload(channel_id, incident_id, title, pm, comment)
        finally:  # a version that could not be posted in Slack is still a version
            for follower in self.followers:
                try:
                    await follower(pm)
                except Exception:  # a follower never breaks drafting
                    log.exception("postmortem_follower_failed", incident=incident_id)

    async def _upload(
        self, channel_id: str, incident_id: str, title: str, pm: Postmortem, comment: str
    ) -> None:
        page = f" <{self.web_base}/incidents/{incident_id}|Incident page>" if self.web_base else ""
        try:
            await self.chat.upload_file(
                channel_id,
                filename=f"postmortem-{incident_id}-v{pm.version}.md",
                title=f"Postmortem draft v{pm.version}: {title}",
                content=await self.markdown(pm),
                comment=comment + page,
            )
        except ChatError as exc:
            raise ChatError(
                f"The postmortem was drafted and saved (version {pm.version}) but could not "
                f"be posted: {exc.message}. `incident-bot export {incident_id}` writes it.",
                code=exc.code,
            ) from exc

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

    async def accept_action(
        self, incident_id: str, proposal_id: str, actor: str, *, version: int | None = None
    ) -> Any:
        """Turn a proposed action item of the latest draft into a tracked one, once."""
        return await accept_proposal(self, incident_id, proposal_id, actor, version=version)

    # --- summary -------------------------------------------------------------------------

    async def summary(self, incident_id: str) -> str:
        """A catch-up for someone joining: what happened, status, roles, what is being tried."""
        incident = await self.store.get_incident(incident_id)
        return catch_up(incident, await self.store.timeline(incident_id), self.clock())
