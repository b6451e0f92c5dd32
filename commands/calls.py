"""/incident call: the incident's call link, made now if it has none (Zoom, Google Meet or
the fixed bridge; only offered when one is configured)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.errors import UsageError
from bot.services import Services
from commands.context import CommandContext
from commands.incident import registry

NOT_CONFIGURED = (
    ":information_source: Calls are not configured. Set `MEETING_URL` (a fixed bridge), "
    "the `ZOOM_…` settings, or `GOOGLE_CALENDAR_ID` with `GOOGLE_SERVICE_ACCOUNT_FILE`."
)


@registry.subcommand(
    "call",
    usage="call",
    summary="the incident's call link (made now if it has none): Zoom, Google Meet or the "
    "bridge; it goes in the header, the topic and on the timeline",
    needs_incident=True,
    requires="calls",
)
async def call(ctx: CommandContext) -> None:
    incident = await ctx.incident()  # the read rule first: a private incident's outsider
    calls = ctx.services.calls
    if calls is None:
        await ctx.reply(NOT_CONFIGURED)
        return
    if ctx.parsed.words:
        raise UsageError("`call` takes nothing more: `/incident call`.")
    if not incident.is_active:
        raise UsageError(f"{incident.id} is {incident.status.value}: no call for it now.")
    result = await calls.start(incident, actor=ctx.user_id)
    lines = []
    if result.url:
        what = "New call" if result.made else "Call"
        lines.append(f":telephone_receiver: {what} for *{incident.id}*: {result.url}")
    lines += [f":warning: I {p}." for p in result.problems]
    await ctx.reply("\n".join(lines))


def register(app: AsyncApp, services: Services) -> None:
    """The subcommand is on the /incident registry; nothing else to listen to."""
