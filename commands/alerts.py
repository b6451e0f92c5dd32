"""Alerts from Alertmanager in Slack: the "Declare incident" button on a posted alert opens
the declare modal pre-filled; submitting it declares and links the incident to the alert."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import Services
from bot.slack.alert_blocks import (
    ALERT_DECLARE_CALLBACK,
    DECLARE_FROM_ALERT_ACTION,
    alert_declare_modal,
)
from commands.context import dm_what_did_not_happen, reports_errors
from commands.interactivity import read_declare_form


def register(app: AsyncApp, services: Services) -> None:
    alerts = services.alerts

    @app.action(DECLARE_FROM_ALERT_ACTION)
    @reports_errors(services)
    async def open_declare(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        alert = await alerts.stored_alert(str(body["actions"][0]["value"]))
        existing = await alerts.incident_for(alert.fingerprint)
        if existing is not None and existing.is_active:
            user = body["user"]["id"]
            seen = await services.incidents.access.can_read(existing, user)
            where = f": <#{existing.channel_id}>" if seen else f" ({existing.public_label})"
            text = f"{existing.id} was already declared from this alert{where}"
            await services.chat.post_ephemeral(body["channel"]["id"], user, text)
            return
        await client.views_open(trigger_id=body["trigger_id"], view=alert_declare_modal(alert))

    @app.view(ALERT_DECLARE_CALLBACK)
    @reports_errors(services)
    async def declare_from_alert(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        form, errors = read_declare_form(view)
        if form is None:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        fingerprint = str(json.loads(view.get("private_metadata") or "{}").get("alert", ""))
        outcome = await services.flows.declare(declared_by=body["user"]["id"], **form)
        if fingerprint:
            await alerts.link(await alerts.stored_alert(fingerprint), outcome.incident)
        await dm_what_did_not_happen(services, body["user"]["id"], outcome)
