"""The button under a guard's question ("Resolve anyway", see bot/incidents/flows.py and
commands.context.confirmation_question): it claims the change the question kept in Redis
(bot/incidents/confirmations.py) and replays it, skipping the guards the user has now
confirmed. An expired or reused button is answered privately and changes nothing."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.incidents.confirmations import PendingChanges
from bot.services import Services
from bot.slack.blocks import CONFIRM_CHANGE_ACTION
from commands.context import first_click, reports_errors, warnings_text


def register(app: AsyncApp, services: Services) -> None:
    @app.action(CONFIRM_CHANGE_ACTION)
    @reports_errors(services)
    async def confirm_change(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        if not await first_click(services, body):
            return
        user = body["user"]["id"]
        pending = await PendingChanges(services.store.confirmations).take(
            str(body["actions"][0].get("value") or ""), user
        )
        outcome = await services.flows.confirmed(
            pending.change, pending.incident_id, user, pending.arguments
        )
        text = warnings_text(outcome).strip() or ":white_check_mark: Done."
        await respond(text=text, response_type="ephemeral", replace_original=True)
