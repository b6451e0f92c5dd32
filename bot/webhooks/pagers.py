"""Pagers calling in: PagerDuty webhooks v3 (signed, X-PagerDuty-Signature, HMAC-SHA256 with
PAGERDUTY_WEBHOOK_SECRET) and Opsgenie outgoing webhooks (a bearer token the webhook sends,
OPSGENIE_WEBHOOK_TOKEN). A page the bot did not send becomes an alert in the incidents
channel with a Declare button (or is declared, like critical Alertmanager alerts, when
ALERTMANAGER_AUTO_DECLARE is on); an acknowledgement on the pager side goes on the timeline
of the incident it belongs to. Each delivery is handled once."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import UTC, datetime
from typing import Any

import structlog
from aiohttp import web

from bot.alerts import Alert, AlertmanagerPayload, AlertService
from bot.clock import Clock
from bot.errors import IncidentBotError, NotFound
from bot.incidents.models import Incident
from bot.mrkdwn import escape
from bot.store import keys
from bot.store.redis_store import RedisStore
from bot.timeline.models import EventKind, TimelineEvent

log = structlog.get_logger(__name__)

PAGERDUTY_PATH = "/webhooks/pagerduty"
OPSGENIE_PATH = "/webhooks/opsgenie"
OURS = re.compile(r"^(INC-[0-9A-Za-z-]+):")  # dedup keys the bot gave its own pages
MAX_BODY = 512 * 1024
SEEN_TTL = 7 * 24 * 3600  # the pagers re-deliver for hours; a week is plenty


def pagerduty_signature_valid(secret: str, body: bytes, header: str) -> bool:
    expected = "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, s.strip()) for s in header.split(","))


class PagerEvents:
    """What the webhooks do, independent of the HTTP framing."""

    def __init__(self, *, alerts: AlertService, store: RedisStore, clock: Clock) -> None:
        self.alerts = alerts
        self.store = store
        self.clock = clock

    async def _incident_for(self, key: str, fingerprint: str) -> Incident | None:
        ours = OURS.match(key or "")
        if ours:
            try:
                return await self.store.get_incident(ours.group(1))
            except NotFound:
                return None
        return await self.alerts.incident_for(fingerprint)

    async def acknowledged(
        self, product: str, key: str, fingerprint: str, by: str
    ) -> str | None:
        incident = await self._incident_for(key, fingerprint)
        if incident is None:
            return None
        await self.store.append_event(
            incident.id,
            TimelineEvent(
                kind=EventKind.PAGE,
                at=self.clock(),
                text=f"Page acknowledged in {product}" + (f" by {escape(by)}" if by else ""),
                data={"pager": product, "action": "acknowledge"},
            ),
        )
        return incident.id

    async def alert(self, product: str, key: str, alert: Alert) -> dict[str, Any]:
        if OURS.match(key or ""):
            return {"ignored": "a page the bot sent itself"}
        payload = AlertmanagerPayload(
            version="4", status=alert.status, receiver=product.lower(),
            groupKey=f"{product.lower()}:{alert.fingerprint}", alerts=[alert],
        )
        return (await self.alerts.handle(payload)).as_dict()


def _pd_alert(data: dict[str, Any], status: str, occurred: str) -> Alert:
    urgency = str(data.get("urgency") or "high")
    priority = str(((data.get("priority") or {}).get("summary")) or "")
    severity = "critical" if priority in ("P1", "SEV-1") or urgency == "high" else "warning"
    service = str((data.get("service") or {}).get("summary") or "")
    return Alert(
        status="firing" if status == "triggered" else "resolved",
        labels={"alertname": f"PagerDuty {service}".strip(), "severity": severity,
                "service": service},
        annotations={
            "summary": str(data.get("title") or "PagerDuty incident"),
            "description": str(data.get("html_url") or ""),
        },
        startsAt=datetime.fromisoformat(str(data.get("created_at") or occurred)),
        endsAt=datetime.fromisoformat(occurred) if status == "resolved" else None,
        generatorURL=str(data.get("html_url") or ""),
        fingerprint=f"pagerduty-{data.get('id')}",
    )


def pagerduty_routes(events: PagerEvents, secret: str | None) -> list[web.RouteDef]:
    async def receive(request: web.Request) -> web.Response:
        if not secret:
            return web.json_response(
                {"ok": False, "error": "not configured: set PAGERDUTY_WEBHOOK_SECRET"}, status=503
            )
        body = await request.read()
        if len(body) > MAX_BODY:
            return web.json_response({"ok": False, "error": "payload too large"}, status=413)
        if not pagerduty_signature_valid(
            secret, body, request.headers.get("X-PagerDuty-Signature", "")
        ):
            return web.json_response({"ok": False, "error": "invalid signature"}, status=401)
        try:
            event = json.loads(body)["event"]
            kind = str(event["event_type"])
            event_id = str(event["id"])
            data = event.get("data") or {}
            occurred = str(event.get("occurred_at") or events.clock().isoformat())
        except (ValueError, KeyError, TypeError):
            return web.json_response({"ok": False, "error": "invalid payload"}, status=400)
        try:
            if not await events.store.first_time(
                keys.pager_event_seen("pagerduty", event_id), SEEN_TTL
            ):
                return web.json_response({"ok": True, "duplicate": True})
            result: dict[str, Any] = {"ok": True}
            key = str(data.get("incident_key") or "")
            fingerprint = f"pagerduty-{data.get('id')}"
            if kind == "incident.acknowledged":
                agent = str((event.get("agent") or {}).get("summary") or "")
                result["noted"] = await events.acknowledged("PagerDuty", key, fingerprint, agent)
            elif kind in ("incident.triggered", "incident.resolved"):
                status = "triggered" if kind.endswith("triggered") else "resolved"
                result.update(await events.alert("PagerDuty", key,
                                                 _pd_alert(data, status, occurred)))
            else:
                result["ignored"] = kind
        except IncidentBotError as exc:
            log.warning("pagerduty_webhook_failed", reason=exc.message)
            return web.json_response({"ok": False, "error": exc.message}, status=503)
        except ValueError as exc:
            return web.json_response({"ok": False, "error": f"invalid payload: {exc}"},
                                     status=400)
        return web.json_response(result)

    return [web.post(PAGERDUTY_PATH, receive)]


def _og_alert(alert: dict[str, Any], firing: bool, now: datetime) -> Alert:
    priority = str(alert.get("priority") or "P3")
    created = alert.get("createdAt")
    starts = (
        datetime.fromtimestamp(int(created) / 1000, UTC)
        if isinstance(created, int | float) else now
    )
    return Alert(
        status="firing" if firing else "resolved",
        labels={"alertname": f"Opsgenie {alert.get('entity') or ''}".strip(),
                "severity": "critical" if priority in ("P1", "P2") else "warning"},
        annotations={"summary": str(alert.get("message") or "Opsgenie alert"),
                     "description": str(alert.get("description") or "")},
        startsAt=starts,
        endsAt=now if not firing else None,
        fingerprint=f"opsgenie-{alert.get('alertId')}",
    )


def opsgenie_routes(events: PagerEvents, token: str | None) -> list[web.RouteDef]:
    async def receive(request: web.Request) -> web.Response:
        if not token:
            return web.json_response(
                {"ok": False, "error": "not configured: set OPSGENIE_WEBHOOK_TOKEN"}, status=503
            )
        given = request.headers.get("Authorization", "").partition(" ")[2].strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return web.json_response({"ok": False, "error": "unauthorized"}, status=401)
        try:
            doc = json.loads(await request.read())
            action = str(doc["action"])
            alert = doc["alert"]
            alias = str(alert.get("alias") or "")
            alert_id = str(alert["alertId"])
        except (ValueError, KeyError, TypeError):
            return web.json_response({"ok": False, "error": "invalid payload"}, status=400)
        try:
            seen = keys.pager_event_seen(
                "opsgenie", f"{alert_id}:{action}:{alert.get('updatedAt', '')}"
            )
            if not await events.store.first_time(seen, SEEN_TTL):
                return web.json_response({"ok": True, "duplicate": True})
            result: dict[str, Any] = {"ok": True}
            if action == "Acknowledge":
                by = str(alert.get("username") or doc.get("source", {}).get("name") or "")
                result["noted"] = await events.acknowledged(
                    "Opsgenie", alias, f"opsgenie-{alert_id}", by
                )
            elif action in ("Create", "Close"):
                og = _og_alert(alert, action == "Create", events.clock())
                result.update(await events.alert("Opsgenie", alias, og))
            else:
                result["ignored"] = action
        except IncidentBotError as exc:
            return web.json_response({"ok": False, "error": exc.message}, status=503)
        except ValueError as exc:
            return web.json_response({"ok": False, "error": f"invalid payload: {exc}"},
                                     status=400)
        return web.json_response(result)

    return [web.post(OPSGENIE_PATH, receive)]
