"""`incident-bot export <incident> [--format md]`: the postmortem from the command line."""

from __future__ import annotations

from typing import Any, cast

from bot.clock import system_clock
from bot.errors import NotFound, UsageError
from bot.ports import ChatGateway
from bot.settings import Settings
from bot.store.connection import db_for
from bot.store.redis_store import RedisStore
from bot.wiring import build_postmortems, slack_gateway

FORMATS = ("md",)


class _NoChat:
    """Without a Slack token: export never posts, and people stay Slack user ids."""

    async def user(self, user_id: str) -> Any:
        raise NotFound(f"no Slack token to look up {user_id}")

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"export does not use the chat platform ({name})")


def private_stub(label: str) -> str:
    return (
        f"# {label}\n\nThis incident is private: its content is omitted. Run "
        "`incident-bot export` with `--include-private` to include it.\n"
    )


async def export_postmortem(
    settings: Settings, incident_id: str, fmt: str = "md", *, include_private: bool = False
) -> str:
    """The latest stored postmortem of `incident_id` as Markdown; when none is stored, a
    fresh draft (not saved) — AI-written when ANTHROPIC_API_KEY is set, else deterministic.
    A private incident is only its label unless `include_private`."""
    if fmt not in FORMATS:
        raise UsageError(f"`{fmt}` is not an export format; use {', '.join(FORMATS)}.")
    store = RedisStore(db_for(settings.redis_config()))
    try:
        chat = slack_gateway(settings) if settings.slack_bot_token else cast(ChatGateway, _NoChat())
        service = build_postmortems(settings, store=store, chat=chat, clock=system_clock)
        incident = await store.get_incident(incident_id.strip().upper())
        if incident.private and not include_private:
            return private_stub(incident.public_label)
        return await service.export(incident.id)
    finally:
        await store.aclose()
