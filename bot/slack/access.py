"""The app's access to the workspace, as every process sees it.

When the workspace uninstalls the app or revokes its bot token (the `app_uninstalled` and
`tokens_revoked` events, or Slack answering `token_revoked` / `account_inactive`), no later
Web API call can succeed. The process that learns it writes it to Redis (per token, see
bot/store/slack_access.py); every process checks there before each call, so replicas,
Socket Mode and workers all stop, and a restart does not forget.

A reinstall clears it: the new bot token has no mark, and a process whose token passes
`auth.test` at start clears its token's mark (`restore`), so a token that works again is
used again. `incident-bot slack-access --clear` clears it by hand. While Redis cannot be
reached, each process goes by what it last knew."""

from __future__ import annotations

import structlog

from bot.errors import IncidentBotError
from bot.store.slack_access import SlackAccessStore

log = structlog.get_logger(__name__)


class SlackAccess:
    def __init__(self, store: SlackAccessStore | None = None, token: str | None = None) -> None:
        self.store = store if token else None
        self.token = token or ""
        self.reason: str | None = None  # what this process last knew

    async def lost(self) -> str | None:
        """Why the access is gone (None while it is not)."""
        if self.store is None:
            return self.reason
        try:
            reason = await self.store.lost(self.token)
        except IncidentBotError:  # Redis down: go by what this process last knew
            return self.reason
        if reason is not None and self.reason is None:
            log.error("slack_access_lost_stopped_posting", reason=reason, seen_in="redis")
        self.reason = reason
        return reason

    async def lose(self, reason: str) -> None:
        if self.reason is None:
            log.error("slack_access_lost_stopped_posting", reason=reason)
        self.reason = reason
        if self.store is not None:
            try:
                await self.store.mark_lost(self.token, reason)
            except IncidentBotError:
                log.warning("slack_access_lost_not_shared", reason=reason)

    async def restore(self) -> bool:
        """The token works (auth.test passed, or a person said so): use Slack again.
        True when a mark was cleared."""
        was = self.reason
        self.reason = None
        cleared = False
        if self.store is not None:
            cleared = await self.store.clear(self.token)
        if cleared or was is not None:
            log.info("slack_access_restored", was=was)
        return cleared or was is not None
