"""Everything the incident page and its JSON show, read once: the record, its roles with
names, status updates, the timeline, metric readings, action items, postmortem versions,
related incidents (only those the reader may see) and links made elsewhere."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.actions.models import ActionItem
from bot.incidents.models import Incident, Role
from bot.postmortem.models import Postmortem
from bot.timeline.models import EventKind, TimelineEntry
from bot.updates.models import StatusUpdate
from bot.web.app_state import WebState
from bot.web.people import Names
from bot.web.postmortem_view import DiffLine, as_markdown, diff_lines, markdown_html

MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
MAX_RELATED = 5


@dataclass
class Related:
    incident: Incident
    score: float
    reasons: list[str]


@dataclass
class Version:
    postmortem: Postmortem
    markdown: str
    html: str


@dataclass
class Detail:
    incident: Incident
    names: dict[str, str]
    roles: list[tuple[str, str]]  # (role display name, user id)
    updates: list[StatusUpdate]
    timeline: list[TimelineEntry]
    readings: list[TimelineEntry]
    actions: list[ActionItem]
    versions: list[Version]
    related: list[Related]
    last_stream_id: str = "0"
    recurrence: list[str] = field(default_factory=list)

    def diff(self, old: int, new: int) -> list[DiffLine]:
        by_number = {v.postmortem.version: v for v in self.versions}
        if old not in by_number or new not in by_number:
            return []
        return diff_lines(by_number[old].markdown, by_number[new].markdown)

    def text(self, raw: str) -> str:
        """Slack mentions as names (plain text: the template escapes it)."""
        return MENTION.sub(lambda m: "@" + self.names.get(m.group(1), m.group(1)), raw)


def names_for(state: WebState) -> Names:
    if state.names is None:
        state.names = Names(state.services.chat)
    names: Names = state.names
    return names


async def load(state: WebState, incident: Incident, reader: str | None) -> Detail:
    store = state.services.store
    last = await store.last_event_id(incident.id)  # the live stream starts after it
    timeline = await store.timeline(incident.id)
    updates = await store.updates.updates(incident.id)
    actions = await store.actions.many(await store.actions.ids_of_incident(incident.id))
    stored = await store.postmortems.versions(incident.id)
    versions = [Version(pm, md := as_markdown(pm), markdown_html(md)) for pm in stored]
    related = await related_incidents(state, incident, reader)
    people = {incident.declared_by, *incident.roles.values(),
              *(u.author for u in updates), *(a.owner for a in actions)}
    for entry in timeline:
        people.add(entry.event.actor or "")
        people |= set(MENTION.findall(entry.event.text))
    names = await names_for(state).names(people)
    roles = [(role.display_name, incident.roles[role]) for role in Role if role in incident.roles]
    readings = [e for e in timeline if e.event.kind is EventKind.METRICS]
    recurrence = stored[-1].pattern if stored else []
    return Detail(incident=incident, names=names, roles=roles, updates=updates,
                  timeline=timeline, readings=readings,
                  actions=sorted(actions, key=lambda a: (a.status.value, a.due is None,
                                                         a.due or a.created_at)),
                  versions=versions, related=related, last_stream_id=last,
                  recurrence=list(recurrence))


async def related_incidents(state: WebState, incident: Incident, reader: str | None
                            ) -> list[Related]:
    patterns = state.services.patterns
    if patterns is None:
        return []
    matches = [m for m in await patterns.similar(incident) if m.incident.id != incident.id]
    readable = await state.access.readable([m.incident for m in matches], reader)
    return [Related(m.incident, m.score, list(m.reasons))
            for m in matches if readable[m.incident.id]][:MAX_RELATED]


def as_json(detail: Detail) -> dict[str, Any]:
    """The incident for /api/v1/incidents/{id}."""
    inc = detail.incident
    return {
        "incident": summary_json(inc),
        "roles": {name: {"id": uid, "name": detail.names.get(uid, uid)}
                  for name, uid in detail.roles},
        "status_updates": [u.model_dump(mode="json") for u in detail.updates],
        "timeline": [{"id": e.stream_id, "at": e.event.at.isoformat(),
                      "kind": e.event.kind.value, "key": e.is_key,
                      "actor": e.event.actor, "text": e.event.text,
                      "data": e.event.data, "edited": e.edited} for e in detail.timeline],
        "action_items": [{
            "id": a.id, "text": a.text, "owner": a.owner, "status": a.status.value,
            "due": a.due.isoformat() if a.due else None, "priority": a.priority.value,
            "tracker": a.tracked.model_dump(mode="json") if a.tracked else None,
        } for a in detail.actions],
        "postmortem_versions": [{"version": v.postmortem.version,
                                 "generated_at": v.postmortem.generated_at.isoformat(),
                                 "ai_written": v.postmortem.ai_written,
                                 "markdown": v.markdown} for v in detail.versions],
        "related": [{"id": r.incident.id, "title": r.incident.title, "score": r.score,
                     "reasons": r.reasons} for r in detail.related],
        "links": [link.model_dump(mode="json") for link in inc.links],
    }


def summary_json(inc: Incident) -> dict[str, Any]:
    def iso(value: Any) -> Any:
        return value.isoformat() if value is not None else None

    ttr = inc.time_to_resolve
    return {
        "id": inc.id, "title": inc.title, "severity": inc.severity.label,
        "status": inc.status.value, "private": inc.private, "services": inc.services,
        "tags": inc.tags, "channel_id": inc.channel_id, "declared_by": inc.declared_by,
        "declared_at": iso(inc.declared_at), "impact_started_at": iso(inc.impact_started_at),
        "resolved_at": iso(inc.resolved_at), "closed_at": iso(inc.closed_at),
        "time_to_resolve_seconds": ttr.total_seconds() if ttr else None,
        "summary": inc.resolution_summary,
    }
