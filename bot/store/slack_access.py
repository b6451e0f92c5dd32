"""Whether the workspace took the app's access away (app_uninstalled, tokens_revoked, or
Slack answering token_revoked), one key per bot token, so every process (serve replicas,
Socket Mode, workers) stops calling Slack and a restart remembers. The key names a hash of
the token, never the token: a reinstall brings a new token, which has no mark."""

from __future__ import annotations

import hashlib

from bot.store import keys
from bot.store.base import StoreBase
from bot.store.connection import guarded


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class SlackAccessStore(StoreBase):
    @guarded
    async def lost(self, token: str) -> str | None:
        """Why the token's access is gone, or None while it is not known to be."""
        reason = await self.db.client.get(keys.slack_access_lost(token_id(token)))
        return None if reason is None else str(reason)

    @guarded
    async def mark_lost(self, token: str, reason: str) -> None:
        await self.db.client.set(keys.slack_access_lost(token_id(token)), reason)

    @guarded
    async def clear(self, token: str) -> bool:
        """True when there was a mark to clear."""
        return bool(await self.db.client.delete(keys.slack_access_lost(token_id(token))))
