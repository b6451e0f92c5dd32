"""The page as Atlassian Statuspage's public API v2 shapes it (summary.json, status.json,
components.json, incidents.json, scheduled-maintenances.json and their unresolved /
upcoming / active lists), so existing widgets and status aggregators read it. Field names
and values follow the published API; ids are ours (12 characters, as theirs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.statuspage.components import component_id
from bot.statuspage.models import (
    ComponentStatus,
    Impact,
    Maintenance,
    PublicIncident,
    PublicUpdate,
)
from bot.statuspage.views import ComponentView, GroupView, PageView

PAGE_ID_LENGTH = 12
RECENT = 50  # incidents.json and scheduled-maintenances.json list the latest 50


def ts(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def page_id(view: PageView) -> str:
    return component_id(f"page:{view.title}:{view.audience}")


def page(view: PageView) -> dict[str, Any]:
    return {
        "id": page_id(view), "name": view.title, "url": view.url, "time_zone": "Etc/UTC",
        "updated_at": ts(view.updated_at),
    }


def status(view: PageView) -> dict[str, Any]:
    return {"indicator": view.indicator, "description": view.description}


def component(c: ComponentView, view: PageView, group_id: str | None) -> dict[str, Any]:
    return {
        "id": c.id, "name": c.name, "status": c.status.value,
        "created_at": ts(c.updated_at),
        "updated_at": ts(c.updated_at), "position": c.position,
        "description": c.spec.description, "showcase": True, "start_date": None,
        "group_id": group_id, "page_id": page_id(view), "group": False,
        "only_show_if_degraded": False,
    }


def components(view: PageView) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for position, item in enumerate(view.groups, start=1):
        if isinstance(item, GroupView):
            gid = component_id(f"group:{item.name}")
            members = [component(c, view, gid) for c in item.components]
            out.append({
                "id": gid, "name": item.name, "status": item.status.value,
                "created_at": ts(min(c.updated_at for c in item.components)),
                "updated_at": ts(max(c.updated_at for c in item.components)),
                "position": position, "description": None, "showcase": False,
                "start_date": None, "group_id": None, "page_id": page_id(view), "group": True,
                "only_show_if_degraded": False, "components": [m["id"] for m in members],
            })
            out += members
        else:
            out.append(component(item, view, None))
    return out


def _affected(update: PublicUpdate, before: dict[str, ComponentStatus]) -> list[dict[str, str]]:
    return [
        {"code": component_id(name), "name": name,
         "old_status": before.get(name, ComponentStatus.OPERATIONAL).value,
         "new_status": new.value}
        for name, new in update.components.items()
    ]


def updates(subject_id: str, items: list[PublicUpdate]) -> list[dict[str, Any]]:
    """Newest first, as Statuspage lists them."""
    out: list[dict[str, Any]] = []
    before: dict[str, ComponentStatus] = {}
    for u in sorted(items, key=lambda u: u.at):
        out.append({
            "id": u.id, "status": u.status, "body": u.body, "incident_id": subject_id,
            "created_at": ts(u.at), "updated_at": ts(u.at), "display_at": ts(u.at),
            "affected_components": _affected(u, before) or None,
            "deliver_notifications": True, "custom_tweet": None, "tweet_id": None,
        })
        before.update(u.components)
    return list(reversed(out))


def _component_refs(view: PageView, names: list[str]) -> list[dict[str, Any]]:
    by_name = {c.name.lower(): c for c in view.components}
    return [component(by_name[n.lower()], view, None) for n in names if n.lower() in by_name]


def shortlink(view: PageView, kind: str, subject_id: str) -> str:
    return f"{view.url.rstrip('/')}/{kind}/{subject_id}"


def incident(i: PublicIncident, view: PageView) -> dict[str, Any]:
    return {
        "id": i.id, "name": i.name, "status": i.status.value, "impact": i.impact.value,
        "created_at": ts(i.created_at), "updated_at": ts(i.updated_at),
        "monitoring_at": ts(i.monitoring_at), "resolved_at": ts(i.resolved_at),
        "started_at": ts(i.started_at), "shortlink": shortlink(view, "incidents", i.id),
        "page_id": page_id(view), "incident_updates": updates(i.id, i.updates),
        "components": _component_refs(view, list(i.components)),
    }


def maintenance(m: Maintenance, view: PageView) -> dict[str, Any]:
    return {
        "id": m.id, "name": m.name, "status": m.status.value,
        "impact": Impact.MAINTENANCE.value,
        "created_at": ts(m.created_at), "updated_at": ts(m.updated_at),
        "monitoring_at": None,
        "resolved_at": ts(m.updated_at) if not m.is_open else None,
        "started_at": ts(m.scheduled_for), "shortlink": shortlink(view, "maintenance", m.id),
        "scheduled_for": ts(m.scheduled_for), "scheduled_until": ts(m.scheduled_until),
        "page_id": page_id(view), "incident_updates": updates(m.id, m.updates),
        "components": _component_refs(view, m.components),
    }


def documents(view: PageView) -> dict[str, dict[str, Any]]:
    """Every JSON document of the API by its path under /status/api/v2/."""
    head = page(view)
    comps = components(view)
    open_incidents = [incident(i, view) for i in view.open_incidents]
    active = [maintenance(m, view) for m in view.active_maintenance]
    upcoming = [maintenance(m, view) for m in view.upcoming_maintenance]
    recent_maintenance = sorted(view.maintenances, key=lambda m: m.scheduled_for, reverse=True)
    return {
        "summary.json": {
            "page": head, "components": comps, "incidents": open_incidents,
            "scheduled_maintenances": active + upcoming, "status": status(view),
        },
        "status.json": {"page": head, "status": status(view)},
        "components.json": {"page": head, "components": comps},
        "incidents.json": {
            "page": head, "incidents": [incident(i, view) for i in view.incidents[:RECENT]],
        },
        "incidents/unresolved.json": {"page": head, "incidents": open_incidents},
        "scheduled-maintenances.json": {
            "page": head,
            "scheduled_maintenances": [maintenance(m, view) for m in recent_maintenance[:RECENT]],
        },
        "scheduled-maintenances/upcoming.json": {"page": head,
                                                 "scheduled_maintenances": upcoming},
        "scheduled-maintenances/active.json": {"page": head, "scheduled_maintenances": active},
    }
