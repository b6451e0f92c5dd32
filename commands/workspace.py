"""What Slack tells the app about itself, and the 200 for everything the bot does not act on.

Slack disables an app's event subscriptions when too many deliveries go unanswered, and
shows a warning on a click or a modal that gets no 200, so nothing Slack may send is left
to Bolt's 404: events and interactions no listener takes are acknowledged and logged."""

from __future__ import annotations

from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot.services import Services
from bot.slack.middleware import Next, body_middleware
from commands.context import reports_errors

log = structlog.get_logger(__name__)

# interactions Slack may send that no listener takes (a shortcut or a modal's close the
# bot does not define, a link button) are answered 200 with nothing to do
ACKNOWLEDGED_INTERACTIONS = frozenset(
    {
        "block_actions",
        "view_submission",
        "view_closed",
        "shortcut",
        "message_action",
        "interactive_message",
        "workflow_step_edit",
    }
)


def acknowledge_unhandled(body: dict[str, Any]) -> BoltResponse | None:
    """Bolt found no listener: the answer Slack expects, or None for a request that is not
    Slack's (Bolt's 404 stands)."""
    kind = body.get("type")
    if kind == "event_callback":
        event = body.get("event")
        event_type = event.get("type") if isinstance(event, dict) else None
        log.info("slack_event_not_acted_on", event_type=str(event_type))
        return BoltResponse(status=200, body="")
    if kind in ("block_suggestion", "dialog_suggestion"):
        log.info("slack_options_request_not_acted_on", action_id=str(body.get("action_id")))
        return BoltResponse(status=200, body={"options": []})
    if isinstance(kind, str) and kind in ACKNOWLEDGED_INTERACTIONS:
        view = body.get("view")
        callback = body.get("callback_id")
        if callback is None and isinstance(view, dict):
            callback = view.get("callback_id")
        log.info("slack_interaction_not_acted_on", kind=kind, callback_id=str(callback))
        return BoltResponse(status=200, body="")
    log.warning("slack_request_unhandled", type=str(kind), command=str(body.get("command")))
    return None


def register(app: AsyncApp, services: Services) -> None:
    @body_middleware(app)
    async def events_rate_limited(body: dict[str, Any], next: Next) -> BoltResponse | None:
        """Slack is dropping this workspace's events (over 30,000 an hour): say so loudly."""
        if body.get("type") != "app_rate_limited":
            await next()
            return None
        log.error(
            "slack_events_rate_limited",
            team_id=str(body.get("team_id")),
            minute_rate_limited=str(body.get("minute_rate_limited")),
            consequence="Slack drops this workspace's events until the rate falls",
        )
        return BoltResponse(status=200, body="")

    @body_middleware(app)
    async def buttons_carry_values(body: dict[str, Any], next: Next) -> BoltResponse | None:
        """Every button the bot posts carries a value (the incident or item it is about) or
        is a link; a click without either is not one of ours: acknowledged, nothing done."""
        actions = body.get("actions") if body.get("type") == "block_actions" else None
        first = actions[0] if isinstance(actions, list) and actions else {}
        if (
            isinstance(first, dict)
            and first.get("type") == "button"
            and "value" not in first
            and "url" not in first
        ):
            log.info("button_without_value_ignored", action_id=str(first.get("action_id")))
            return BoltResponse(status=200, body="")
        await next()
        return None

    @app.event("app_uninstalled")
    @reports_errors(services, tell_user=False)
    async def uninstalled(body: dict[str, Any]) -> None:
        await services.chat.stop_posting(f"app_uninstalled by workspace {body.get('team_id')}")

    @app.event("tokens_revoked")
    @reports_errors(services, tell_user=False)
    async def tokens_revoked(body: dict[str, Any], event: dict[str, Any]) -> None:
        tokens = event.get("tokens")
        bots = tokens.get("bot") if isinstance(tokens, dict) else None
        if bots:
            await services.chat.stop_posting(
                f"tokens_revoked (bot {', '.join(map(str, bots))}) "
                f"by workspace {body.get('team_id')}"
            )
        else:  # the bot uses no user tokens, so a person revoking theirs changes nothing
            log.info("user_tokens_revoked", team_id=str(body.get("team_id")))
