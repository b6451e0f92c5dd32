"""What a subcommand handler gets: who, where, the parsed text and how to answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.incidents.models import Incident
from bot.mrkdwn import escape
from bot.parsing import ParsedText
from bot.services import Services

Respond = Callable[..., Awaitable[Any]]


@dataclass
class CommandContext:
    services: Services
    user_id: str
    channel_id: str
    trigger_id: str | None
    parsed: ParsedText
    respond: Respond
    client: Any

    async def incident(self) -> Incident:
        return await self.services.incidents.target(self.channel_id, self.parsed.options.get("id"))

    async def reply(self, text: str) -> None:
        """An answer only the caller sees."""
        await self.respond(text=text, response_type="ephemeral", replace_original=False)


def error_text(message: str, usage: str | None) -> str:
    text = f":warning: {message}"
    if usage:
        text += f"\n*Usage:* {usage}" if not usage.startswith("*") else f"\n{usage}"
    return text


__all__ = ["CommandContext", "Respond", "error_text", "escape"]
