"""Events that feed the timeline: messages (with edits and deletes), pins and :pushpin:."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.services import Services
from commands.context import reports_errors

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


def register(app: AsyncApp, services: Services) -> None:
    timeline = services.timeline

    @app.event("message")
    @reports_errors(services, tell_user=False)
    async def message_in_channel(event: dict[str, Any]) -> None:
        subtype = event.get("subtype")
        channel = event.get("channel", "")
        if subtype == "message_changed":
            message = event.get("message", {})
            if message.get("bot_id"):
                return
            await timeline.record_edit(
                channel, message.get("ts", ""), message.get("text", ""), message.get("user")
            )
        elif subtype == "message_deleted":
            await timeline.record_delete(channel, event.get("deleted_ts", ""))
        elif subtype in IGNORED_SUBTYPES or event.get("bot_id") or not event.get("user"):
            return
        else:
            await timeline.record_message(
                channel, event["user"], event.get("text", ""), event["ts"]
            )

    @app.event("pin_added")
    @reports_errors(services, tell_user=False)
    async def pinned(event: dict[str, Any]) -> None:
        item = event.get("item", {})
        message = item.get("message", {})
        ts = message.get("ts")
        if ts:
            await timeline.mark_key(
                event.get("channel_id", ""), ts, event.get("user", ""), "pinned"
            )

    @app.event("reaction_added")
    @reports_errors(services, tell_user=False)
    async def reacted(event: dict[str, Any]) -> None:
        item = event.get("item", {})
        if event.get("reaction") in KEY_REACTIONS and item.get("type") == "message":
            await timeline.mark_key(
                item.get("channel", ""), item.get("ts", ""), event.get("user", ""), ":pushpin:"
            )

    @app.event("member_joined_channel")
    @reports_errors(services, tell_user=False)
    async def joined(event: dict[str, Any]) -> None:
        incident = await services.incidents.for_channel(event.get("channel", ""))
        user = event.get("user", "")
        if incident is None or not user or user in incident.roles.values():
            return
        await services.chat.post_ephemeral(
            incident.channel_id, user, await services.incidents.catch_up(incident)
        )
