"""/incident page <service|team> [message]: page the on-call by hand (only offered when a
pager is configured)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.errors import UsageError
from bot.mrkdwn import escape
from bot.services import Services
from commands.context import CommandContext
from commands.incident import registry

NOT_CONFIGURED = (
    ":information_source: Paging is not configured. Set `PAGERDUTY_ROUTING_KEY` (or "
    "`PAGERDUTY_ROUTING_KEYS`) or `OPSGENIE_API_KEY` to page the on-call from here."
)


@registry.subcommand(
    "page",
    usage="page <service|team> [message]",
    summary="page the on-call of a service or team through PagerDuty or Opsgenie",
    needs_incident=True,
    requires="paging",
)
async def page(ctx: CommandContext) -> None:
    """By hand, beside the pages a declare sends by itself. The dedup key is
    `<incident id>:<target>`, so a repeat never pages twice; a pager that is down never blocks:
    you are told and the worker retries."""
    paging = ctx.services.paging
    if paging is None:
        await ctx.reply(NOT_CONFIGURED)
        return
    words = ctx.parsed.words
    if not words:
        raise UsageError("Say whom to page, e.g. `/incident page checkout-api the DB is down`.")
    target, message = words[0].lower(), " ".join(words[1:])
    if len(target) > 100 or len(message) > 500:
        raise UsageError("That is too long (a target of at most 100 characters, a message of "
                         "at most 500).")
    incident = await ctx.incident()
    result = await paging.page(incident, [target], actor=ctx.user_id, message=message)
    lines = [f":pager: Paged {escape(', '.join(result.paged))}."] if result.paged else []
    lines += [f":warning: I {p}." for p in result.problems]
    await ctx.reply("\n".join(lines))


def register(app: AsyncApp, services: Services) -> None:
    """The subcommand is on the /incident registry; nothing else to listen to."""
