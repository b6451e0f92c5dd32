"""/incident postmortem publish [confluence|notion|gdocs] [place:<id>]: the latest postmortem
version into each configured place (or the one named); a private incident asks for a
confirmation first (a button only the asker sees), and its first document needs the place
named. The listener here is that button."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.errors import UsageError
from bot.mrkdwn import escape
from bot.publishing.service import PublishOutcome
from bot.services import Services
from commands.context import CommandContext, first_click, reports_errors

CONFIRM_ACTION = "postmortem_publish_confirm"
USAGE = "postmortem publish [confluence|notion|gdocs] [place:<parent page or folder id>]"
PLACE = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
NOT_CONFIGURED = (
    ":information_source: Publishing is not configured. Set the `CONFLUENCE_…`, `NOTION_…` "
    "or `GDRIVE_FOLDER_ID` (with `GOOGLE_SERVICE_ACCOUNT_FILE`) settings to publish "
    "postmortems there."
)


def outcome_text(outcome: PublishOutcome) -> str:
    lines = [f":page_facing_up: {label}: {url}" for label, url in outcome.published]
    lines += [f":warning: I {p}." for p in outcome.problems]
    return "\n".join(lines) or ":information_source: Nothing was published."


async def publish(ctx: CommandContext) -> None:
    incident = await ctx.incident()  # the read rule first: a private incident's outsider
    service = ctx.services.publishing
    if service is None:
        await ctx.reply(NOT_CONFIGURED)
        return
    names = [w.lower() for w in ctx.parsed.words[1:]]
    targets = service.resolve_targets(names)
    place = ctx.parsed.options.get("place")
    if place is not None and not PLACE.match(place):
        raise UsageError(f"`place:{escape(place)}` is not a page or folder id.")
    if not incident.private:
        await ctx.reply(outcome_text(await service.publish(
            incident.id, targets, actor=ctx.user_id, place=place)))
        return
    new = [t for t in targets if incident.link("postmortem", t.name) is None]
    if new and place is None:
        raise UsageError(
            f"{incident.id} is private: name where its postmortem goes, e.g. "
            f"`/incident postmortem publish {new[0].name} place:<parent page or folder id>`."
        )
    where = ", ".join(
        t.label + (f" under `{escape(place)}`" if place and t in new else " (the same page)")
        for t in targets)
    await ctx.respond(
        text=f"Publish the postmortem of private incident {incident.id}?",
        response_type="ephemeral", replace_original=False,
        blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": (
                f":lock: *{incident.id} is private.* Its postmortem will be readable by "
                f"whoever can read {where}. Publish it there?")}},
            {"type": "actions", "elements": [{
                "type": "button", "style": "danger", "action_id": CONFIRM_ACTION,
                "text": {"type": "plain_text", "text": "Publish"},
                "value": "|".join([incident.id, ",".join(t.name for t in targets),
                                   place or ""]),
            }]},
        ],
    )


def register(app: AsyncApp, services: Services) -> None:
    @app.action(CONFIRM_ACTION)
    @reports_errors(services)
    async def confirmed(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        incident_id, names, place = [*str(body["actions"][0].get("value", "")).split("|"),
                                     "", ""][:3]
        user = body["user"]["id"]
        # only someone who may read the incident publishes it (bot/incidents/access.py)
        await services.incidents.readable(incident_id, user)
        service = services.publishing
        if service is None:
            await respond(text=NOT_CONFIGURED, response_type="ephemeral",
                          replace_original=False)
            return
        if not await first_click(services, body):
            return
        if place and not PLACE.match(place):
            raise UsageError("That button is not one the bot made.")
        targets = service.resolve_targets([n for n in names.split(",") if n])
        outcome = await service.publish(incident_id, targets, actor=user,
                                        place=place or None, confirmed=True)
        await respond(text=outcome_text(outcome), response_type="ephemeral",
                      replace_original=True)
