"""Who may act as IC beyond the incident's own roles: members of ADMIN_USERGROUP."""

from __future__ import annotations

import time
from typing import Protocol

import structlog

from bot.errors import ChatError
from bot.incidents.service import AdminCheck, nobody_is_admin

log = structlog.get_logger(__name__)
ADMIN_CACHE_SECONDS = 60.0


class Usergroups(Protocol):
    async def usergroup_members(self, usergroup_id: str) -> set[str]: ...


def admin_check(chat: Usergroups, usergroup: str | None) -> AdminCheck:
    """Members of the configured admin user group may act as IC (cached for a minute)."""
    if not usergroup:
        return nobody_is_admin
    cache: dict[str, tuple[float, set[str]]] = {}

    async def is_admin(user_id: str) -> bool:
        at, members = cache.get(usergroup, (0.0, set()))
        if time.monotonic() - at > ADMIN_CACHE_SECONDS:
            try:
                members = await chat.usergroup_members(usergroup)
            except ChatError:
                log.warning("admin_group_unreadable", usergroup=usergroup)
                members = set()
            cache[usergroup] = (time.monotonic(), members)
        return user_id in members

    return is_admin
