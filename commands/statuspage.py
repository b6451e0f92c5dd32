"""/incident statuspage and /incident maintenance, the publish form and its preview's
Publish button, the questions after a status change and a resolve, and the maintenance
form. Thin: parse, call bot/statuspage, answer."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.errors import IncidentBotError, PermissionDenied, UsageError
from bot.incidents.models import Incident
from bot.mrkdwn import escape, when
from bot.services import Services
from bot.slack.statuspage_blocks import (
    MAINTENANCE_CALLBACK,
    OPEN_FORM_ACTION,
    PUBLISH_ACTION,
    PUBLISH_CALLBACK,
    RESOLVE_ACTION,
    maintenance_modal,
    preview_blocks,
)
from bot.statuspage.bundle import StatusPage
from bot.statuspage.maintenance import parse_when
from bot.statuspage.models import ComponentStatus, PublicStatus
from bot.statuspage.service import DRAFT_TTL, Published, PublishRequest
from bot.statuspage.wording import draft_title
from commands.context import CommandContext, clicked_incident, first_click, reports_errors
from commands.incident import registry
from commands.statuspage_forms import (
    open_publish_form,
    read_maintenance_form,
    read_publish_form,
)

NOT_SET_UP = (
    "The status page is not set up. Set `STATUS_PAGE_COMPONENTS` to a components file "
    "(`incident-bot status-page suggest` writes one) to publish from here."
)
STATUS_WORDS = {
    "operational": ComponentStatus.OPERATIONAL, "ok": ComponentStatus.OPERATIONAL,
    "up": ComponentStatus.OPERATIONAL, "degraded": ComponentStatus.DEGRADED,
    "degraded_performance": ComponentStatus.DEGRADED, "slow": ComponentStatus.DEGRADED,
    "partial": ComponentStatus.PARTIAL, "partial_outage": ComponentStatus.PARTIAL,
    "major": ComponentStatus.MAJOR, "major_outage": ComponentStatus.MAJOR,
    "down": ComponentStatus.MAJOR, "outage": ComponentStatus.MAJOR,
    "maintenance": ComponentStatus.MAINTENANCE, "under_maintenance": ComponentStatus.MAINTENANCE,
}


def page_of(services: Services) -> StatusPage:
    if services.statuspage is None:
        raise IncidentBotError(NOT_SET_UP)
    page: StatusPage = services.statuspage
    return page


def parse_component(page: StatusPage, token: str) -> tuple[str, ComponentStatus]:
    name, _, word = token.partition("=")
    status = STATUS_WORDS.get(word.strip().lower())
    if status is None:
        raise UsageError(f"`{escape(word)}` is not a component status; use operational, "
                         "degraded, partial, major or maintenance.")
    return page.publishing.component_name(name), status


def parse_public_status(value: str) -> PublicStatus:
    try:
        return PublicStatus(value.strip().lower())
    except ValueError:
        raise UsageError(f"`status:{escape(value)}` is not a public status; use investigating, "
                         "identified, monitoring or resolved.") from None


def published_text(done: Published) -> str:
    verb = "Published" if done.created else "Updated"
    text = (f":globe_with_meridians: {verb} *{escape(done.public.name)}* on the status page "
            f"({done.update.status}).")
    if done.warnings:
        text += "\n:warning: It is published, but I " + "; ".join(done.warnings) + "."
    return text


@registry.subcommand(
    "statuspage",
    usage="statuspage [<component>=<status> …] [status:investigating|identified|monitoring|"
    "resolved] [\"title:<public title>\"] [public message]",
    summary="publish to the status page: components and their statuses, a public title and "
    "message (no text: a form; no message: a drafted one to check, then Publish); IC, Comms "
    "or admins",
    options=("status", "title"),
    needs_incident=True,
    requires="statuspage",
)
async def statuspage(ctx: CommandContext) -> None:
    """Statuses are `operational`, `degraded`, `partial`, `major` or `maintenance`
    (Statuspage's `degraded_performance`, `partial_outage`, `major_outage`,
    `under_maintenance` work too). With a message it is published at once: the words you
    typed are your yes. Without one, the bot drafts the wording from the record (no names,
    channels or internal service names) and shows it with a *Publish* button. Every publish
    goes on the timeline and in the channel as "Published to the status page: …"; words that
    name people, channels, hosts or internal services are refused, and so is anything from a
    private incident's record."""
    page = page_of(ctx.services)
    opts, words = ctx.parsed.options, ctx.parsed.words
    incident = await ctx.incident()
    await page.publishing.may_publish(incident, ctx.user_id)
    if not words and not opts:
        if not ctx.trigger_id:
            raise UsageError("Say which components, e.g. `Checkout=degraded`, or open the form.")
        await open_publish_form(ctx.client, ctx.trigger_id, page, incident)
        return
    statuses: dict[str, ComponentStatus] = {}
    message_words: list[str] = []
    for word in words:
        if "=" in word and not message_words:
            name, component_status = parse_component(page, word)
            statuses[name] = component_status
        else:
            message_words.append(word)
    proposal = await page.publishing.proposal(incident)
    statuses = statuses or proposal.components
    status = parse_public_status(opts["status"]) if "status" in opts else proposal.status
    current = await page.publishing.open_public(incident)
    title = opts.get("title") or (current.name if current else draft_title(statuses))
    note = ""
    if message_words:
        message = " ".join(message_words)
    else:
        drafted = await page.publishing.drafted(incident, statuses, status, title)
        message, title = drafted.message, opts.get("title") or drafted.title
        note = f"worded by {drafted.by}" + (f"; {drafted.note}" if drafted.note else "")
    try:
        request = PublishRequest(components=statuses, status=status, title=title,
                                 message=message, incident_id=incident.id)
    except ValidationError:
        raise UsageError("A title is at most 255 characters, a message at most 2,000.") from None
    if message_words:
        await ctx.reply(published_text(await page.publishing.publish(incident, request,
                                                                      ctx.user_id)))
        return
    await page.publishing.check(incident, request)
    ref = await page.publishing.keep_draft(request)
    states = ", ".join(f"{n} {s.label.lower()}" for n, s in statuses.items())
    preview = (f"*Drafted for the status page* ({escape(note)}; check it, then Publish; it "
               f"keeps {int(DRAFT_TTL.total_seconds() // 60)} minutes):\n*{escape(title)}* — "
               f"{status.value} ({escape(states)})\n>{escape(message)}")
    await ctx.respond(text=preview, blocks=preview_blocks(preview, ref),
                      response_type="ephemeral", replace_original=False)


