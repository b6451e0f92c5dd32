"""Events that change state other than the timeline's messages: a member joining an
incident channel is written on its timeline BEFORE Slack gets its 200, as messages are
(commands/timeline_events.py). If Redis is down the bot answers 503 and Slack delivers the
event again later, so an acknowledged join is never lost. The catch-up for the newcomer is
sent after the ack, once per event."""

from __future__ import annotations

from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot.errors import StoreUnavailable
from bot.mrkdwn import mention
from bot.services import Services
from bot.slack.middleware import Next, body_middleware
from commands.context import reports_errors

log = structlog.get_logger(__name__)

# event types whose state change is stored before the ack (app.py's generic retry filter
# leaves them alone: their event_id is marked seen only once they are recorded)
STATE_EVENTS = ("member_joined_channel",)
REDIS_DOWN = BoltResponse(status=503, body="store unavailable; retry")


async def record_join(services: Services, event: dict[str, Any]) -> bool:
    """`<@user> joined the channel` on the incident's timeline; False outside incidents."""
    user, channel = str(event.get("user") or ""), str(event.get("channel") or "")
    if not user or not channel:
        return False
    ts = str(event.get("event_ts") or "")
    return await services.timeline.record_system(
        channel, user, f"{mention(user)} joined the channel", ts
    )


def register(app: AsyncApp, services: Services) -> None:
    @body_middleware(app)
    async def state_before_ack(body: dict[str, Any], next: Next) -> BoltResponse | None:
        event = body.get("event")
        if (
            body.get("type") != "event_callback"
            or not isinstance(event, dict)
            or event.get("type") not in STATE_EVENTS
        ):
            await next()
            return None
        # someone is in the channel now: the read rule asks Slack again (bot/incidents/access.py)
        services.incidents.access.forget(str(event.get("channel") or ""))
        seen = str(body["event_id"]) if body.get("event_id") else None
        try:
            if seen and await services.store.event_seen(seen):
                log.info("event_retry_dropped", event_id=body.get("event_id"))
                return BoltResponse(status=200, body="")
            await record_join(services, event)
            if seen:
                await services.store.first_event(seen)
        except StoreUnavailable:
            log.warning("state_event_deferred", event_id=body.get("event_id"))
            return REDIS_DOWN
        await next()  # the listener below runs after the ack
        return None

    @app.event("member_joined_channel")
    @reports_errors(services, tell_user=False)
    async def joined(event: dict[str, Any]) -> None:
        """Someone joining the war room gets the catch-up (/incident summary) privately."""
        incident = await services.incidents.for_channel(event.get("channel", ""))
        user = event.get("user", "")
        if incident is None or not user or user in incident.roles.values():
            return
        if services.postmortems is None:
            return
        summary = await services.postmortems.summary(incident.id)
        await services.chat.post_ephemeral(
            incident.channel_id, user, f":wave: Welcome to the war room.\n{summary}"
        )
