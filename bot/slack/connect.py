"""The Web API gateway as every process builds it: the bot token's client, and its access
to the workspace shared through Redis (bot/slack/access.py) when a store is given."""

from __future__ import annotations

from bot.settings import Settings
from bot.slack.access import SlackAccess
from bot.slack.gateway import SlackGateway, build_client
from bot.store.redis_store import RedisStore


def slack_gateway(settings: Settings, store: RedisStore | None = None) -> SlackGateway:
    """With `store`, a lost access (uninstall, revoked token) is shared with every process
    through Redis."""
    access = SlackAccess(store.slack_access if store else None, settings.slack_bot_token)
    return SlackGateway(build_client(settings.slack_bot_token, settings.slack_api_base), access,
                        web_base=settings.web_base)
