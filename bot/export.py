"""`incident-bot export <incident> [--format md] [--as U…]`: the postmortem from the command
line. A private incident is read through the one read rule (bot/incidents/access.py): as
the Slack user `--as` names, or as nobody in particular (its label only); an operator's
`--include-private` is the explicit override."""

from __future__ import annotations

from typing import Any, cast

from bot.clock import system_clock
from bot.errors import NotFound, UsageError
from bot.incidents.access import IncidentAccess
from bot.incidents.models import Incident
from bot.ports import ChatGateway
from bot.settings import Settings
from bot.store.connection import db_for
from bot.store.redis_store import RedisStore
from bot.wiring import admin_check, build_postmortems, slack_gateway

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
        "`incident-bot export` with `--as <your Slack user id>` (a member of its channel or "
        "of ADMIN_USERGROUP), or `--include-private`, to include it.\n"
    )


async def _may_read(settings: Settings, incident: Incident, reader: str) -> bool:
    """The one read rule, with Slack's answer on who is in the channel and who is an admin."""
    gateway = slack_gateway(settings)
    admins = admin_check(gateway, settings.admin_usergroup)
    return await IncidentAccess(members=gateway, is_admin=admins).can_read(incident, reader)


async def export_postmortem(
    settings: Settings,
    incident_id: str,
    fmt: str = "md",
    *,
    include_private: bool = False,
    reader: str | None = None,
) -> str:
    """The latest stored postmortem of `incident_id` as Markdown; when none is stored, a
    fresh draft (not saved) — AI-written when ANTHROPIC_API_KEY is set, else deterministic.
    A private incident is only its label unless `reader` may read it or `include_private`."""
    if reader and not settings.slack_bot_token:
        raise UsageError("`--as` needs SLACK_BOT_TOKEN: who may read is asked of Slack.")
    if fmt not in FORMATS:
        raise UsageError(f"`{fmt}` is not an export format; use {', '.join(FORMATS)}.")
    store = RedisStore(db_for(settings.redis_config()))
    try:
        chat = slack_gateway(settings) if settings.slack_bot_token else cast(ChatGateway, _NoChat())
        service = build_postmortems(settings, store=store, chat=chat, clock=system_clock)
        incident = await store.get_incident(incident_id.strip().upper())
        hidden = incident.private and not include_private
        if hidden and not (reader and await _may_read(settings, incident, reader)):
            return private_stub(incident.public_label)
        return await service.export(incident.id)
    finally:
        await store.aclose()
