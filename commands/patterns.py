"""/incident patterns [service:x] [category:y] [since:6m] — recurring incident patterns."""

from __future__ import annotations

from typing import Any

from bot.errors import UsageError
from bot.mrkdwn import escape
from bot.patterns.report import parse_since, render_report
from bot.patterns.taxonomy import DEFINITIONS, parse_category
from bot.services import Services
from commands.context import CommandContext
from commands.incident import registry

NOT_SET_UP = "Pattern recognition is not set up on this bot."


@registry.subcommand(
    "patterns",
    usage="patterns [service:x] [category:y] [since:6m]",
    summary="recurring incidents: counts by root cause and service, repeat offenders, "
    "time to resolve, action items that keep coming back (since: 6m, 90d, 2w, 1y)",
    options=("service", "category", "since"),
)
async def patterns(ctx: CommandContext) -> None:
    """Counts by root cause and service, repeat offenders, time to resolve per category, and
    open action items that keep coming back; private incidents count only as their label."""
    svc = ctx.services.patterns
    if svc is None:
        await ctx.reply(f":information_source: {NOT_SET_UP}")
        return
    opts = ctx.parsed.options
    if ctx.parsed.words:
        raise UsageError(f"`{escape(ctx.parsed.rest, limit=60)}` is not an option here.")
    category = None
    if "category" in opts:
        category = parse_category(opts["category"])
        if category is None:
            known = ", ".join(f"`{c.value}`" for c in DEFINITIONS) + ", `other`"
            raise UsageError(
                f"`{escape(opts['category'], limit=60)}` is not a root-cause category; "
                f"use one of {known}."
            )
    since = parse_since(opts["since"]) if "since" in opts else None
    report = await svc.report(service=opts.get("service"), category=category, since=since)
    await ctx.reply(render_report(report))


def register(app: Any, services: Services) -> None:
    """No listeners of its own: the subcommand lives on the /incident registry."""
