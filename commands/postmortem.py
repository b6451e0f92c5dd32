"""/incident postmortem and /incident summary, and the "Accept" button on proposed items."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.errors import IncidentBotError, UsageError
from bot.mrkdwn import escape, mention
from bot.postmortem.models import ACTION_GROUPS, GROUP_ORDER, Postmortem
from bot.postmortem.render import UNASSIGNED, claims_line
from bot.services import Services
from commands import publishing
from commands.context import CommandContext, first_click, reports_errors
from commands.incident import registry

ACCEPT_ACTION = "postmortem_accept_action"
NOT_SET_UP = "Postmortems are not set up on this bot."
MAX_BUTTONS = 20


def accept_blocks(pm: Postmortem) -> list[dict[str, object]]:
    """One section per proposed action item, each with an Accept button."""
    blocks: list[dict[str, object]] = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"*Proposed action items from postmortem v{pm.version} of "
                f"{pm.incident_id}* — accept one to track it with an owner and a due date.",
            },
        }
    ]
    ordered = sorted(pm.action_items, key=lambda a: (GROUP_ORDER.index(a.type), a.priority))
    for a in ordered[:MAX_BUTTONS]:
        due = f" · due {a.due_suggestion.isoformat()}" if a.due_suggestion else ""
        owner = a.owner_suggestion or ""
        who = mention(owner) if owner.startswith(("U", "W")) else escape(owner or UNASSIGNED)
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"*{a.id}* {ACTION_GROUPS[a.type]} · {a.priority} · {who}{due}\n"
                    f"{escape(a.description)}",
                },
                "accessory": {
                    "type": "button",
                    "action_id": ACCEPT_ACTION,
                    "text": {"type": "plain_text", "text": "Accept"},
                    "value": f"{pm.incident_id}|{a.id}|v{pm.version}",
                },
            }
        )
    if len(ordered) > MAX_BUTTONS:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"…and {len(ordered) - MAX_BUTTONS} more in the file; add them "
                        "with `/incident action add`.",
                    }
                ],
            }
        )
    return blocks


_AT_USER = re.compile(r"(?<![\w<])@([UW][A-Z0-9]{2,})\b")


def _people(text: str) -> str:
    """Escaped text with the record's `@U123` people as Slack mentions."""
    return _AT_USER.sub(lambda m: mention(m.group(1)), escape(text))


def draft_reply(pm: Postmortem, channel_id: str, *, budget: float = 0.0) -> str:
    top = pm.root_causes[0]
    if pm.ai_written:
        how = f"AI-drafted ({escape(pm.ai_model or 'Claude')}); {escape(claims_line(pm))}"
    elif pm.ai_pending:
        how = (
            f"built from the record; AI draft in progress, at most {budget:g} s — it follows "
            "as the next version once its claims are checked"
        )
    else:
        how = f"not AI-written: {escape(pm.not_ai_reason or 'no model configured')}"
    return (
        f":memo: Postmortem draft v{pm.version} for *{pm.incident_id}* posted in "
        f"<#{channel_id}> ({how}).\n"
        f"Root cause: {_people(top.cause)} (confidence {top.confidence:.0%}"
        + (", evidence is thin" if top.confidence < 0.7 else "")
        + f"). {len(pm.action_items)} proposed action item(s)."
    )


def no_ai_reply(pm: Postmortem) -> str:
    return (
        f":information_source: No AI draft: {escape(pm.not_ai_reason or 'the model gave none')}; "
        f"postmortem v{pm.version} is built from the record."
    )


