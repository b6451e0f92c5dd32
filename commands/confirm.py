"""The button under a guard's question ("Resolve anyway", see bot/incidents/flows.py and
commands.context.confirmation_question): it replays the change, skipping the guards the
user has now confirmed."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

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
        asked = json.loads(body["actions"][0]["value"])
        outcome = await services.flows.confirmed(
            str(asked["change"]),
            str(asked["incident"]),
            body["user"]["id"],
            {str(k): str(v) for k, v in dict(asked.get("arguments") or {}).items()},
        )
        text = warnings_text(outcome).strip() or ":white_check_mark: Done."
        await respond(text=text, response_type="ephemeral", replace_original=True)
