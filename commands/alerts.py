"""Alerts from Alertmanager in Slack: the "Declare incident" button on a posted alert opens
the declare modal pre-filled; submitting it declares and links the incident to the alert."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.alerts import AlertService
from bot.errors import ChatError
from bot.incidents.models import Incident
from bot.services import Services
from bot.slack.alert_blocks import (
    ALERT_DECLARE_CALLBACK,
    DECLARE_FROM_ALERT_ACTION,
    alert_blocks,
    alert_declare_modal,
)
from commands.context import reports_errors
from commands.interactivity import read_declare_form
from commands.metrics import snapshot_on_declare


def build_alert_service(services: Services) -> AlertService:
    chat = services.chat
    bot_user: list[str] = []

    async def post(text: str, blocks: list[dict[str, object]]) -> str:
        channel_id = await chat.channel_id(services.settings.incidents_channel)
        try:
            return await chat.post_blocks(channel_id, text, blocks)
        except ChatError as exc:
            if exc.code != "not_in_channel":
                raise
            await chat._call("conversations.join", channel=channel_id)
            return await chat.post_blocks(channel_id, text, blocks)

    async def actor() -> str:
        """Auto-declared incidents are declared by the bot itself."""
        if not bot_user:
            auth = await chat._call("auth.test")
            bot_user.append(str(auth["user_id"]))
        return bot_user[0]

    async def after_declare(incident: Incident) -> None:
        if services.patterns is not None:
            await services.patterns.on_declare(incident)
        await snapshot_on_declare(services, incident)

    return AlertService(
        store=services.store,
        incidents=services.incidents,
        post=post,
        clock=services.clock,
        render=alert_blocks,
        actor=actor,
        auto_declare=services.settings.alertmanager_auto_declare,
        after_declare=after_declare,
    )


def register(app: AsyncApp, services: Services) -> None:
    alerts = build_alert_service(services)

    @app.action(DECLARE_FROM_ALERT_ACTION)
    @reports_errors(services)
    async def open_declare(ack: AsyncAck, body: dict[str, Any], client: Any) -> None:
        await ack()
        alert = await alerts.stored_alert(str(body["actions"][0]["value"]))
        existing = await alerts.incident_for(alert.fingerprint)
        if existing is not None and existing.is_active:
            await services.chat.post_ephemeral(
                body["channel"]["id"],
                body["user"]["id"],
                f"{existing.id} was already declared from this alert: <#{existing.channel_id}>",
            )
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
        result = await services.incidents.declare(declared_by=body["user"]["id"], **form)
        if fingerprint:
            await alerts.link(await alerts.stored_alert(fingerprint), result.incident)
        await alerts.after_declare(result.incident)
