"""PagerDuty Events API v2 stand-in: POST /v2/enqueue (trigger / acknowledge / resolve by
dedup_key). The routing key travels in the body; an unknown one is refused (400, as the
Events API answers an invalid event)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from sandbox.standins.base import Handler, Standin, Strict


class _Payload(Strict):
    summary: str = Field(min_length=1, max_length=1024)
    source: str = Field(min_length=1)
    severity: Literal["critical", "error", "warning", "info"]
    timestamp: str | None = None
    component: str | None = None
    group: str | None = None
    class_: str | None = Field(default=None, alias="class")
    custom_details: dict[str, Any] | None = None


class _Link(Strict):
    href: str
    text: str | None = None


class _Event(Strict):
    routing_key: str
    event_action: Literal["trigger", "acknowledge", "resolve"]
    dedup_key: str | None = Field(default=None, max_length=255)
    payload: _Payload | None = None
    links: list[_Link] | None = None
    images: list[dict[str, str]] | None = None
    client: str | None = None
    client_url: str | None = None


@dataclass
class PagerDutyStandin(Standin):
    name: str = "pagerduty"
    routing_keys: set[str] = field(default_factory=lambda: {"R0UTINGKEY0000000000000000000001"})
    # dedup_key -> {"status": triggered|acknowledged|resolved, "routing_key", "summary", ...}
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def reset_state(self) -> None:
        self.alerts.clear()

    def authorized(self, request: web.Request) -> bool:
        return True  # the routing key is checked in the body

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [("POST", "/v2/enqueue", self._enqueue)]

    def triggered(self) -> list[str]:
        return [k for k, a in self.alerts.items() if a["triggers"] > 0]

    async def _enqueue(self, request: web.Request, body: Any) -> web.Response:
        event = _Event.model_validate(body)
        if event.routing_key not in self.routing_keys:
            return web.json_response(
                {"status": "invalid event", "message": "Event object is invalid",
                 "errors": ["Invalid routing key"]},
                status=400,
            )
        if event.event_action == "trigger":
            if event.payload is None:
                return web.json_response(
                    {"status": "invalid event", "message": "Event object is invalid",
                     "errors": ["'payload' is missing or blank"]},
                    status=400,
                )
            key = event.dedup_key or f"auto-{len(self.alerts) + 1}"
            alert = self.alerts.setdefault(
                key, {"status": "triggered", "triggers": 0, "routing_key": event.routing_key}
            )
            if alert["status"] == "resolved":  # a new alert after resolve, as PagerDuty does
                alert.update(status="triggered")
            alert["triggers"] += 1
            alert["summary"] = event.payload.summary
            alert["severity"] = event.payload.severity
            return web.json_response(
                {"status": "success", "message": "Event processed", "dedup_key": key}, status=202
            )
        if not event.dedup_key:
            return web.json_response(
                {"status": "invalid event", "message": "Event object is invalid",
                 "errors": ["'dedup_key' is missing or blank"]},
                status=400,
            )
        known = self.alerts.get(event.dedup_key)
        if known is not None and known["routing_key"] == event.routing_key:
            known["status"] = "acknowledged" if event.event_action == "acknowledge" else "resolved"
        return web.json_response(
            {"status": "success", "message": "Event processed", "dedup_key": event.dedup_key},
            status=202,
        )
