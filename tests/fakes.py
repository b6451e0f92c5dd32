"""One in-memory stand-in for the ChatGateway port (bot/ports.py), for tests of domain
services that do not need the Slack emulator: it records what would have reached Slack,
knows the users it is given (with their time zones), and can refuse a method a number of
times the way Slack does (ChatError, e.g. ratelimited). Tests through Slack use the emulator
(sandbox/slack_emulator.py) instead."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.errors import ChatError, NotFound
from bot.ports import ChannelRef, ChatUser

Blocks = list[dict[str, object]]


@dataclass
class FakeChat:
    # user id -> time zone; None: any user exists, in UTC
    users: dict[str, str] | None = None
    posts: list[tuple[str, str]] = field(default_factory=list)  # (channel, text), DMs too
    dms: list[tuple[str, str]] = field(default_factory=list)  # (user, text)
    blocks: list[tuple[str, Blocks]] = field(default_factory=list)  # (channel, blocks)
    uploads: list[dict[str, str]] = field(default_factory=list)
    topics: dict[str, str] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)  # Web API method -> times to fail
    _n: int = 0

    # --- faults and reading back ------------------------------------------------------

    def fail(self, method: str, times: int = 1) -> None:
        """Refuse the next `times` calls of a Web API method (e.g. chat.postMessage)."""
        self.failures[method] = times

    def _call(self, method: str) -> str:
        if self.failures.get(method, 0) > 0:
            self.failures[method] -= 1
            raise ChatError("Slack said ratelimited", code="ratelimited")
        self._n += 1
        return f"{self._n}.000"

    def posted_in(self, channel: str) -> str:
        return "\n".join(t for c, t in self.posts if c == channel)

    # --- the port -----------------------------------------------------------------------

    async def create_channel(self, name: str, *, private: bool = False) -> ChannelRef:
        self._call("conversations.create")
        return ChannelRef(id=f"C{self._n:06d}", name=name)

    async def bot_user_id(self) -> str:
        return "U0BOT"

    async def rename_channel(self, channel_id: str, name: str) -> None:
        self._call("conversations.rename")

    async def channel_members(self, channel_id: str) -> list[str]:
        return []

    async def delete_message(self, channel_id: str, ts: str) -> None:
        self._call("chat.delete")

    async def edit(self, channel_id: str, ts: str, text: str) -> None:
        self._call("chat.update")

    async def archive_channel(self, channel_id: str) -> None:
        self._call("conversations.archive")

    async def invite(self, channel_id: str, user_ids: list[str]) -> None:
        self._call("conversations.invite")

    async def set_topic(self, channel_id: str, topic: str) -> None:
        self._call("conversations.setTopic")
        self.topics[channel_id] = topic

    async def post_header(self, incident: Any) -> str:
        return self._call("chat.postMessage")

    async def update_header(self, incident: Any) -> None:
        self._call("chat.update")

    async def announce(self, channel: str, incident: Any, text: str) -> None:
        await self.post(channel, text)

    async def post_announcement(self, channel: str, incident: Any, text: str) -> tuple[str, str]:
        return "C0INCIDENTS", await self.post("C0INCIDENTS", text)

    async def update_announcement(self, incident: Any, text: str, status_line: str) -> None:
        self._call("chat.update")

    async def reply_in_thread(self, channel_id: str, thread_ts: str, text: str) -> str:
        return await self.post(channel_id, text)

    async def post(self, channel_id: str, text: str) -> str:
        ts = self._call("chat.postMessage")
        self.posts.append((channel_id, text))
        return ts

    async def broadcast(self, channel: str, text: str, blocks: Blocks | None = None) -> str:
        return await self.post(channel, text)

    async def post_blocks(self, channel_id: str, text: str, blocks: Blocks) -> str:
        ts = self._call("chat.postMessage")
        self.blocks.append((channel_id, blocks))
        return ts

    async def update_blocks(self, channel_id: str, ts: str, text: str, blocks: Blocks) -> None:
        self._call("chat.update")

    async def post_ephemeral(self, channel_id: str, user_id: str, text: str) -> None:
        self._call("chat.postEphemeral")

    async def direct_message(self, user_id: str, text: str) -> None:
        self._call("chat.postMessage")
        self.dms.append((user_id, text))

    async def user(self, user_id: str) -> ChatUser:
        if self.users is not None and user_id not in self.users:
            raise NotFound(f"<@{user_id}> is not a user in this workspace.")
        tz = "UTC" if self.users is None else self.users[user_id]
        return ChatUser(id=user_id, name=user_id.lower(), tz=tz)

    async def upload_file(
        self, channel_id: str, filename: str, title: str, content: str, comment: str
    ) -> None:
        self._call("files.uploadV2")
        self.uploads.append(
            {
                "channel": channel_id,
                "filename": filename,
                "title": title,
                "content": content,
                "comment": comment,
            }
        )
