"""Events that feed the timeline: messages (with edits and deletes), pins and :pushpin:.

These are stored BEFORE Slack gets its 200: if Redis is down the bot answers 503 and Slack
delivers the event again later, so an acknowledged message is never lost."""

from __future__ import annotations

from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot.errors import StoreUnavailable
from bot.services import Services
from bot.store import keys
from commands.context import reports_errors

log = structlog.get_logger(__name__)

IGNORED_SUBTYPES = {
    "bot_message",
    "channel_join",
    "channel_leave",
    "channel_topic",
    "channel_purpose",
    "channel_name",
    "pinned_item",
}
KEY_REACTIONS = {"pushpin", "round_pushpin"}
# event types recorded before the ack (the manifest subscribes to exactly these and the rest)
TIMELINE_EVENTS = ("message", "pin_added", "reaction_added")


async def record_timeline_event(services: Services, event: dict[str, Any]) -> None:
    timeline = services.timeline
    kind = event.get("type")
    if kind == "message":
        subtype = event.get("subtype")
        channel = event.get("channel", "")
        if subtype == "message_changed":
            message = event.get("message", {})
            if not message.get("bot_id"):
                await timeline.record_edit(
                    channel, message.get("ts", ""), message.get("text", ""), message.get("user")
                )
        elif subtype == "message_deleted":
            await timeline.record_delete(channel, event.get("deleted_ts", ""))
        elif subtype not in IGNORED_SUBTYPES and not event.get("bot_id") and event.get("user"):
            await timeline.record_message(
                channel, event["user"], event.get("text", ""), event["ts"]
            )
    elif kind == "pin_added":
        ts = event.get("item", {}).get("message", {}).get("ts")
        if ts:
            await timeline.mark_key(
                event.get("channel_id", ""), ts, event.get("user", ""), "pinned"
            )
    elif kind == "reaction_added":
        item = event.get("item", {})
        if event.get("reaction") in KEY_REACTIONS and item.get("type") == "message":
            await timeline.mark_key(
                item.get("channel", ""), item.get("ts", ""), event.get("user", ""), ":pushpin:"
            )


def register(app: AsyncApp, services: Services) -> None:
    @app.middleware
    async def timeline_before_ack(body: dict[str, Any], next: Any) -> BoltResponse | None:
        event = body.get("event") or {}
        if body.get("type") != "event_callback" or event.get("type") not in TIMELINE_EVENTS:
            await next()
            return None
        # plain messages are stored once per ts by the store itself; other kinds append,
        # so a retried event_id is dropped (marked only after it was recorded)
        seen = None
        if body.get("event_id") and not (event["type"] == "message" and not event.get("subtype")):
            seen = keys.seen_event(str(body["event_id"]))
        try:
            if seen and await services.store.exists(seen):
                return BoltResponse(status=200, body="")
            await record_timeline_event(services, event)
            if seen:
                await services.store.first_time(seen)
        except StoreUnavailable:
            log.warning("timeline_event_deferred", event_id=body.get("event_id"))
            return BoltResponse(status=503, body="store unavailable; retry")
        return BoltResponse(status=200, body="")

    @app.event("member_joined_channel")
    @reports_errors(services, tell_user=False)
    async def joined(event: dict[str, Any]) -> None:
        """Someone joining the war room gets the catch-up (/incident summary) privately."""
        incident = await services.incidents.for_channel(event.get("channel", ""))
        user = event.get("user", "")
        if incident is None or not user or user in incident.roles.values():
            return
        summary = await services.postmortems.summary(incident.id)
        await services.chat.post_ephemeral(
            incident.channel_id, user, f":wave: Welcome to the war room.\n{summary}"
        )
