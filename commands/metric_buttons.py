"""The "Record as impact start" button under the metrics' impact start (the Reopen button
under a relapse is the lifecycle's own, commands/lifecycle.py)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.mrkdwn import when
from bot.services import Services
from bot.slack.blocks import IMPACT_START_ACTION
from commands.context import first_click, reports_errors


def register(app: AsyncApp, services: Services) -> None:
    @app.action(IMPACT_START_ACTION)
    @reports_errors(services)
    async def record_impact_start(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        if not await first_click(services, body):
            return
        offer = json.loads(body["actions"][0]["value"])
        incident = await services.incidents.readable(str(offer["incident"]), body["user"]["id"])
        at = datetime.fromisoformat(str(offer["at"]))
        await services.incidents.record_impact_start(
            incident, at, body["user"]["id"], why=f"metrics: {offer['service']} crossed HIGH"
        )
        await respond(
            text=f":white_check_mark: Impact start recorded as {when(at)}; "
            "time to detect counts from it.",
            response_type="ephemeral",
            replace_original=False,
        )

