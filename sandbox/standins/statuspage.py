"""Atlassian Statuspage REST API v1 stand-in (the parts the mirror uses), from the published
reference: `Authorization: OAuth <api key>`; POST /v1/pages/{page_id}/incidents and PATCH
/v1/pages/{page_id}/incidents/{incident_id} with a body `{"incident": {...}}` (name, status,
body, component_ids, components: {component id: status}, deliver_notifications, the
scheduled_* fields of a maintenance, impact_override, metadata…); PATCH
/v1/pages/{page_id}/components/{component_id} with `{"component": {...}}`; GETs of both.
Strict: an unknown page or component is 404, an unknown field 400, a status that does not
fit the incident's kind (realtime or scheduled) 422."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from sandbox.standins.base import Handler, Standin, Strict

ComponentStatus = Literal["operational", "degraded_performance", "partial_outage",
                          "major_outage", "under_maintenance"]
REALTIME = {"investigating", "identified", "monitoring", "resolved"}
SCHEDULED = {"scheduled", "in_progress", "verifying", "completed"}


class _Incident(Strict):
    name: str | None = Field(None, min_length=1, max_length=255)
    status: str | None = None
    impact_override: Literal["none", "maintenance", "minor", "major", "critical"] | None = None
    scheduled_for: datetime | None = None
    scheduled_until: datetime | None = None
    scheduled_remind_prior: bool | None = None
    auto_transition_to_maintenance_state: bool | None = None
    auto_transition_to_operational_state: bool | None = None
    scheduled_auto_in_progress: bool | None = None
    scheduled_auto_completed: bool | None = None
    auto_transition_deliver_notifications_at_start: bool | None = None
    auto_transition_deliver_notifications_at_end: bool | None = None
    metadata: dict[str, dict[str, Any]] | None = None
    deliver_notifications: bool | None = None
    auto_tweet_at_beginning: bool | None = None
    auto_tweet_on_completion: bool | None = None
    auto_tweet_on_creation: bool | None = None
    auto_tweet_one_hour_before: bool | None = None
    backfill_date: str | None = None
    backfilled: bool | None = None
    body: str | None = Field(None, max_length=25000)
    components: dict[str, ComponentStatus] | None = None
    component_ids: list[str] | None = None
    scheduled_auto_transition: bool | None = None


class _IncidentBody(Strict):
    incident: _Incident


class _Component(Strict):
    description: str | None = None
    status: ComponentStatus | None = None
    name: str | None = None
    only_show_if_degraded: bool | None = None
    group_id: str | None = None
    showcase: bool | None = None
    start_date: str | None = None


class _ComponentBody(Strict):
    component: _Component


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class StatuspageStandin(Standin):
    name: str = "statuspage"
    api_key: str = "statuspage-test-key"
    page_id: str = "pg0standin01"
    # component id -> {"id", "name", "status", ...}
    components: dict[str, dict[str, Any]] = field(default_factory=dict)
    incidents: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add_component(self, component_id: str, name: str) -> None:
        self.components[component_id] = {
            "id": component_id, "name": name, "status": "operational", "page_id": self.page_id,
            "created_at": _now(), "updated_at": _now(), "group_id": None, "showcase": True,
        }

    def reset_state(self) -> None:
        self.incidents.clear()
        for c in self.components.values():
            c["status"] = "operational"

    def authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization", "") == f"OAuth {self.api_key}"

    def routes(self) -> list[tuple[str, str, Handler]]:
        base = "/v1/pages/{page_id}"
        return [
            ("POST", f"{base}/incidents", self._create),
            ("PATCH", f"{base}/incidents/{{incident_id}}", self._update),
            ("PUT", f"{base}/incidents/{{incident_id}}", self._update),
            ("GET", f"{base}/incidents/{{incident_id}}", self._get),
            ("PATCH", f"{base}/components/{{component_id}}", self._component),
            ("PUT", f"{base}/components/{{component_id}}", self._component),
            ("GET", f"{base}/components", self._components),
        ]

    def _page(self, request: web.Request) -> web.Response | None:
        if request.match_info["page_id"] != self.page_id:
            return self.error(404, "The requested resource could not be found.")
        return None

    def _apply(self, incident: dict[str, Any], change: _Incident) -> web.Response | None:
        kind = SCHEDULED if incident.get("scheduled_for") or change.scheduled_for else REALTIME
        if change.status is not None and change.status not in kind:
            return self.error(422, f"Status {change.status} is not valid for this incident")
        for cid in [*(change.components or {}), *(change.component_ids or [])]:
            if cid not in self.components:
                return self.error(404, f"Component {cid} could not be found")
        now = _now()
        for key in ("name", "status", "impact_override"):
            value = getattr(change, key)
            if value is not None:
                incident[key] = value
        for key in ("scheduled_for", "scheduled_until"):
            value = getattr(change, key)
            if value is not None:
                incident[key] = value.isoformat()
        ids = set(incident.get("component_ids", [])) | set(change.component_ids or [])
        for cid, status in (change.components or {}).items():
            ids.add(cid)
            self.components[cid].update(status=status, updated_at=now)
        incident["component_ids"] = sorted(ids)
        incident["components"] = [dict(self.components[c]) for c in sorted(ids)]
        if change.body is not None or change.status is not None:
            incident["incident_updates"].insert(0, {
                "id": secrets.token_hex(6), "incident_id": incident["id"],
                "status": incident["status"], "body": change.body or "", "created_at": now,
                "display_at": now, "updated_at": now,
            })
        if incident["status"] in ("resolved", "completed"):
            incident["resolved_at"] = now
        incident["updated_at"] = now
        return None

    async def _create(self, request: web.Request, body: Any) -> web.Response:
        missing = self._page(request)
        if missing is not None:
            return missing
        change = _IncidentBody.model_validate(body).incident
        if not change.name:
            return self.error(422, "Name can't be blank")
        iid = secrets.token_hex(6)
        scheduled = change.scheduled_for is not None
        incident: dict[str, Any] = {
            "id": iid, "page_id": self.page_id, "name": change.name,
            "status": change.status or ("scheduled" if scheduled else "investigating"),
            "created_at": _now(), "updated_at": _now(), "resolved_at": None,
            "shortlink": f"https://stspg.io/{iid}", "incident_updates": [],
            "impact": change.impact_override or "none",
        }
        refused = self._apply(incident, change)
        if refused is not None:
            return refused
        self.incidents[iid] = incident
        return web.json_response(incident, status=201)

    async def _update(self, request: web.Request, body: Any) -> web.Response:
        missing = self._page(request)
        if missing is not None:
            return missing
        incident = self.incidents.get(request.match_info["incident_id"])
        if incident is None:
            return self.error(404, "The requested resource could not be found.")
        refused = self._apply(incident, _IncidentBody.model_validate(body).incident)
        return refused or web.json_response(incident)

    async def _get(self, request: web.Request, body: Any) -> web.Response:
        incident = self.incidents.get(request.match_info["incident_id"])
        if self._page(request) is not None or incident is None:
            return self.error(404, "The requested resource could not be found.")
        return web.json_response(incident)

    async def _component(self, request: web.Request, body: Any) -> web.Response:
        component = self.components.get(request.match_info["component_id"])
        if self._page(request) is not None or component is None:
            return self.error(404, "The requested resource could not be found.")
        change = _ComponentBody.model_validate(body).component
        for key, value in change.model_dump(exclude_none=True).items():
            component[key] = value
        component["updated_at"] = _now()
        return web.json_response(component)

    async def _components(self, request: web.Request, body: Any) -> web.Response:
        missing = self._page(request)
        return missing or web.json_response(list(self.components.values()))
