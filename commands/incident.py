"""/incident: declare and run an incident. Thin handlers: parse, call the domain, answer."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import UsageError
from bot.incidents.flows import Outcome
from bot.incidents.models import Role, Status, format_duration
from bot.mrkdwn import escape, mention, when
from bot.parsing import parse_duration, parse_list, parse_severity, parse_user, parse_yes_no
from bot.registry import CommandRegistry
from bot.services import Services
from bot.slack.blocks import declare_modal
from bot.timeline.render import render_timeline
from commands.context import (
    CommandContext,
    declared_text,
    not_done_text,
    reports_errors,
    run_slash_command,
    warnings_text,
)

registry = CommandRegistry("/incident")


@registry.subcommand(
    "declare",
    usage="declare <title> [sev:N] [services:a,b] [tags:x,y] [started:30m] [private:yes]",
    summary="open a new incident with its own channel; you become IC (no title: a form); "
    "`started:` is how long ago impact began, for time to detect; `private:yes` opens a "
    "private channel and announces only its id and severity",
    aliases=("new", "start"),
    options=("sev", "severity", "services", "tags", "started", "private"),
)
async def declare(ctx: CommandContext) -> None:
    """Opens the war room: a channel `inc-YYYYMMDD-<slug>` (a taken name gets `-2`…), you as
    IC, the topic and a header message with buttons (take Ops or Comms, show the timeline,
    resolve), and the announcement in `INCIDENTS_CHANNEL` with a *Follow updates* button. With
    no title it opens a form. `started:` says how long ago impact began, so time to detect is
    real; `private:yes` (or the form's checkbox) opens a private channel and everything outside
    it shows only "Private incident INC-… (SEV2)" (docs/incidents.md). If the channel cannot be
    created nothing is recorded and you are told why; a failed invite, topic or announcement
    leaves a usable incident and says which step failed."""
    opts = ctx.parsed.options
    sev_text = opts.get("sev") or opts.get("severity")
    severity = parse_severity(sev_text) if sev_text else None
    services = parse_list(opts["services"]) if "services" in opts else []
    tags = parse_list(opts["tags"]) if "tags" in opts else []
    if not ctx.parsed.rest:
        if opts or not ctx.trigger_id:
            raise UsageError("An incident needs a title.")
        await ctx.client.views_open(trigger_id=ctx.trigger_id, view=declare_modal())
        return
    kwargs: dict[str, Any] = {"services": services, "tags": tags}
    if "started" in opts:
        kwargs["started_ago"] = parse_duration(opts["started"])
    if "private" in opts:
        kwargs["private"] = parse_yes_no(opts["private"], "private")
    if severity is not None:
        kwargs["severity"] = severity

    async def tell_declarer(outcome: Outcome) -> None:
        await ctx.reply(declared_text(outcome))

    outcome = await ctx.services.flows.declare(
        title=ctx.parsed.rest, declared_by=ctx.user_id, alongside=tell_declarer, **kwargs
    )
    if outcome.warnings:
        await ctx.reply(not_done_text(outcome))


@registry.subcommand(
    "role",
    usage="role ic|ops|comms <@user>",
    summary="give a role to someone (they are invited and told what it means)",
    aliases=("assign",),
    needs_incident=True,
)
async def role(ctx: CommandContext) -> None:
    """The user is invited to the channel and DMed what the role means; handoffs go on the
    timeline. Only the IC or an admin hands over the IC role; anyone may take Ops or Comms
    (also the header's buttons)."""
    words = ctx.parsed.words
    if len(words) != 2:
        raise UsageError("Say which role and who, e.g. `/incident role ops @bob`.")
    try:
        which = Role(words[0].lower())
    except ValueError:
        raise UsageError(f"`{escape(words[0])}` is not a role; use ic, ops or comms.") from None
    user_id = parse_user(words[1])
    incident = await ctx.incident()
    outcome = await ctx.services.flows.assign_role(incident, which, user_id, ctx.user_id)
    await ctx.reply(
        f"{mention(user_id)} is now {which.display_name} for {incident.id}."
        + warnings_text(outcome)
    )


@registry.subcommand(
    "roles", usage="roles", summary="who holds IC, Ops and Comms", needs_incident=True
)
async def roles(ctx: CommandContext) -> None:
    """Roles are optional; only the IC is set at declare."""
    incident = await ctx.incident()
    lines = [f"*Roles for {incident.id}*"]
    lines += [f"• {r.display_name}: {mention(incident.roles.get(r))}" for r in Role]
    await ctx.reply("\n".join(lines))


@registry.subcommand(
    "severity",
    usage="severity <1-4|sev1-sev4>",
    summary="change the severity",
    aliases=("sev",),
    needs_incident=True,
)
async def severity(ctx: CommandContext) -> None:
    """The topic and the header follow. Raising it to `PAGE_MIN_SEVERITY` or
    worse pages the on-call when a pager is configured."""
    if len(ctx.parsed.words) != 1:
        raise UsageError("Give one severity, e.g. `/incident severity 1`.")
    level = parse_severity(ctx.parsed.words[0])
    incident = await ctx.incident()
    await ctx.answer(await ctx.services.flows.set_severity(incident, level, ctx.user_id))


@registry.subcommand(
    "status",
    usage="status investigating|identified|monitoring|resolved",
    summary="move the incident along (records detected / mitigated / resolved times)",
    needs_incident=True,
)
async def status(ctx: CommandContext) -> None:
    """Records the identified and mitigated times. `resolved` is the resolve itself (the same
    checks and follow-ups as `/incident resolve`); `investigating` on a resolved incident
    reopens it."""
    if len(ctx.parsed.words) != 1:
        raise UsageError("Give one status.")
    try:
        new = Status(ctx.parsed.words[0].lower())
    except ValueError:
        raise UsageError(f"`{escape(ctx.parsed.words[0])}` is not a status.") from None
    if new is Status.CLOSED:
        raise UsageError("Use `/incident close` to close an incident.")
    incident = await ctx.incident()
    await ctx.answer(await ctx.services.flows.set_status(incident, new, ctx.user_id))


async def _labels(ctx: CommandContext, field_name: str) -> None:
    if len(ctx.parsed.words) != 1:
        raise UsageError(f"Give the {field_name} separated by commas, no spaces.")
    values = parse_list(ctx.parsed.words[0])
    incident = await ctx.incident()
    outcome = await ctx.services.flows.set_labels(
        incident, field_name=field_name, values=values, actor=ctx.user_id
    )
    await ctx.reply(
        f"{field_name.capitalize()} of {incident.id}: {', '.join(values)}" + warnings_text(outcome)
    )


@registry.subcommand(
    "services", usage="services a,b", summary="set the affected services", needs_incident=True
)
async def services(ctx: CommandContext) -> None:
    """The affected services: the metric checks, paging and patterns use them."""
    await _labels(ctx, "services")


@registry.subcommand("tags", usage="tags x,y", summary="set the tags", needs_incident=True)
async def tags(ctx: CommandContext) -> None:
    """Free tags, used by `/incident patterns` and the postmortem."""
    await _labels(ctx, "tags")


@registry.subcommand(
    "note", usage="note <text>", summary="add a key event to the timeline", needs_incident=True
)
async def note(ctx: CommandContext) -> None:
    """A key event on the timeline (as are pinned messages and messages given a :pushpin:)."""
    if not ctx.parsed.rest:
        raise UsageError("A note needs some text.")
    incident = await ctx.incident()
    outcome = await ctx.services.flows.add_note(incident, ctx.parsed.rest, ctx.user_id)
    await ctx.reply(f":pushpin: Noted on the timeline of {incident.id}." + warnings_text(outcome))


@registry.subcommand(
    "timeline",
    usage="timeline [all] [page:N]",
    summary="show the timeline (key events; `all` for every message)",
    options=("page",),
    needs_incident=True,
)
async def timeline(ctx: CommandContext) -> None:
    """Key events (pins, :pushpin:, notes, the bot's events), or with `all` every message
    kept from the channel (edits and deletes followed), paged."""
    words = [w.lower() for w in ctx.parsed.words]
    if words not in ([], ["all"]):
        raise UsageError(f"`{escape(' '.join(ctx.parsed.words))}` is not understood here.")
    page_text = ctx.parsed.options.get("page", "1")
    if not page_text.isdigit():
        raise UsageError(f"`page:{escape(page_text)}` is not a page number.")
    incident = await ctx.incident()
    everything = words == ["all"]
    entries, pages = await ctx.services.timeline.page(
        incident.id, everything=everything, page=int(page_text)
    )
    await ctx.reply(
        render_timeline(
            incident.id, entries, page=int(page_text), pages=pages, everything=everything
        )
    )


@registry.subcommand(
    "resolve",
    usage="resolve [summary]",
    summary="mark the incident resolved (IC or admin)",
    needs_incident=True,
)
async def resolve(ctx: CommandContext) -> None:
    """The time to resolve is recorded and announced, the update cadence stops,
    pages are resolved. With Prometheus, the incident's services are checked first: while a
    reading is still HIGH or CRITICAL you see the numbers and a *Resolve anyway* button instead.
    A repeat of an old incident whose action items were never finished is called out."""
    incident = await ctx.incident()
    await ctx.answer(
        await ctx.services.flows.resolve(incident, ctx.user_id, summary=ctx.parsed.rest or None)
    )


@registry.subcommand(
    "close", usage="close", summary="close after the postmortem (IC or admin)", needs_incident=True
)
async def close(ctx: CommandContext) -> None:
    """A resolved incident not closed after `CLOSE_AFTER` gets the IC a nudge."""
    incident = await ctx.incident()
    await ctx.answer(await ctx.services.flows.close(incident, ctx.user_id))


@registry.subcommand(
    "list",
    usage="list [all]",
    summary="open incidents (`all`: recent ones too, with declined and merged ones marked)",
)
async def list_incidents(ctx: CommandContext) -> None:
    """Open incidents; `all` also lists recent resolved, closed, declined and merged ones.
    Private incidents show only their id and severity."""
    words = [w.lower() for w in ctx.parsed.words]
    if words not in ([], ["all"]):
        raise UsageError(f"`{escape(ctx.parsed.rest, limit=60)}` is not understood here.")
    everything = words == ["all"]
    incidents = (
        await ctx.services.incidents.list_recent()
        if everything
        else await ctx.services.incidents.list_open()
    )
    if not incidents:
        await ctx.reply(":sunny: No open incidents." if not everything else "No incidents yet.")
        return
    heading = "Recent incidents" if everything else "Open incidents"
    lines = [f"*{heading} ({len(incidents)})*"]
    now = ctx.services.clock()
    access = ctx.services.incidents.access
    for inc in incidents:
        if not await access.can_read(inc, ctx.user_id):
            lines.append(f"• :lock: {inc.public_label} {inc.status.value}")
            continue
        lock = ":lock: " if inc.private else ""
        outcome = inc.status.value
        if inc.merged_into:
            outcome = f"duplicate of {inc.merged_into}"
        elif inc.is_declined:
            outcome = "declined (false alarm)" + (
                f": {escape(inc.decline_reason, limit=80)}" if inc.decline_reason else ""
            )
        lines.append(
            f"• {lock}*{inc.id}* {inc.severity.label} {outcome} — {escape(inc.title)} "
            f"<#{inc.channel_id}> · IC {mention(inc.roles.get(Role.IC))} · "
            f"since {when(inc.declared_at)} ({format_duration(now - inc.declared_at)})"
        )
    await ctx.reply("\n".join(lines))


@registry.subcommand("help", usage="help", summary="this list")
async def help_(ctx: CommandContext) -> None:
    """Generated from the command registry, less the integrations that are not configured."""
    await ctx.reply(registry.help_text(ctx.services.has))


def register(app: AsyncApp, services: Services) -> None:
    @app.command("/incident")
    @reports_errors(services)
    async def incident_command(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await run_slash_command(
            registry,
            services,
            ack=ack,
            command=command,
            respond=respond,
            client=client,
        )
