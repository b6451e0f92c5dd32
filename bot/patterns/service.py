"""Recurring patterns, from the incident's point of view.

* on declare: up to three similar past incidents in the channel — why each matches, how it
  ended, and its action items that are still open;
* on resolve: the root-cause category (stored on the incident), and when the category has
  happened before in the window, the recurrence flag ("third N+1 query incident in 6
  months"), the related incidents, technical vs organizational cause, and escalation of the
  earlier incidents' unfinished action items (named in the channel, owners DMed, IC told);
* `report(...)` for `/incident patterns`.

Nothing here may break declare or resolve: failures are logged and the incident goes on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal, Protocol

import structlog

from bot.actions.models import ActionItem
from bot.clock import Clock
from bot.incidents.models import Incident, Role, Status, format_duration
from bot.mrkdwn import channel_link, escape, mention, when
from bot.patterns.matcher import Match, MatchConfig, score_matches
from bot.patterns.report import PatternReport, build_report, describe_window, ordinal
from bot.patterns.taxonomy import Category, categorize
from bot.runbooks import RunbookLibrary
from bot.store.keys import PREFIX
from bot.store.patterns import PatternIndex
from bot.store.redis_store import RedisStore
from bot.timeline.models import EventKind, TimelineEvent

log = structlog.get_logger(__name__)
ESCALATED_TTL_SECONDS = 400 * 24 * 3600
MAX_ITEMS_SHOWN = 3


class PatternChat(Protocol):
    async def post(self, channel_id: str, text: str) -> str: ...

    async def direct_message(self, user_id: str, text: str) -> None: ...


class ActionLookup(Protocol):
    async def list_items(
        self,
        scope: Literal["mine", "overdue", "all"],
        *,
        user_id: str,
        incident_id: str | None = None,
    ) -> list[ActionItem]: ...


class PostmortemLookup(Protocol):
    def latest(self, incident_id: str) -> Awaitable[Any]: ...


def escalated_key(incident_id: str) -> str:
    return f"{PREFIX}:pat:escalated:{incident_id}"


@dataclass
class Recurrence:
    """What on_resolve found (also returned, for callers and tests)."""

    category: Category
    why: str
    related: list[Incident] = field(default_factory=list)
    open_items: list[ActionItem] = field(default_factory=list)
    organizational: bool = False
    window_label: str = "6 months"

    @property
    def count(self) -> int:
        return len(self.related) + 1

    @property
    def flag(self) -> str | None:
        if not self.related:
            return None
        return f"{ordinal(self.count)} {self.category.label} incident in {self.window_label}"


def outcome(incident: Incident) -> str:
    if incident.resolved_at is not None:
        return f"resolved after {format_duration(incident.time_to_resolve)}"
    if incident.status in (Status.RESOLVED, Status.CLOSED):
        return incident.status.value
    return f"still open ({incident.status.value})"


def item_line(item: ActionItem) -> str:
    due = f", due {when(item.due, fmt='{date_short}')}" if item.due else ""
    return f"`{item.id}` {escape(item.text, limit=120)} ({mention(item.owner)}{due})"


class PatternService:
    def __init__(
        self,
        *,
        store: RedisStore,
        chat: PatternChat,
        clock: Clock,
        actions: ActionLookup | None = None,
        config: MatchConfig | None = None,
        postmortems: PostmortemLookup | None = None,
        runbooks: Callable[[], RunbookLibrary | None] | None = None,
    ) -> None:
        self.store = store
        self.chat = chat
        self.clock = clock
        self.actions = actions
        self.config = config or MatchConfig()
        self.postmortems = postmortems
        self.runbooks = runbooks  # the postmortem's runbooks: both classify alike
        self.index = PatternIndex(store.db, self.config)

    @property
    def window_label(self) -> str:
        return describe_window(self.config.window)

    async def open_items(self, incident_id: str) -> list[ActionItem]:
        if self.actions is None:
            return []
        items = await self.actions.list_items("all", user_id="", incident_id=incident_id)
        return [i for i in items if i.is_open]

    async def reindex(self, batch: int = 500) -> int:
        """Index every stored incident (run once for incidents declared before this feature
        was switched on, or after changing `max_title_words`). Returns how many."""
        total = 0
        start = 0
        while True:
            ids = await self.store.incident_ids_page(start, batch)
            if not ids:
                return total
            for inc in await self.store.incidents([str(i) for i in ids]):
                await self.index.add(inc)
                total += 1
            start += batch

    # --- declare -----------------------------------------------------------------------

    async def similar(self, incident: Incident) -> list[Match]:
        """Up to `max_results` past incidents in the window like this one, with reasons."""
        category, why = categorize(incident)
        guess = None if category is Category.OTHER else category
        start = incident.declared_at - self.config.window
        ids = await self.index.candidates(
            incident, guess.value if guess else None, start, incident.declared_at
        )
        # false alarms and duplicates are not past incidents worth matching
        candidates = [c for c in await self.store.incidents(ids) if c.counts_in_stats]
        return score_matches(
            incident, guess, candidates, self.config, category_why=f"this one: {escape(why)}"
        )

    async def on_declare(self, incident: Incident) -> list[Match]:
        try:
            await self.index.add(incident)
            matches = await self.similar(incident)
            if matches:
                await self.chat.post(incident.channel_id, await self.render_matches(matches))
            return matches
        except Exception:
            log.exception("patterns_on_declare_failed", incident=incident.id)
            return []

    async def render_matches(self, matches: list[Match]) -> str:
        n = len(matches)
        lines = [
            f":mag: *{n} similar past incident{'s' if n != 1 else ''}* "
            f"(last {self.window_label}) — worth a look before digging in:"
        ]
        for m in matches:
            inc = m.incident
            if inc.private:  # outside its own channel a private incident is its label only
                lines.append(
                    f"• :lock: {inc.public_label} · "
                    f"{when(inc.declared_at, fmt='{date_short_pretty}')}"
                )
                continue
            lines.append(
                f"• *{inc.id}* {escape(inc.title, limit=120)} · {inc.severity.label} · "
                f"{when(inc.declared_at, fmt='{date_short_pretty}')} · {outcome(inc)} · "
                f"{channel_link(inc.channel_id)}"
            )
            lines.append(f"    _why:_ {'; '.join(m.reasons)}")
            if inc.resolution_summary:
                lines.append(f"    _fix:_ {escape(inc.resolution_summary, limit=160)}")
            items = await self.open_items(inc.id)
            if items:
                shown = "; ".join(item_line(i) for i in items[:MAX_ITEMS_SHOWN])
                more = (
                    f" and {len(items) - MAX_ITEMS_SHOWN} more"
                    if len(items) > MAX_ITEMS_SHOWN
                    else ""
                )
                lines.append(f"    _still open:_ {shown}{more}")
        return "\n".join(lines)

    # --- resolve -----------------------------------------------------------------------

    async def categorize(self, incident: Incident) -> tuple[Category, str]:
        """The category of the cause the postmortem names first, else of the one the same
        classifier ranks first from the record, the timeline and the same runbooks."""
        entries = await self.store.timeline(incident.id)
        cause: str | None = None
        if self.postmortems is not None:
            pm = await self.postmortems.latest(incident.id)
            technical = [
                rc for rc in getattr(pm, "root_causes", None) or [] if rc.kind == "technical"
            ]
            cause = str(technical[0].cause) if technical else None
        library = self.runbooks() if self.runbooks is not None else None
        return categorize(incident, entries, library=library, postmortem_cause=cause)

    async def on_resolve(self, incident: Incident) -> Recurrence | None:
        if not incident.counts_in_stats:
            return None
        try:
            return await self._on_resolve(incident)
        except Exception:
            log.exception("patterns_on_resolve_failed", incident=incident.id)
            return None

    async def _on_resolve(self, incident: Incident) -> Recurrence:
        category, why = await self.categorize(incident)
        now = self.clock()
        rec = Recurrence(category=category, why=why, window_label=self.window_label)
        if category is not Category.OTHER:
            start = incident.declared_at - self.config.window
            ids = await self.index.in_category(category.value, start, incident.declared_at)
            rec.related = [
                i
                for i in await self.store.incidents([i for i in ids if i != incident.id])
                if i.root_cause_category == category.value and i.counts_in_stats
            ]
            for rel in rec.related:
                rec.open_items += [
                    i.model_copy(update={"text": rel.public_label}) if rel.private else i
                    for i in await self.open_items(rel.id)
                ]
            rec.organizational = bool(rec.open_items) or (
                self.actions is not None and not await self._any_items(rec.related)
            )

        def change(inc: Incident) -> list[TimelineEvent]:
            if inc.root_cause_category == category.value:
                return []
            inc.root_cause_category = category.value
            # the postmortem reads the recurrence from this event's data
            return [
                TimelineEvent(
                    kind=EventKind.NOTE,
                    at=now,
                    text=f"Root-cause category: {category.label} ({why})",
                    data={
                        "root_cause_category": category.value,
                        "recurrence": rec.flag or "",
                        "related": ",".join(i.id for i in rec.related),
                        "open_items": str(len(rec.open_items)),
                        "cause_kind": "organizational" if rec.organizational else "technical",
                    },
                )
            ]

        incident, _ = await self.store.update_incident(incident.id, change)
        await self.index.add(incident)
        await self.chat.post(incident.channel_id, self.render_recurrence(incident, rec))
        if rec.open_items and await self.store.first_time(
            escalated_key(incident.id), ESCALATED_TTL_SECONDS
        ):
            await self._escalate(incident, rec)
        return rec

    async def _any_items(self, incidents: list[Incident]) -> bool:
        if self.actions is None:
            return False
        for inc in incidents:
            if await self.actions.list_items("all", user_id="", incident_id=inc.id):
                return True
        return False

    def render_recurrence(self, incident: Incident, rec: Recurrence) -> str:
        lines = [f":label: Root-cause category: *{rec.category.label}* — {escape(rec.why)}."]
        if rec.flag is None:
            if rec.category is not Category.OTHER:
                lines.append(
                    f"No earlier {rec.category.label} incident in the last {rec.window_label}."
                )
            return "\n".join(lines)
        lines.append(f":repeat: This is our *{rec.flag}*:")
        for n, rel in enumerate(sorted(rec.related, key=lambda i: i.declared_at), start=1):
            if rel.private:
                lines.append(
                    f"{n}. :lock: {rel.public_label} · "
                    f"{when(rel.declared_at, fmt='{date_short_pretty}')}"
                )
                continue
            lines.append(
                f"{n}. *{rel.id}* {escape(rel.title, limit=120)} · "
                f"{when(rel.declared_at, fmt='{date_short_pretty}')} · {outcome(rel)}"
            )
        lines.append(f"{rec.count}. *{incident.id}* {escape(incident.title, limit=120)} (this one)")
        if rec.open_items:
            lines.append(
                f"*Cause: organizational.* The technical cause is {rec.category.label}, but "
                f"{len(rec.open_items)} action item{'s' if len(rec.open_items) != 1 else ''} "
                "from the earlier incidents never got finished — the fix we agreed on was "
                "not done, so it happened again. Escalating:"
            )
            lines += [f"• {item_line(i)} — from {i.incident_id}" for i in rec.open_items]
            lines.append(
                "Owners have been messaged; the IC "
                f"{mention(incident.roles.get(Role.IC))} has the list."
            )
        elif rec.organizational:
            lines.append(
                f"*Cause: organizational.* The technical cause is {rec.category.label}, and "
                "no action items were filed for the earlier incidents — the follow-up "
                "itself is missing. Consider a systemic fix (checklist, lint, alert)."
            )
        else:
            lines.append(
                "*Cause: technical.* The earlier incidents' action items are all done; this "
                "is a new instance — check whether those fixes cover this path."
            )
        return "\n".join(lines)

    async def _escalate(self, incident: Incident, rec: Recurrence) -> None:
        by_owner: dict[str, list[ActionItem]] = {}
        for item in rec.open_items:
            by_owner.setdefault(item.owner, []).append(item)
        for owner, items in by_owner.items():
            text = (
                f":rotating_light: *{rec.category.label}* just happened again: "
                f"{incident.id} in {channel_link(incident.channel_id)} is our *{rec.flag}*. "
                f"You own {'these' if len(items) > 1 else 'this'} still-open action "
                f"item{'s' if len(items) > 1 else ''} from an earlier one:\n"
                + "\n".join(f"• {item_line(i)} — from {i.incident_id}" for i in items)
                + "\nPlease finish it, or re-plan it with the IC "
                f"{mention(incident.roles.get(Role.IC))}."
            )
            await self._dm(owner, text)
        ic = incident.roles.get(Role.IC)
        if ic:
            text = (
                f":rotating_light: {incident.id} is our *{rec.flag}*. "
                f"{len(rec.open_items)} action item(s) from the earlier incidents are still "
                "open; their owners have been messaged:\n"
                + "\n".join(f"• {item_line(i)} — from {i.incident_id}" for i in rec.open_items)
            )
            await self._dm(ic, text)

    async def _dm(self, user_id: str, text: str) -> None:
        try:
            await self.chat.direct_message(user_id, text)
        except Exception:
            log.warning("patterns_dm_failed", user=user_id)

    # --- report ------------------------------------------------------------------------

    async def report(
        self,
        service: str | None = None,
        category: Category | str | None = None,
        since: timedelta | None = None,
    ) -> PatternReport:
        since = since or self.config.window
        now = self.clock()
        ids = await self.store.incident_ids_declared((now - since).timestamp(), now.timestamp())
        incidents: list[Incident] = []
        id_list = [str(i) for i in ids]
        for n in range(0, len(id_list), 1000):
            incidents += [
                # counted once (no duplicates, no false alarms); a private one only by
                # severity and category, never its services or action items
                i.model_copy(update={"services": [], "title": i.public_label, "description": ""})
                if i.private
                else i
                for i in await self.store.incidents(id_list[n : n + 1000])
                if i.counts_in_stats
            ]
        cat = Category(category) if isinstance(category, str) else category
        items: dict[str, list[ActionItem]] = {}
        if self.actions is not None:
            for inc in incidents[-500:]:
                if inc.private:
                    continue
                items[inc.id] = await self.actions.list_items("all", user_id="", incident_id=inc.id)
        return build_report(incidents, items, now=now, since=since, service=service, category=cat)


__all__ = ["PatternReport", "PatternService", "Recurrence", "timedelta"]
