"""Opsgenie Alert API stand-in: POST /v2/alerts (create, de-duplicated by alias while open),
POST /v2/alerts/{identifier}/close and /acknowledge with identifierType=alias|id.
Auth: `Authorization: GenieKey <key>`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from sandbox.standins.base import Handler, Standin, Strict


class _Responder(Strict):
    type: Literal["team", "user", "escalation", "schedule"]
    name: str | None = None
    id: str | None = None
    username: str | None = None


class _CreateAlert(Strict):
    message: str = Field(min_length=1, max_length=130)
    alias: str | None = Field(default=None, max_length=512)
    description: str | None = Field(default=None, max_length=15000)
    responders: list[_Responder] | None = None
    visibleTo: list[_Responder] | None = None
    actions: list[str] | None = None
    tags: list[str] | None = None
    details: dict[str, str] | None = None
    entity: str | None = None
    source: str | None = None
    priority: Literal["P1", "P2", "P3", "P4", "P5"] | None = None
    user: str | None = None
    note: str | None = None


class _AlertAction(Strict):
    user: str | None = None
    source: str | None = None
    note: str | None = None


@dataclass
class OpsgenieStandin(Standin):
    name: str = "opsgenie"
    api_key: str = "opsgenie-test-key"
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)  # alias -> alert

    def reset_state(self) -> None:
        self.alerts.clear()

    def authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"GenieKey {self.api_key}"

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("POST", "/v2/alerts", self._create),
            ("POST", "/v2/alerts/{identifier}/close", self._close),
            ("POST", "/v2/alerts/{identifier}/acknowledge", self._ack),
        ]

    @staticmethod
    def _accepted() -> web.Response:
        return web.json_response(
            {"result": "Request will be processed", "took": 0.01, "requestId": str(uuid.uuid4())},
            status=202,
        )

    async def _create(self, request: web.Request, body: Any) -> web.Response:
        alert = _CreateAlert.model_validate(body)
        alias = alert.alias or alert.message
        existing = self.alerts.get(alias)
        if existing is not None and existing["status"] == "open":
            existing["count"] += 1
        else:
            self.alerts[alias] = {
                "status": "open", "count": 1, "message": alert.message,
                "priority": alert.priority or "P3",
                "responders": [r.model_dump(exclude_none=True) for r in alert.responders or []],
            }
        return self._accepted()

    async def _transition(self, request: web.Request, body: Any, status: str) -> web.Response:
        _AlertAction.model_validate(body or {})
        kind = request.query.get("identifierType", "id")
        if kind not in ("id", "alias", "tiny"):
            return self.error(422, "identifierType is invalid")
        alert = self.alerts.get(request.match_info["identifier"])
        if alert is not None and kind == "alias":
            alert["status"] = status
        return self._accepted()

    async def _close(self, request: web.Request, body: Any) -> web.Response:
        return await self._transition(request, body, "closed")

    async def _ack(self, request: web.Request, body: Any) -> web.Response:
        return await self._transition(request, body, "acked")
