"""The ChatGateway port over the Slack Web API (slack_sdk's AsyncWebClient)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import ChatError, NotFound
from bot.incidents.models import Incident
from bot.mrkdwn import escape
from bot.ports import ChannelRef, ChatUser
from bot.slack.access import SlackAccess
from bot.slack.blocks import header_blocks
from bot.slack.update_blocks import announcement_blocks

log = structlog.get_logger(__name__)

PLAIN_WORDS = {
    "name_taken": "a channel with that name already exists",
    "channel_not_found": "the channel does not exist or the bot cannot see it",
    "not_in_channel": "the bot is not a member of that channel",
    "missing_scope": (
        "the Slack app is missing a permission (scope); reinstall it from manifest.yml"
    ),
    "invalid_auth": "the Slack token is not valid",
    "not_authed": "no Slack token was given",
    "ratelimited": "Slack is rate limiting the bot; try again shortly",
    "user_not_found": "there is no such user",
    "restricted_action": "the workspace does not allow the bot to do that",
    "is_archived": "the channel is archived",
    "token_revoked": "the app's token was revoked; reinstall the app",
    "account_inactive": "the app was uninstalled from this workspace; reinstall it",
    "app_uninstalled": "the app was uninstalled from this workspace; reinstall it",
}
# Slack's answers once the workspace took the app's access away: no later call can succeed
ACCESS_GONE = frozenset({"token_revoked", "account_inactive"})


def build_client(token: str | None, base_url: str) -> AsyncWebClient:
    """A Web API client that honours Retry-After on 429s and retries dropped connections."""
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )


class RateLimitPause(AsyncRetryHandler):
    """Remembers until when Slack asked the bot to slow down (the latest 429's Retry-After),
    so a fan-out can hold all its senders instead of each running into its own 429. Never
    retries itself (AsyncRateLimitErrorRetryHandler does)."""

    def __init__(self) -> None:
        super().__init__(max_retry_count=1_000_000)
        self.until = 0.0  # time.monotonic()

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is not None and response.status_code == 429:
            after = "1"
            for name, value in response.headers.items():
                if name.lower() == "retry-after":
                    after = value[0] if isinstance(value, list) else str(value)
            try:
                seconds = float(after)
            except ValueError:
                seconds = 1.0
            self.until = max(self.until, time.monotonic() + seconds)
        return False


def _chat_error(exc: SlackApiError, method: str) -> ChatError:
    code = str(exc.response.get("error", "unknown_error"))
    words = PLAIN_WORDS.get(code, code.replace("_", " "))
    log.warning("slack_api_error", method=method, error=code)
    return ChatError(f"Slack said {words} (`{code}` from {method})", code=code)


class SlackGateway:
    def __init__(self, client: AsyncWebClient, access: SlackAccess | None = None,
                 *, web_base: str | None = None) -> None:
        self.client = client
        self.web_base = web_base  # WEB_BASE_URL: headers and announcements link the page
        # whether the workspace took the app's access away (in Redis when given a store)
        self.access = access or SlackAccess()
        self.rate_limit = RateLimitPause()
        client.retry_handlers.insert(0, self.rate_limit)
        self._incidents_channel_id: dict[str, str] = {}
        self._bot_user_id: str | None = None
        # metrics hook (bot/observability.py): called with (method, error code) on failures
        self.on_error: Callable[[str, str], None] | None = None

    @property
    def access_lost(self) -> str | None:
        """Why this process last knew the access to be gone (None: it did not)."""
        return self.access.reason

    async def stop_posting(self, reason: str) -> None:
        """The workspace took the app's access away (app_uninstalled, tokens_revoked, or
        Slack answering token_revoked): every later call, in every process, fails at once
        without calling Slack (bot/slack/access.py)."""
        await self.access.lose(reason)

    def _observe(self, method: str, exc: SlackApiError) -> None:
        if self.on_error is not None:
            self.on_error(method, str(exc.response.get("error", "unknown_error")))

    async def _check_access(self, method: str) -> None:
        reason = await self.access.lost()
        if reason is not None:
            raise ChatError(
                f"Slack access is gone ({reason}); not calling {method}", code="app_uninstalled"
            )

    async def _gone(self, method: str, exc: SlackApiError) -> None:
        code = str(exc.response.get("error", ""))
        if code in ACCESS_GONE:
            await self.stop_posting(f"Slack answered {code} to {method}")

    async def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        await self._check_access(method)
        try:
            # the SDK's typed method picks the encoding Slack expects (JSON or form) per method
            response = await getattr(self.client, method.replace(".", "_"))(**kwargs)
        except SlackApiError as exc:
            self._observe(method, exc)
            await self._gone(method, exc)
            raise _chat_error(exc, method) from exc
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def create_channel(self, name: str, *, private: bool = False) -> ChannelRef:
        data = await self._call("conversations.create", name=name, is_private=private)
        return ChannelRef(id=data["channel"]["id"], name=data["channel"]["name"])

    async def rename_channel(self, channel_id: str, name: str) -> None:
        await self._call("conversations.rename", channel=channel_id, name=name)

    async def member_channels(self, user_id: str) -> set[str]:
        """The private channels `user_id` shares with the bot (users.conversations): one
        paginated call where asking each channel would be one call per channel."""
        found: set[str] = set()
        cursor: str | None = None
        while True:
            kwargs: dict[str, Any] = {"user": user_id, "types": "private_channel",
                                      "limit": 200}
            if cursor:
                kwargs["cursor"] = cursor
            data = await self._call("users.conversations", **kwargs)
            found |= {str(c["id"]) for c in data.get("channels", [])}
            cursor = data.get("response_metadata", {}).get("next_cursor") or None
            if not cursor:
                return found

    async def channel_members(self, channel_id: str) -> list[str]:
        members: list[str] = []
        cursor: str | None = None
        while True:
            kwargs: dict[str, Any] = {"channel": channel_id, "limit": 200}
            if cursor:
                kwargs["cursor"] = cursor
            data = await self._call("conversations.members", **kwargs)
            members += [str(m) for m in data.get("members", [])]
            cursor = data.get("response_metadata", {}).get("next_cursor") or None
            if not cursor:
                return members

    async def delete_message(self, channel_id: str, ts: str) -> None:
        await self._call("chat.delete", channel=channel_id, ts=ts)

    async def edit(self, channel_id: str, ts: str, text: str) -> None:
        await self._call("chat.update", channel=channel_id, ts=ts, text=text, blocks=[])

    async def archive_channel(self, channel_id: str) -> None:
        await self._call("conversations.archive", channel=channel_id)

    async def invite(self, channel_id: str, user_ids: list[str]) -> None:
        try:
            await self._call("conversations.invite", channel=channel_id, users=",".join(user_ids))
        except ChatError as exc:
            if exc.code not in ("already_in_channel", "cant_invite_self"):
                raise

    async def set_topic(self, channel_id: str, topic: str) -> None:
        await self._call("conversations.setTopic", channel=channel_id, topic=topic[:250])

    def page_url(self, incident: Incident) -> str | None:
        return f"{self.web_base}/incidents/{incident.id}" if self.web_base else None

    async def post_header(self, incident: Incident) -> str:
        data = await self._call(
            "chat.postMessage",
            channel=incident.channel_id,
            text=f"{incident.id}: {escape(incident.title)}",
            blocks=header_blocks(incident, self.page_url(incident)),
        )
        return str(data["ts"])

    async def update_header(self, incident: Incident) -> None:
        await self._call(
            "chat.update",
            channel=incident.channel_id,
            ts=incident.header_ts,
            text=f"{incident.id}: {escape(incident.title)}",
            blocks=header_blocks(incident, self.page_url(incident)),
        )

    async def channel_id(self, channel: str) -> str:
        if channel.startswith(("C", "G")) and channel.isupper():
            return channel
        if channel in self._incidents_channel_id:
            return self._incidents_channel_id[channel]
        cursor: str | None = None
        while True:
            kwargs: dict[str, Any] = {"limit": 200, "exclude_archived": True}
            if cursor:
                kwargs["cursor"] = cursor
            data = await self._call("conversations.list", **kwargs)
            for ch in data.get("channels", []):
                if ch.get("name") == channel:
                    self._incidents_channel_id[channel] = str(ch["id"])
                    return str(ch["id"])
            cursor = data.get("response_metadata", {}).get("next_cursor") or None
            if not cursor:
                raise ChatError(
                    f"Slack said the channel #{channel} does not exist", code="channel_not_found"
                )

    async def announce(self, channel: str, incident: Incident, text: str) -> None:
        await self.broadcast(channel, text)

    async def broadcast(
        self, channel: str, text: str, blocks: list[dict[str, object]] | None = None
    ) -> str:
        """Post in a broadcast channel (by name or id), joining it first if needed."""
        channel_id = await self.channel_id(channel)
        extra: dict[str, Any] = {"blocks": blocks} if blocks else {}
        try:
            data = await self._call("chat.postMessage", channel=channel_id, text=text, **extra)
        except ChatError as exc:
            if exc.code != "not_in_channel":
                raise
            await self._call("conversations.join", channel=channel_id)
            data = await self._call("chat.postMessage", channel=channel_id, text=text, **extra)
        return str(data["ts"])

    async def bot_user_id(self) -> str:
        """The bot's own user id (auth.test), asked once."""
        if self._bot_user_id is None:
            self._bot_user_id = str((await self._call("auth.test"))["user_id"])
        return self._bot_user_id

    async def post_announcement(
        self, channel: str, incident: Incident, text: str
    ) -> tuple[str, str]:
        """The declaration in a broadcast channel, with its Follow updates button; returns
        (channel id, ts) so updates can reply in its thread and edit it."""
        channel_id = await self.channel_id(channel)
        blocks = announcement_blocks(incident, text, None, self.page_url(incident))
        try:
            return channel_id, await self.post_blocks(channel_id, text, blocks)
        except ChatError as exc:
            if exc.code != "not_in_channel":
                raise
            await self._call("conversations.join", channel=channel_id)
            return channel_id, await self.post_blocks(channel_id, text, blocks)

    async def update_announcement(self, incident: Incident, text: str, status_line: str) -> None:
        """Edit the declaration to show the latest status line and the next update."""
        await self._call(
            "chat.update",
            channel=incident.announcement_channel_id,
            ts=incident.announcement_ts,
            text=text,
            blocks=announcement_blocks(incident, text, status_line, self.page_url(incident)),
        )

    async def reply_in_thread(self, channel_id: str, thread_ts: str, text: str) -> str:
        data = await self._call(
            "chat.postMessage", channel=channel_id, thread_ts=thread_ts, text=text
        )
        return str(data["ts"])

    async def pace(self) -> None:
        """Wait while Slack has asked the bot to slow down (a 429's Retry-After)."""
        delay = self.rate_limit.until - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    async def post(self, channel_id: str, text: str) -> str:
        data = await self._call("chat.postMessage", channel=channel_id, text=text)
        return str(data["ts"])

    async def post_blocks(self, channel_id: str, text: str, blocks: list[dict[str, object]]) -> str:
        data = await self._call("chat.postMessage", channel=channel_id, text=text, blocks=blocks)
        return str(data["ts"])

    async def update_blocks(
        self, channel_id: str, ts: str, text: str, blocks: list[dict[str, object]]
    ) -> None:
        await self._call("chat.update", channel=channel_id, ts=ts, text=text, blocks=blocks)

    async def post_ephemeral(self, channel_id: str, user_id: str, text: str) -> None:
        await self._call("chat.postEphemeral", channel=channel_id, user=user_id, text=text)

    async def direct_message(self, user_id: str, text: str) -> None:
        data = await self._call("conversations.open", users=user_id)
        await self.post(str(data["channel"]["id"]), text)

    async def user(self, user_id: str) -> ChatUser:
        try:
            data = await self._call("users.info", user=user_id)
        except ChatError as exc:
            if exc.code == "user_not_found":
                raise NotFound(f"<@{user_id}> is not a user in this workspace.") from exc
            raise
        u = data["user"]
        if u.get("deleted"):
            raise NotFound(f"<@{user_id}> has been deactivated.")
        return ChatUser(
            id=u["id"],
            name=u.get("name", ""),
            real_name=u.get("real_name", "") or u.get("profile", {}).get("real_name", ""),
            tz=u.get("tz") or "UTC",
            is_bot=bool(u.get("is_bot")),
            email=str(u.get("profile", {}).get("email") or ""),  # users:read.email
        )

    async def usergroup_members(self, usergroup_id: str) -> set[str]:
        data = await self._call("usergroups.users.list", usergroup=usergroup_id)
        return set(data.get("users", []))

    async def upload_image(
        self, channel_id: str, filename: str, title: str, data: bytes, comment: str = ""
    ) -> None:
        """files.getUploadURLExternal, the upload, files.completeUploadExternal."""
        await self._check_access("files.uploadV2")
        try:
            await self.client.files_upload_v2(
                channel=channel_id,
                filename=filename,
                title=title,
                file=data,
                initial_comment=comment or None,
            )
        except SlackApiError as exc:
            self._observe("files.uploadV2", exc)
            await self._gone("files.uploadV2", exc)
            raise _chat_error(exc, "files.uploadV2") from exc

    async def upload_file(
        self, channel_id: str, filename: str, title: str, content: str, comment: str
    ) -> None:
        await self._check_access("files.uploadV2")
        try:
            await self.client.files_upload_v2(
                channel=channel_id,
                filename=filename,
                title=title,
                content=content,
                initial_comment=comment,
            )
        except SlackApiError as exc:
            self._observe("files.uploadV2", exc)
            await self._gone("files.uploadV2", exc)
            raise _chat_error(exc, "files.uploadV2") from exc