@registry.subcommand(
    "postmortem",
    usage="postmortem [publish [confluence|notion|gdocs] [place:<id>]]",
    summary="draft the postmortem from the record and post it as a file (kept in Redis); "
    "`publish`: put the latest version in Confluence, Notion or Google Docs (each new "
    "version updates the same document)",
    aliases=("pm",),
    options=("place",),
    needs_incident=True,
)
async def postmortem(ctx: CommandContext) -> None:
    """Posts the draft built from the record at once: a Markdown file (kept in Redis) with
    *Accept* buttons for its proposed action items. With `ANTHROPIC_API_KEY` the AI draft follows
    as the next version once every claim in it is checked against the record
    (docs/postmortems.md); when it is not ready in `ANTHROPIC_TIMEOUT` the channel is told why in
    plain words and the record's draft stands. `publish` puts the latest version in
    Confluence, Notion or Google Docs; each new version updates the same document there, and
    a private incident is published only after you confirm and name the place."""
    if ctx.parsed.words and ctx.parsed.words[0].lower() == "publish":
        await publishing.publish(ctx)
        return
    if ctx.parsed.options.get("place"):
        raise UsageError("`place:` goes with `postmortem publish`.")
    service = ctx.services.postmortems
    if service is None:
        await ctx.reply(f":warning: {NOT_SET_UP}")
        return
    incident = await ctx.incident()
    # never wait on the model: the record's draft goes out first, the AI draft follows
    first = await service.draft_from_record(incident.id)
    text = draft_reply(first, incident.channel_id, budget=service.drafter.budget)
    chat, can_accept = ctx.services.chat, ctx.services.actions is not None
    if first.action_items and not can_accept:
        text += (
            "\nAction items are not set up, so the proposals cannot be accepted with a "
            "click; they are listed in the file."
        )
    await ctx.reply(text)
    buttons_ts: str | None = None
    if first.action_items and can_accept:
        buttons_ts = await chat.post_blocks(
            incident.channel_id,
            f"Proposed action items from the postmortem of {incident.id}",
            accept_blocks(first),
        )
    if not first.ai_pending:
        return
    final = await service.draft_with_ai(incident.id, first)
    if not final.ai_written:
        await ctx.reply(no_ai_reply(final))
        return
    await ctx.reply(draft_reply(final, incident.channel_id))
    if not (final.action_items and can_accept):
        return
    text = f"Proposed action items from the postmortem of {incident.id}"
    if buttons_ts is not None:
        await chat.update_blocks(incident.channel_id, buttons_ts, text, accept_blocks(final))
    else:
        await chat.post_blocks(incident.channel_id, text, accept_blocks(final))


@registry.subcommand(
    "summary",
    usage="summary [exec]",
    summary="catch up: what happened, status, who holds which role, what is being tried; "
    "`exec`: a short, jargon-free summary for stakeholders (affected, since, status, what "
    "is being done, what is needed, next update)",
    aliases=("catchup",),
    needs_incident=True,
)
async def summary(ctx: CommandContext) -> None:
    """A catch-up for people joining. `exec`: a stakeholder summary in plain words (what is
    affected, since when, current status, what is being done, what is needed, next update),
    from the record; with `ANTHROPIC_API_KEY` the model rewords it and every reworded part is
    checked against the record (people, times, numbers, regions) — a part that fails keeps the
    record's words, and times always come from the record."""
    words = [w.lower() for w in ctx.parsed.words]
    if words not in ([], ["exec"]):
        raise UsageError(f"`summary {escape(' '.join(ctx.parsed.words))}` is not understood.")
    if words == ["exec"]:
        if ctx.services.updates is None:
            await ctx.reply(":warning: Status updates are not set up on this bot.")
            return
        incident = await ctx.incident()
        await ctx.reply(await ctx.services.updates.exec_summary(incident))
        return
    service = ctx.services.postmortems
    if service is None:
        await ctx.reply(f":warning: {NOT_SET_UP}")
        return
    incident = await ctx.incident()
    await ctx.reply(await service.summary(incident.id))


def register(app: AsyncApp, services: Services) -> None:
    """The Accept button. Without action items or postmortems set up it answers so."""

    @app.action(ACCEPT_ACTION)
    @reports_errors(services)
    async def accept_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        if services.postmortems is None:
            raise IncidentBotError(NOT_SET_UP)
        if services.actions is None:
            raise IncidentBotError("Action items are not set up on this bot.")
        if not await first_click(services, body):
            return
        act = body["actions"][0]
        user = body["user"]["id"]
        parts = [*str(act.get("value", "")).split("|"), "", ""]
        incident_id, proposal_id, version = parts[0], parts[1], parts[2].removeprefix("v")
        if version and not version.isdigit():
            raise UsageError("That button is not one the bot made.")
        await services.incidents.readable(incident_id, user)
        item = await services.postmortems.accept_action(
            incident_id, proposal_id, user, version=int(version) if version else None
        )
        await respond(
            text=f":ballot_box_with_check: {proposal_id} is now tracked as *{item.id}* "
            f"({item.priority.value}) for {mention(item.owner)}: {escape(item.text)}",
            response_type="ephemeral",
            replace_original=False,
        )
