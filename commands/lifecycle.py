"""/incident private, reopen, merge, decline and times: thin handlers over the lifecycle
flows (bot/incidents/flows.py; the changes are in bot/incidents/lifecycle.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.errors import UsageError
from bot.incidents.flows import Outcome
from bot.incidents.lifecycle import Merge
from bot.incidents.models import format_duration
from bot.incidents.times import KEY_TIMES, TimeCorrection, parse_key_time, zone
from bot.mrkdwn import escape, when
from bot.services import Services
from bot.slack.blocks import REOPEN_ACTION
from commands.context import (
    CommandContext,
    clicked_incident,
    first_click,
    reports_errors,
    warnings_text,
)
from commands.incident import registry


def _with_warnings(text: str, outcome: Outcome) -> str:
    return text + warnings_text(outcome)


@registry.subcommand(
    "private",
    usage="private",
    summary="make the incident private: it moves to a private channel with its members, and "
    "everything public shows only its id and severity (one way; IC or admin)",
    needs_incident=True,
)
async def make_private(ctx: CommandContext) -> None:
    """Slack gives apps no way to turn a public channel private, so the
    incident moves to a new private channel (`…-private`) with the same members; the public one
    is renamed to the incident id (its name carried the title), its header deleted, a pointer
    left and archived. Messages already posted there stay in its archive. Nothing changes if the
    private channel cannot be created (e.g. the app lacks `groups:write`)."""
    if ctx.parsed.words:
        raise UsageError("`/incident private` takes no words.")
    incident = await ctx.incident()
    outcome = await ctx.services.flows.make_private(incident, ctx.user_id)
    await ctx.reply(
        _with_warnings(
            f":lock: {incident.id} is private now: it continues in "
            f"<#{outcome.incident.channel_id}>. Messages already posted in the old public "
            "channel stay in its archive; delete anything sensitive there.",
            outcome,
        )
    )


@registry.subcommand(
    "reopen",
    usage="reopen [reason]",
    summary="put a resolved incident back to investigating (time to resolve counts both "
    "periods; IC or admin)",
    needs_incident=True,
)
async def reopen(ctx: CommandContext) -> None:
    """On the timeline, the announcement edited; time to resolve counts both open
    periods, not the quiet gap, and the postmortem says so; the update cadence starts again.
    `/incident status investigating` on a resolved incident and the *Reopen* button of a relapse
    warning do the same."""
    incident = await ctx.incident()
    outcome = await ctx.services.flows.reopen(incident, ctx.user_id, ctx.parsed.rest)
    await ctx.reply(_with_warnings(f"{incident.id} is investigating again.", outcome))


@registry.subcommand(
    "merge",
    usage="merge <INC-id>",
    summary="mark this incident a duplicate of another: timeline copied, open action items "
    "moved, members invited, this channel archived (IC or admin)",
    needs_incident=True,
)
async def merge(ctx: CommandContext) -> None:
    """Its timeline is copied into the target marked
    `[from INC-…]`, open action items move, members are invited, a pointer is posted and the
    duplicate archived; patterns and durations count the pair once. Refused for itself, a
    closed target, or a private/public mismatch."""
    if len(ctx.parsed.words) != 1:
        raise UsageError("Name the one incident this duplicates, e.g. `/incident merge INC-…`.")
    incident = await ctx.incident()
    outcome = await ctx.services.flows.merge(incident, ctx.parsed.words[0], ctx.user_id)
    merge: Merge = outcome.data["merge"]  # type: ignore[assignment]
    invited: list[str] = outcome.data.get("invited", [])  # type: ignore[assignment]
    await ctx.reply(
        _with_warnings(
            f":twisted_rightwards_arrows: {incident.id} merged into *{merge.target.id}* "
            f"(<#{merge.target.channel_id}>): {merge.events_copied} timeline events copied, "
            f"{len(merge.items_moved)} open action items moved, {len(invited)} people invited.",
            outcome,
        )
    )


@registry.subcommand(
    "decline",
    usage="decline [reason]",
    summary="close a false alarm without a postmortem (kept in `list all`, left out of "
    "patterns, durations and reminders; IC or admin)",
    needs_incident=True,
)
async def decline(ctx: CommandContext) -> None:
    incident = await ctx.incident()
    outcome = await ctx.services.flows.decline(incident, ctx.user_id, ctx.parsed.rest)
    await ctx.reply(_with_warnings(f"{incident.id} is closed as a false alarm.", outcome))


@registry.subcommand(
    "times",
    usage="times [started:HH:MM] [identified:HH:MM] [mitigated:HH:MM] [resolved:HH:MM]",
    summary="correct key times (HH:MM in the IC's time zone, or ISO like 2026-11-23T14:05); "
    "each edit is audited on the timeline (IC or admin)",
    options=tuple(KEY_TIMES),
    needs_incident=True,
)
async def times(ctx: CommandContext) -> None:
    """`HH:MM` in the IC's Slack time zone, or ISO (`2026-11-23T14:05`, `Z` or an
    offset allowed); started ≤ identified ≤ mitigated ≤ resolved is enforced. Each edit goes on
    the timeline (who, old, new); time to detect, mitigate and resolve and the postmortem use
    them."""
    if ctx.parsed.words:
        raise UsageError(
            f"`{escape(ctx.parsed.rest, limit=60)}` is not understood; give the times as "
            "`started:HH:MM identified:HH:MM …`."
        )
    given = {k: v for k, v in ctx.parsed.options.items() if k in KEY_TIMES}
    if not given:
        raise UsageError("Give at least one of started:, identified:, mitigated:, resolved:.")
    incident = await ctx.incident()
    tz = zone(await ctx.services.flows.lifecycle.timezone_of_ic(incident))
    now = ctx.services.clock()
    new: dict[str, datetime] = {
        name: parse_key_time(value, now=now, tz=tz) for name, value in given.items()
    }
    outcome = await ctx.services.flows.correct_times(incident, ctx.user_id, new)
    updated = outcome.incident
    made: list[TimeCorrection] = outcome.data["corrections"]  # type: ignore[assignment]
    lines = [f":stopwatch: Corrected on {updated.id} (and noted on the timeline):"]
    lines += [f"• {c.name}: {when(c.old) if c.old else 'unset'} → {when(c.new)}" for c in made]
    lines.append(
        f"Time to detect {format_duration(updated.time_to_detect)} · to mitigate "
        f"{format_duration(updated.time_to_mitigate)} · to resolve "
        f"{format_duration(updated.time_to_resolve)}"
    )
    await ctx.reply("\n".join(lines) + warnings_text(outcome))


def register(app: AsyncApp, services: Services) -> None:
    """The subcommands above live on /incident's registry; here is the Reopen button
    (bot/slack/blocks.reopen_button, e.g. under a relapse warning)."""

    @app.action(REOPEN_ACTION)
    @reports_errors(services)
    async def reopen_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        if not await first_click(services, body):
            return
        incident = await clicked_incident(services, body)
        outcome = await services.flows.reopen(incident, body["user"]["id"])
        await respond(
            text=f"{incident.id} is investigating again." + warnings_text(outcome),
            response_type="ephemeral",
            replace_original=False,
        )
