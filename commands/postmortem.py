"""/incident postmortem and /incident summary, and the "Accept" button on proposed items."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.errors import IncidentBotError
from bot.mrkdwn import escape, mention
from bot.postmortem.models import ACTION_GROUPS, GROUP_ORDER, Postmortem
from bot.services import Services
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
        who = mention(owner) if owner.startswith(("U", "W")) else escape(owner or "you")
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
                    "value": f"{pm.incident_id}|{a.id}",
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


def draft_reply(pm: Postmortem, channel_id: str) -> str:
    top = pm.root_causes[0]
    how = (
        f"AI-drafted ({escape(pm.ai_model or 'Claude')})"
        if pm.ai_written
        else f"not AI-written: {escape(pm.not_ai_reason or 'no model configured')}"
    )
    return (
        f":memo: Postmortem draft v{pm.version} for *{pm.incident_id}* posted in "
        f"<#{channel_id}> ({how}).\n"
        f"Root cause: {escape(top.cause)} (confidence {top.confidence:.0%}"
        + (", evidence is thin" if top.confidence < 0.7 else "")
        + f"). {len(pm.action_items)} proposed action item(s)."
    )


@registry.subcommand(
    "postmortem",
    usage="postmortem",
    summary="draft the postmortem from the record and post it as a file (kept in Redis)",
    aliases=("pm",),
    needs_incident=True,
)
async def postmortem(ctx: CommandContext) -> None:
    service = ctx.services.postmortems
    if service is None:
        await ctx.reply(f":warning: {NOT_SET_UP}")
        return
    incident = await ctx.incident()
    pm = await service.draft(incident.id)
    text = draft_reply(pm, incident.channel_id)
    if pm.action_items and ctx.services.actions is None:
        text += (
            "\nAction items are not set up, so the proposals cannot be accepted with a "
            "click; they are listed in the file."
        )
    await ctx.reply(text)
    if pm.action_items and ctx.services.actions is not None:
        await ctx.services.chat.post_blocks(
            incident.channel_id,
            f"Proposed action items from the postmortem of {incident.id}",
            accept_blocks(pm),
        )


@registry.subcommand(
    "summary",
    usage="summary",
    summary="catch up: what happened, status, who holds which role, what is being tried",
    aliases=("catchup",),
    needs_incident=True,
)
async def summary(ctx: CommandContext) -> None:
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
        incident_id, _, proposal_id = str(act.get("value", "")).partition("|")
        item = await services.postmortems.accept_action(incident_id, proposal_id, user)
        await respond(
            text=f":ballot_box_with_check: {proposal_id} is now tracked as *{item.id}* "
            f"({item.priority.value}) for {mention(item.owner)}: {escape(item.text)}",
            response_type="ephemeral",
            replace_original=False,
        )
