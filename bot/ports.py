"""What the domain needs from the chat platform. Slack implements it in bot/slack/gateway.py."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel

from bot.incidents.models import Incident


class ChannelRef(BaseModel):
    id: str
    name: str


class ChatUser(BaseModel):
    id: str
    name: str
    real_name: str = ""
    tz: str = "UTC"
    is_bot: bool = False
    email: str = ""  # only with the users:read.email scope


class ChatGateway(Protocol):
    async def create_channel(self, name: str, *, private: bool = False) -> ChannelRef:
        """Create a channel (private: only invited people see it); raises
        ChatError(code="name_taken") when the name exists."""

    async def bot_user_id(self) -> str:
        """The bot's own user id."""

    async def rename_channel(self, channel_id: str, name: str) -> None: ...

    async def channel_members(self, channel_id: str) -> list[str]: ...

    async def delete_message(self, channel_id: str, ts: str) -> None: ...

    async def edit(self, channel_id: str, ts: str, text: str) -> None: ...

    async def archive_channel(self, channel_id: str) -> None: ...

    async def invite(self, channel_id: str, user_ids: list[str]) -> None:
        """Invite users; users already in the channel are not an error."""

    async def set_topic(self, channel_id: str, topic: str) -> None: ...

    async def post_header(self, incident: Incident) -> str:
        """Post the incident's header message in its channel; returns its ts."""

    async def update_header(self, incident: Incident) -> None: ...

    async def announce(self, channel: str, incident: Incident, text: str) -> None:
        """Announce in a broadcast channel (joining it first if needed)."""

    async def post_announcement(
        self, channel: str, incident: Incident, text: str
    ) -> tuple[str, str]:
        """The declaration in a broadcast channel; returns (channel id, message ts)."""

    async def update_announcement(self, incident: Incident, text: str, status_line: str) -> None:
        """Edit the declaration to show the latest status line."""

    async def reply_in_thread(self, channel_id: str, thread_ts: str, text: str) -> str: ...

    async def post(self, channel_id: str, text: str) -> str: ...

    async def broadcast(
        self, channel: str, text: str, blocks: list[dict[str, object]] | None = None
    ) -> str:
        """Post in a broadcast channel (by name or id), joining it first if needed."""
        ...

    async def post_blocks(
        self, channel_id: str, text: str, blocks: list[dict[str, object]]
    ) -> str: ...

    async def update_blocks(
        self, channel_id: str, ts: str, text: str, blocks: list[dict[str, object]]
    ) -> None:
        """Replace a message the bot posted (e.g. buttons that belong to an older draft)."""

    async def post_ephemeral(self, channel_id: str, user_id: str, text: str) -> None: ...

    async def direct_message(self, user_id: str, text: str) -> None: ...

    async def user(self, user_id: str) -> ChatUser:
        """Look a user up; raises NotFound when there is no such user."""

    async def upload_file(
        self, channel_id: str, filename: str, title: str, content: str, comment: str
    ) -> None: ...
