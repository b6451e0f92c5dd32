"""What a subcommand handler gets: who, where, the parsed text and how to answer."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from slack_bolt.kwargs_injection.async_args import AsyncArgs
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import (
    ConfirmationNeeded,
    IncidentBotError,
    UsageError,
)
from bot.incidents.confirmations import PendingChanges
from bot.incidents.flows import Outcome
from bot.incidents.models import Incident
from bot.parsing import ParsedText
from bot.ports import ChatGateway
from bot.registry import CommandRegistry, Subcommand, outcome_of
from bot.services import Services
from bot.slack.blocks import confirm_blocks

Respond = Callable[..., Awaitable[Any]]
Listener = Callable[..., Awaitable[None]]
log = structlog.get_logger(__name__)


@dataclass
class CommandContext:
    services: Services
    user_id: str
    channel_id: str
    trigger_id: str | None
    parsed: ParsedText
    respond: Respond
    client: AsyncWebClient

    async def incident(self) -> Incident:
        """The incident the command is about (`id:` or the channel's), when the caller may
        read it; a private one's non-members get its label only (bot/incidents/access.py)."""
        incidents = self.services.incidents
        found = await incidents.target(self.channel_id, self.parsed.options.get("id"))
        return await incidents.access.require_read(found, self.user_id)

    async def followed_incident(self) -> Incident:
        """The incident to follow or unfollow, whoever asks: following a private incident
        from outside its channel only ever brings its label and status, which its public
        announcement shows anyway. Answer with its id only."""
        return await self.services.incidents.target(self.channel_id, self.parsed.options.get("id"))

    async def reply(self, text: str) -> None:
        """An answer only the caller sees."""
        await self.respond(text=text, response_type="ephemeral", replace_original=False)

    async def answer(self, outcome: Outcome) -> None:
        """After a change whose result shows in the channel: speak only if a step failed."""
        if outcome.warnings:
            await self.reply(warnings_text(outcome).strip())


def warnings_text(outcome: Outcome) -> str:
    """What did not happen after a change that did ("" when everything did)."""
    if not outcome.warnings:
        return ""
    return "\n:warning: It is done, but I " + "; ".join(outcome.warnings) + "."


def declared_text(outcome: Outcome) -> str:
    inc = outcome.incident
    return (
        f":rotating_light: Declared *{inc.id}* ({inc.severity.label}) in <#{inc.channel_id}>. "
        "You are IC."
    )


def not_done_text(outcome: Outcome) -> str:
    """After a declare: what did not happen, though the incident is open."""
    return ":warning: The incident is open, but I " + "; ".join(outcome.warnings) + "."


async def dm_what_did_not_happen(services: Services, user_id: str, outcome: Outcome) -> None:
    """A declare from a modal has no reply channel: a DM says what did not happen."""
    if outcome.warnings:
        await services.chat.direct_message(
            user_id, declared_text(outcome) + "\n" + not_done_text(outcome)
        )


async def confirmation_question(
    error: ConfirmationNeeded, pending: PendingChanges, user_id: str
) -> tuple[str, list[dict[str, Any]]]:
    """A guard's question and the button that confirms the change (commands/confirm.py).
    The button's value is only a reference to the change kept in Redis (Slack caps a value
    at 2,000 characters; a resolve summary can be longer)."""
    text = f":warning: {error.message}"
    ref = await pending.ask(error, user_id)
    return text, confirm_blocks(text, error.confirm_label, ref)


def error_text(message: str, usage: str | None) -> str:
    text = f":warning: {message}"
    if usage:
        text += f"\n*Usage:* {usage}" if not usage.startswith("*") else f"\n{usage}"
    return text


async def explain_failure(
    error: Exception,
    *,
    body: dict[str, Any],
    respond: Respond | None,
    chat: ChatGateway,
    pending: PendingChanges,
) -> None:
    """The one place a failure becomes words for the user: domain errors say what was wrong
    (with usage); anything else gets a reference to the log, never a stack trace. Answered
    privately through the request's response_url, else by DM to whoever sent it."""
    user_id = (body.get("user") or {}).get("id") or body.get("user_id")
    if not body.get("response_url"):
        respond = None
    blocks: list[dict[str, Any]] | None = None
    if isinstance(error, ConfirmationNeeded) and user_id:
        try:
            text, blocks = await confirmation_question(error, pending, str(user_id))
        except IncidentBotError as exc:  # Redis down: the question cannot be kept
            text = error_text(exc.message, None)
        log.info("change_needs_confirmation", guard=error.guard, change=error.change)
    elif isinstance(error, IncidentBotError):
        text = error_text(error.message, error.usage)
        log.info("command_refused", error=type(error).__name__, reason=error.message)
    else:
        ref = uuid.uuid4().hex[:8]
        log.error("listener_failed", ref=ref, exc_info=error)
        text = (
            f":x: Something went wrong on our side (reference `{ref}`). "
            "Nothing you did caused it; the details are in the bot's log."
        )
    try:
        if respond is not None:
            extra = {"blocks": blocks} if blocks else {}
            await respond(text=text, response_type="ephemeral", replace_original=False, **extra)
        elif user_id:
            await chat.direct_message(user_id, text)
    except Exception:
        log.warning("could_not_report_error", user=user_id)


def describe(body: dict[str, Any]) -> tuple[str, str, str | None]:
    """(kind, name, incident id if obvious) of a Slack request, with bounded names."""
    if "command" in body:
        return "command", str(body["command"]), None
    kind = str(body.get("type") or "unknown")
    if kind == "block_actions":
        action = (body.get("actions") or [{}])[0]
        value = str(action.get("value") or "")
        incident_id = value if value.startswith("INC-") else None
        return "action", str(action.get("action_id", "")), incident_id
    if kind in ("view_submission", "view_closed"):
        return "view", str((body.get("view") or {}).get("callback_id", "")), None
    if kind == "event_callback":
        return "event", str((body.get("event") or {}).get("type", "")), None
    return kind, "", None


def reports_errors(services: Services, *, tell_user: bool = True) -> Callable[[Listener], Listener]:
    """Wrap a Bolt listener so it never raises after ack(): Bolt's asyncio runner can turn a
    fast failure after ack into an HTTP 404 for Slack, so failures are answered here. Counts
    the outcome of buttons, modals and events (slash commands are counted by their
    registry, which knows the subcommand)."""

    def decorate(listener: Listener) -> Listener:
        wanted = list(inspect.signature(listener).parameters)

        async def wrapper(args: AsyncArgs) -> None:
            body = args.body or {}
            kind, what, incident_id = describe(body)
            bound = {"incident_id": incident_id} if incident_id else {}
            error: Exception | None = None
            with structlog.contextvars.bound_contextvars(**bound):
                try:
                    await listener(**{name: getattr(args, name) for name in wanted})
                except Exception as exc:
                    error = exc
                    if not tell_user:  # events: nobody asked, so log only
                        log.error(
                            "event_listener_failed", listener=listener.__name__, exc_info=exc
                        )
                    else:
                        await explain_failure(
                            exc, body=body, respond=args.respond, chat=services.chat,
                            pending=PendingChanges(services.store.confirmations),
                        )
            if kind != "command":
                services.observe(kind, what, outcome_of(error))

        wrapper.__name__ = listener.__name__
        return wrapper

    return decorate


async def clicked_incident(services: Services, body: dict[str, Any]) -> Incident:
    """The incident a button is about (its value), when the clicker may read it; a private
    incident's outsiders get its label only (bot/incidents/access.py)."""
    value = str(body["actions"][0].get("value") or "")
    return await services.incidents.readable(value, body["user"]["id"])


DOUBLE_CLICK_SECONDS = 10


async def first_click(services: Services, body: dict[str, Any]) -> bool:
    """False for the second of a double click: same user, button, value and message within a
    few seconds. Slack gives every click its own action_ts, so that is not part of the key."""
    act = body["actions"][0]
    where = (
        (body.get("container") or {}).get("message_ts")
        or (body.get("message") or {}).get("ts")
        or (body.get("view") or {}).get("id", "")
    )
    key = f"{body['user']['id']}:{act['action_id']}:{act.get('value', '')}:{where}"
    return await services.store.first_click(key, DOUBLE_CLICK_SECONDS)


async def run_slash_command(
    registry: CommandRegistry,
    services: Services,
    *,
    ack: Respond,
    command: dict[str, Any],
    respond: Respond,
    client: AsyncWebClient,
    unavailable: Callable[[Subcommand], str | None] = lambda sub: None,
) -> None:
    """Parse, ack (with the usage on a mistake, before anything changes), then run the
    subcommand through the registry that owns it, which counts its outcome."""
    text = command.get("text", "")
    try:
        owner, sub, parsed = registry.parse(text, services.has)
    except UsageError as exc:
        services.observe("command", registry.name_of(text), "usage_error")
        await ack(response_type="ephemeral", text=error_text(exc.message, exc.usage))
        return
    reason = unavailable(sub) or owner.unavailable(services)
    if reason:
        services.observe("command", registry.name_of(text), "refused")
        await ack(response_type="ephemeral", text=f":warning: {reason}")
        return
    await ack()
    ctx = CommandContext(
        services=services,
        user_id=command["user_id"],
        channel_id=command["channel_id"],
        trigger_id=command.get("trigger_id"),
        parsed=parsed,
        respond=respond,
        client=client,
    )
    await owner.dispatch(sub, ctx, observe=services.observe)


__all__ = [
    "CommandContext",
    "Respond",
    "clicked_incident",
    "declared_text",
    "dm_what_did_not_happen",
    "error_text",
    "first_click",
    "not_done_text",
    "reports_errors",
    "warnings_text",
]
