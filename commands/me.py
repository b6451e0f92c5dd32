"""/incident me github <login>: tell the bot your GitHub login, so the GitHub issues of your
action items are assigned to you (offered only when GitHub is the tracker)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.errors import UsageError
from bot.integrations.settings import GITHUB_LOGIN
from bot.mrkdwn import escape
from bot.services import Services
from commands.context import CommandContext
from commands.incident import registry


@registry.subcommand(
    "me",
    usage="me github <login>",
    summary="your GitHub login, so GitHub issues of your action items are assigned to you",
    requires="tracking",
)
async def me(ctx: CommandContext) -> None:
    tracking = ctx.services.tracking
    if tracking is None or tracking.tracker.name != "github":
        await ctx.reply(
            ":information_source: GitHub is not the issue tracker here (set `GITHUB_TOKEN` "
            "and `GITHUB_REPO`), so there is no GitHub login to remember."
        )
        return
    words = ctx.parsed.words
    if len(words) != 2 or words[0].lower() != "github":
        raise UsageError("Say `/incident me github <login>`, e.g. `/incident me github octocat`.")
    login = words[1].removeprefix("@")
    if not GITHUB_LOGIN.match(login):
        raise UsageError(f"`{escape(words[1])}` is not a GitHub login.")
    await tracking.integrations.set_github_login(ctx.user_id, login)
    await ctx.reply(
        f":white_check_mark: Your GitHub login is now `{escape(login)}`: new GitHub issues "
        "for your action items are assigned to you."
    )


def register(app: AsyncApp, services: Services) -> None:
    """The subcommand is on the /incident registry; nothing else to listen to."""
