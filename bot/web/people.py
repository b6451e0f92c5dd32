"""People's names for pages (users.info through the Slack gateway, remembered for a few
minutes per process), and links that are safe to put in an href."""

from __future__ import annotations

import time
from collections.abc import Iterable
from urllib.parse import urlsplit

from bot.errors import IncidentBotError
from bot.ports import ChatUser
from bot.slack.gateway import SlackGateway

NAME_TTL_SECONDS = 300.0
MAX_NAMES = 5000


class Names:
    def __init__(self, chat: SlackGateway) -> None:
        self.chat = chat
        self._cache: dict[str, tuple[float, str]] = {}

    async def name(self, user_id: str) -> str:
        if not user_id:
            return ""
        cached = self._cache.get(user_id)
        now = time.monotonic()
        if cached is not None and now - cached[0] < NAME_TTL_SECONDS:
            return cached[1]
        try:
            person: ChatUser = await self.chat.user(user_id)
            name = person.real_name or person.name or user_id
        except IncidentBotError:
            name = user_id  # unknown or unreachable: the id, as Slack would show it
        if len(self._cache) >= MAX_NAMES:
            self._cache.pop(next(iter(self._cache)))
        self._cache[user_id] = (now, name)
        return name

    async def names(self, user_ids: Iterable[str]) -> dict[str, str]:
        return {uid: await self.name(uid) for uid in set(user_ids) if uid}


def safe_url(url: str | None) -> str:
    """`url` when it is http(s); else "" (a `javascript:` or `data:` link is never a link)."""
    if not url:
        return ""
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return ""
    return url.strip() if scheme in ("http", "https") else ""