async def zone_of(services: Services, user_id: str) -> ZoneInfo:
    try:
        return ZoneInfo((await services.chat.user(user_id)).tz or "UTC")
    except (IncidentBotError, ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


async def may_schedule(services: Services, page: StatusPage, user_id: str) -> None:
    if page.admins_configured and not await services.incidents.is_admin(user_id):
        raise PermissionDenied("Only admins (ADMIN_USERGROUP) schedule maintenance.")


@registry.subcommand(
    "maintenance",
    usage="maintenance <component,component…> <start> <end|2h> <message>",
    summary="schedule maintenance on the status page: upcoming until it starts, then in "
    "progress and completed on time (no text: a form)",
    requires="statuspage",
)
async def maintenance(ctx: CommandContext) -> None:
    """Times are `2026-12-01T02:00` (in your Slack time zone unless it names its own) or
    `02:00` (the next one); the end may be a length such as `2h`. The worker moves the window
    to in progress at its start and completed at its end, once however many workers run;
    subscribers and the Statuspage mirror hear of each step. With ADMIN_USERGROUP set, only
    its members schedule."""
    page = page_of(ctx.services)
    await may_schedule(ctx.services, page, ctx.user_id)
    words = ctx.parsed.words
    if not words:
        if not ctx.trigger_id:
            raise UsageError("Give the components, the start, the end and a message.")
        names = [c.name for c in page.components.components]
        await ctx.client.views_open(trigger_id=ctx.trigger_id, view=maintenance_modal(names))
        return
    if len(words) < 4:
        raise UsageError("Give the components, the start, the end and a message.")
    zone = await zone_of(ctx.services, ctx.user_id)
    now = ctx.services.clock()
    start = parse_when(words[1], now=now, zone=zone)
    end = parse_when(words[2], now=now, zone=zone, after=start)
    names = [n for n in words[0].split(",") if n.strip()]
    window = await page.maintenance.schedule(names, start, end, " ".join(words[3:]), ctx.user_id)
    await ctx.reply(
        f":wrench: Scheduled *{escape(window.name)}* on the status page: {when(start)} to "
        f"{when(end)} ({escape(', '.join(window.components))})."
    )


def register(app: AsyncApp, services: Services) -> None:
    async def tell(respond: AsyncRespond, text: str) -> None:
        await respond(text=text, response_type="ephemeral", replace_original=False)

    @app.action(PUBLISH_ACTION)
    @reports_errors(services)
    async def publish_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        page = page_of(services)
        if not await first_click(services, body):
            return
        ref = str(body["actions"][0].get("value") or "")
        request = await page.publishing.draft(ref)
        user = body["user"]["id"]
        incident = await services.incidents.readable(request.incident_id, user)
        await page.publishing.may_publish(incident, user)  # before the draft is used up
        request = await page.publishing.draft(ref, take=True)
        await tell(respond, published_text(await page.publishing.publish(incident, request,
                                                                          user)))

    @app.action(OPEN_FORM_ACTION)
    @reports_errors(services)
    async def open_form(ack: AsyncAck, body: dict[str, Any], client: Any) -> None:
        await ack()
        page = page_of(services)
        incident = await clicked_incident(services, body)
        await page.publishing.may_publish(incident, body["user"]["id"])
        await open_publish_form(client, body["trigger_id"], page, incident)

    @app.action(RESOLVE_ACTION)
    @reports_errors(services)
    async def resolve_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        page = page_of(services)
        if not await first_click(services, body):
            return
        incident = await clicked_incident(services, body)
        await tell(respond, published_text(await page.publishing.resolve(incident,
                                                                          body["user"]["id"])))

    @app.view(PUBLISH_CALLBACK)
    @reports_errors(services)
    async def form_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        page = page_of(services)
        user = body["user"]["id"]
        try:
            incident: Incident = await services.incidents.readable(view["private_metadata"],
                                                                   user)
            request, errors = read_publish_form(view, page, incident)
            if request is not None:
                await page.publishing.may_publish(incident, user)
                await page.publishing.check(incident, request)
        except IncidentBotError as exc:
            await ack(response_action="errors", errors={"message": exc.message[:2000]})
            return
        if request is None:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        done = await page.publishing.publish(incident, request, user)
        await services.chat.direct_message(user, published_text(done))

    @app.view(MAINTENANCE_CALLBACK)
    @reports_errors(services)
    async def maintenance_submitted(ack: AsyncAck, body: dict[str, Any],
                                    view: dict[str, Any]) -> None:
        page = page_of(services)
        user = body["user"]["id"]
        try:
            await may_schedule(services, page, user)
            names, start, end, message = read_maintenance_form(view, page)
            window = await page.maintenance.schedule(names, start, end, message, user)
        except IncidentBotError as exc:
            await ack(response_action="errors", errors={"message": exc.message[:2000]})
            return
        await ack()
        await services.chat.direct_message(
            user, f":wrench: Scheduled *{escape(window.name)}*: {when(window.scheduled_for)} to "
            f"{when(window.scheduled_until)}.")

