"""Alertmanager in: the webhook v4 payload, posting firing alerts once, declaring from an
alert (by a person via the button, or automatically for critical alerts) and noting a
resolved alert on the incident declared from it. No Slack here: the chat port and a
renderer are passed in."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.clock import Clock
from bot.errors import NotFound
from bot.incidents.flows import IncidentFlows
from bot.incidents.models import Incident, Severity
from bot.mrkdwn import escape
from bot.store.redis_store import RedisStore
from bot.timeline.models import EventKind, TimelineEvent

log = structlog.get_logger(__name__)

ALERTMANAGER_PATH = "/alertmanager"
POSTED_TTL_SECONDS = 7 * 24 * 3600
LINK_TTL_SECONDS = 90 * 24 * 3600
MAX_BODY_BYTES = 1024 * 1024
SEVERITY_OF_LABEL = {
    "critical": Severity.SEV1,
    "page": Severity.SEV1,
    "error": Severity.SEV2,
    "major": Severity.SEV2,
    "warning": Severity.SEV3,
    "info": Severity.SEV4,
}


class Alert(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    # Alertmanager's field names
    startsAt: datetime
    endsAt: datetime | None = None
    generatorURL: str = ""
    fingerprint: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "unnamed alert")

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "")

    @property
    def is_critical(self) -> bool:
        return self.severity.lower() in ("critical", "page")

    @property
    def summary(self) -> str:
        return self.annotations.get("summary") or self.annotations.get("description") or self.name

    @property
    def incident_severity(self) -> Severity:
        return SEVERITY_OF_LABEL.get(self.severity.lower(), Severity.SEV3)

    @property
    def starts_key(self) -> str:
        return self.startsAt.isoformat()

    def declare_title(self) -> str:
        title = " ".join(self.summary.split()) or self.name
        return title[:150]

    def declare_description(self) -> str:
        """The annotations (description first), then where the alert came from."""
        lines: list[str] = []
        if "description" in self.annotations:
            lines.append(self.annotations["description"])
        lines += [
            f"{k}: {v}"
            for k, v in sorted(self.annotations.items())
            if k not in ("description", "summary")
        ]
        severity = self.severity or "no severity"
        lines.append(f"Alert {self.name} ({severity}) since {self.starts_key}")
        if self.generatorURL:
            lines.append(self.generatorURL)
        return "\n".join(lines)[:3000]


class AlertmanagerPayload(BaseModel):
    """Alertmanager's webhook payload, version 4."""

    model_config = ConfigDict(extra="ignore")

    version: Literal["4"]
    status: Literal["firing", "resolved"]
    receiver: str
    groupKey: str
    alerts: list[Alert] = Field(min_length=1)
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""
    truncatedAlerts: int = 0


def parse_payload(raw: bytes) -> AlertmanagerPayload:
    """The payload, or ValueError with one line saying what is wrong."""
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"body is not JSON: {exc}") from None
    try:
        return AlertmanagerPayload.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "payload"
        raise ValueError(f"{where}: {err['msg']}") from None


AlertRenderer = Callable[[Alert], tuple[str, list[dict[str, object]]]]
Actor = Callable[[], Awaitable[str]]
# posts a message to the incidents channel; returns its ts
Post = Callable[[str, list[dict[str, object]]], Awaitable[str]]


@dataclass
class AlertReport:
    posted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    declared: list[str] = field(default_factory=list)
    noted: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "posted": self.posted,
            "duplicates": self.duplicates,
            "declared": self.declared,
            "noted": self.noted,
        }


class AlertService:
    def __init__(
        self,
        *,
        store: RedisStore,
        flows: IncidentFlows,
        post: Post,
        clock: Clock,
        render: AlertRenderer,
        actor: Actor,
        auto_declare: bool = False,
    ) -> None:
        self.store = store
        self.flows = flows
        self.post = post
        self.clock = clock
        self.render = render
        self.actor = actor
        self.auto_declare = auto_declare

    async def handle(self, payload: AlertmanagerPayload) -> AlertReport:
        report = AlertReport()
        for alert in payload.alerts:
            with structlog.contextvars.bound_contextvars(alert=alert.fingerprint):
                if alert.status == "firing":
                    await self._firing(alert, report)
                else:
                    await self._resolved(alert, report)
        return report

    async def _firing(self, alert: Alert, report: AlertReport) -> None:
        alerts = self.store.alerts
        await alerts.remember(alert.fingerprint, alert.model_dump_json())
        if not await alerts.claim_post(alert.fingerprint, alert.starts_key):
            report.duplicates.append(alert.fingerprint)
            return
        try:
            text, blocks = self.render(alert)
            await self.post(text, blocks)
        except Exception:
            await alerts.release_post(alert.fingerprint, alert.starts_key)
            raise
        report.posted.append(alert.fingerprint)
        log.info("alert_posted", alertname=alert.name, severity=alert.severity)
        if self.auto_declare and alert.is_critical:
            incident = await self.declare(alert, declared_by=await self.actor())
            report.declared.append(incident.id)

    async def declare(self, alert: Alert, *, declared_by: str) -> Incident:
        """Declare an incident for the alert (unless one declared from it is still open)."""
        existing = await self.incident_for(alert.fingerprint)
        if existing is not None and existing.is_active:
            return existing
        outcome = await self.flows.declare(
            title=alert.declare_title(),
            declared_by=declared_by,
            severity=alert.incident_severity,
            description=alert.declare_description(),
        )
        await self.link(alert, outcome.incident)
        return outcome.incident

    async def link(self, alert: Alert, incident: Incident) -> None:
        """Remember which incident was declared from the alert, and say so on its timeline."""
        await self.store.alerts.link_incident(alert.fingerprint, incident.id)
        await self.store.append_event(
            incident.id,
            TimelineEvent(
                kind=EventKind.ALERT,
                at=self.clock(),
                text=f"Declared from alert {escape(alert.name)} "
                f"({escape(alert.severity or 'no severity')}): {escape(alert.summary)}",
                data={"fingerprint": alert.fingerprint, "alertname": alert.name},
            ),
        )
        with structlog.contextvars.bound_contextvars(incident_id=incident.id):
            log.info("alert_linked", alertname=alert.name)

    async def stored_alert(self, fingerprint: str) -> Alert:
        raw = await self.store.alerts.payload(fingerprint)
        if raw is None:
            raise NotFound("That alert is no longer known to the bot; declare with /incident.")
        return Alert.model_validate_json(raw)

    async def incident_for(self, fingerprint: str) -> Incident | None:
        incident_id = await self.store.alerts.incident_id(fingerprint)
        if incident_id is None:
            return None
        try:
            return await self.store.get_incident(str(incident_id))
        except NotFound:
            return None

    async def _resolved(self, alert: Alert, report: AlertReport) -> None:
        incident = await self.incident_for(alert.fingerprint)
        if incident is None or not incident.is_active:
            return
        ends = alert.endsAt.isoformat() if alert.endsAt else alert.starts_key
        if not await self.store.alerts.claim_resolved(alert.fingerprint, ends):
            return
        await self.store.append_event(
            incident.id,
            TimelineEvent(
                kind=EventKind.ALERT,
                at=self.clock(),
                text=f"Alert resolved: {escape(alert.name)}: {escape(alert.summary)}",
                data={"fingerprint": alert.fingerprint, "alertname": alert.name},
            ),
        )
        report.noted.append(incident.id)
        with structlog.contextvars.bound_contextvars(incident_id=incident.id):
            log.info("alert_resolved_noted", alertname=alert.name)
