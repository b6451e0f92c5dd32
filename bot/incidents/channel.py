"""Creating an incident's channel (declare creates it before recording anything)."""

from __future__ import annotations

from datetime import datetime

from bot.errors import ChatError
from bot.incidents.naming import channel_name
from bot.ports import ChannelRef, ChatGateway

MAX_NAME_ATTEMPTS = 5


async def create_channel(
    chat: ChatGateway, title: str, declared_at: datetime, *, private: bool = False
) -> ChannelRef:
    """The incident's channel, named from its title and day; a taken name gets a number
    (`-2`, `-3`…) up to MAX_NAME_ATTEMPTS. Any other refusal says no incident was recorded."""
    last_error: ChatError | None = None
    for attempt in range(1, MAX_NAME_ATTEMPTS + 1):
        try:
            return await chat.create_channel(
                channel_name(title, declared_at, attempt), private=private
            )
        except ChatError as exc:
            if exc.code != "name_taken":
                raise ChatError(
                    f"Could not create the incident channel: {exc.message}. "
                    "No incident was recorded.",
                    code=exc.code,
                ) from exc
            last_error = exc
    raise ChatError(
        f"Could not create the incident channel: the names "
        f"`{channel_name(title, declared_at)}` to -{MAX_NAME_ATTEMPTS} are all taken.",
        code=last_error.code if last_error else "name_taken",
    )
