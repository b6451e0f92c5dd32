"""The postmortem feature: drafts (AI-written with ANTHROPIC_API_KEY, deterministic
without), their review and export. No flow steps: the worker's nudges ask for a postmortem
(bot/updates/watch.py) and commands/postmortem.py drafts it."""

from __future__ import annotations

from bot.actions.models import ActionSettings
from bot.actions.service import ActionItemService
from bot.clock import Clock
from bot.features import InstallContext, Installed
from bot.ports import ChatGateway
from bot.postmortem.llm import make_drafter
from bot.postmortem.service import PostmortemService
from bot.settings import Settings
from bot.store.redis_store import RedisStore


def build_postmortems(
    settings: Settings,
    *,
    store: RedisStore,
    chat: ChatGateway,
    clock: Clock,
    actions: ActionItemService | None = None,
) -> PostmortemService:
    """The service alone (`incident-bot export` builds it without the rest of the bot)."""
    service = PostmortemService(
        store=store,
        chat=chat,
        drafter=make_drafter(settings),
        clock=clock,
        runbooks_dir=settings.runbooks_dir,
        actions=actions,
        private_use_ai=settings.private_incidents_use_ai,
        working_hours=ActionSettings.from_settings(settings).working_hours,
    )
    service.web_base = settings.web_base  # each draft posted links the incident's page
    return service


def install(ctx: InstallContext) -> Installed:
    postmortems = build_postmortems(
        ctx.settings, store=ctx.store, chat=ctx.chat, clock=ctx.clock, actions=ctx.services.actions
    )
    return Installed("postmortem", provides={"postmortems": postmortems})
