"""Events that feed the timeline: messages (with edits and deletes, read by
bot.slack.message_events), channel changes as system events, pins and :pushpin:.

These are stored BEFORE Slack gets its 200: if Redis is down the bot answers 503 and Slack
delivers the event again later, so an acknowledged message is never lost."""

from __future__ import annotations

from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot.errors import StoreUnavailable
from bot.services import Services
from bot.slack.inbound import answer_before_bolt
from bot.slack.message_events import Deleted, Edited, Said, SystemNote, read_message_event
from bot.slack.middleware import Next, body_middleware

log = structlog.get_logger(__name__)

KEY_REACTIONS = {"pushpin", "round_pushpin"}
# event types recorded before the ack (the manifest subscribes to exactly these and the rest)
TIMELINE_EVENTS = ("message", "pin_added", "reaction_added")


async def record_timeline_event(
    services: Services, event: dict[str, Any], event_id: str | None = None
) -> None:
    """Record one Slack event on its incident's timeline, each in one round trip to Redis:
    a message once per message ts, anything else once per `event_id` (Slack's retries)."""
    timeline = services.timeline
    kind = event.get("type")
    if kind == "message":
        meaning = read_message_event(event)
        if isinstance(meaning, Said):
            await timeline.record_message(meaning.channel, meaning.user, meaning.text, meaning.ts)
        elif isinstance(meaning, Edited):
            await timeline.record_edit(
                meaning.channel, meaning.ts, meaning.text, meaning.user, event_id
            )
        elif isinstance(meaning, Deleted):
            await timeline.record_delete(meaning.channel, meaning.ts, event_id)
        elif isinstance(meaning, SystemNote):
            await timeline.record_system(
                meaning.channel, meaning.user, meaning.text, meaning.ts, event_id
            )
    elif kind == "pin_added":
        ts = _dict(_dict(event.get("item")).get("message")).get("ts")
        if isinstance(ts, str) and ts:
            await timeline.mark_key(
                str(event.get("channel_id", "")), ts, str(event.get("user", "")), "pinned",
                event_id,
            )
    elif kind == "reaction_added":
        item = _dict(event.get("item"))
        reaction = str(event.get("reaction"))
        if reaction in KEY_REACTIONS and item.get("type") == "message":
            await timeline.mark_key(
                str(item.get("channel", "")), str(item.get("ts", "")),
                str(event.get("user", "")), ":pushpin:", event_id,
            )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


async def _store_first(services: Services, body: dict[str, Any], event: dict[str, Any]
                       ) -> BoltResponse:
    # messages are stored once per ts; every other kind once per event_id, its marker
    # set by the same script as the append (a retry after a failure records it)
    event_id = body.get("event_id")
    try:
        await record_timeline_event(
            services, event, event_id if isinstance(event_id, str) and event_id else None
        )
    except StoreUnavailable:
        log.warning("timeline_event_deferred", event_id=event_id)
        return BoltResponse(status=503, body="store unavailable; retry")
    return BoltResponse(status=200, body="")


def register(app: AsyncApp, services: Services) -> None:
    async def plain_message(body: dict[str, Any]) -> BoltResponse | None:
        """A person's plain message, before Bolt: nothing but the middleware below would
        see it (no subtype, no bot: Bolt's self-event filter has nothing to drop)."""
        event = body.get("event")
        if (
            body.get("type") != "event_callback"
            or not isinstance(event, dict)
            or event.get("type") != "message"
            or event.get("subtype") is not None
            or event.get("bot_id")
        ):
            return None
        return await _store_first(services, body, event)

    answer_before_bolt(app, plain_message)

    @body_middleware(app)
    async def timeline_before_ack(body: dict[str, Any], next: Next) -> BoltResponse | None:
        event = _dict(body.get("event"))
        if body.get("type") != "event_callback" or event.get("type") not in TIMELINE_EVENTS:
            await next()
            return None
        return await _store_first(services, body, event)
