"""/incident update|cadence|subscribe|unsubscribe, the update modal, the buttons that open
it or follow an incident, and the fix buttons on the worker's nudges (Still active, Draft
postmortem, Close incident; Resolve is the header's). Thin: parse, call, answer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import IncidentBotError, PermissionDenied, UsageError
from bot.incidents.models import Incident, Severity, Status
from bot.mrkdwn import escape, when
from bot.parsing import parse_duration, parse_severity, parse_yes_no
from bot.services import Services
from bot.settings import OFF_WORDS
from bot.slack.update_blocks import (
    CADENCE_CHOICE,
    CLOSE_ACTION,
    DRAFT_POSTMORTEM_ACTION,
    FOLLOW_ACTION,
    OPEN_UPDATE_ACTION,
    STILL_ACTIVE_ACTION,
    UPDATE_CALLBACK,
    update_modal,
)
from bot.updates.cadence import MAX_CADENCE, MIN_CADENCE
from bot.updates.models import MAX_FIELD_CHARS, UpdateDraft
from bot.updates.service import UpdateResult, UpdateService
from commands.context import CommandContext, clicked_incident, first_click, reports_errors
from commands.incident import registry
from commands.postmortem import draft_reply

NOT_SET_UP = "Status updates are not set up on this bot."
UPDATABLE = (Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED)


def _service(services: Services) -> UpdateService:
    if services.updates is None:
        raise IncidentBotError(NOT_SET_UP)
    updates: UpdateService = services.updates
    return updates


def parse_next(value: str) -> timedelta:
    every = parse_duration(value)
    if not MIN_CADENCE <= every <= MAX_CADENCE:
        raise UsageError(f"`next:{escape(value)}` must be between 5m and 24h.")
    return every


def parse_status(value: str) -> Status:
    try:
        status = Status(value.strip().lower())
    except ValueError:
        status = None
    if status not in UPDATABLE:
        raise UsageError(
            f"`status:{escape(value)}` is not a status; use investigating, identified, "
            "monitoring or resolved."
        )
    assert status is not None
    return status


def describe_result(result: UpdateResult) -> str:
    inc, upd = result.incident, result.update
    text = f":mega: Update #{upd.seq} for *{inc.id}* posted in <#{inc.channel_id}>"
    if inc.announcement_ts:
        text += " and the announcement's thread"
    if result.followers:
        text += f"; {result.followers} follower(s) get it by DM (queued for the worker)"
    text += "."
    if upd.next_update_due is not None:
        text += f" Next update due by {when(upd.next_update_due)}."
    if result.warnings:
        text += "\n:warning: The update is recorded, but I " + "; ".join(result.warnings) + "."
    return text


@registry.subcommand(
    "update",
    usage="update <what changed> [status:investigating|identified|monitoring|resolved] "
    "[sev:N] [next:30m] [public:yes]",
    summary="post a status update: the channel, the announcement's thread and every "
    "follower; `next:` promises the next one (no text: a form)",
    options=("status", "sev", "severity", "next", "public"),
    needs_incident=True,
)
async def update(ctx: CommandContext) -> None:
    """Roles only, unless `UPDATES_BY_ANYONE=true`. Posted in the channel and in the
    announcement's thread; the announcement is edited to show the latest status and "next
    update by"; every follower is DMed once; a key event goes on the timeline. `status:` and
    `sev:` change through the normal path. With no text, a form (what changed, current impact,
    next steps, next update in). `public:yes` also posts the words as the next update of the
    incident's public incident on the status page (checked like every publish)."""
    service = _service(ctx.services)
    opts = ctx.parsed.options
    sev_text = opts.get("sev") or opts.get("severity")
    severity: Severity | None = parse_severity(sev_text) if sev_text else None
    status = parse_status(opts["status"]) if "status" in opts else None
    next_in = parse_next(opts["next"]) if "next" in opts else None
    public = parse_yes_no(opts["public"], "public") if "public" in opts else False
    if public and ctx.services.statuspage is None:
        raise UsageError("`public:yes` needs the status page (STATUS_PAGE_COMPONENTS).")
    if not ctx.parsed.rest:
        if opts or not ctx.trigger_id:
            raise UsageError("An update needs some text: what changed.")
        incident = await ctx.incident()
        await service.may_post(incident, ctx.user_id)
        await ctx.client.views_open(
            trigger_id=ctx.trigger_id,
            view=update_modal(incident, cadence_label=service.cadence_label(incident)),
        )
        return
    if len(ctx.parsed.rest) > MAX_FIELD_CHARS:
        raise UsageError(f"An update is at most {MAX_FIELD_CHARS} characters.")
    incident = await ctx.incident()
    draft = UpdateDraft(text=ctx.parsed.rest, next_in=next_in, status=status, severity=severity)
    if public and ctx.services.statuspage is not None:  # refuse unpublishable words first
        await ctx.services.statuspage.publishing.may_publish(incident, ctx.user_id)
    result = await service.post_update(incident, draft, ctx.user_id)
    text = describe_result(result)
    if public and ctx.services.statuspage is not None:
        try:
            done = await ctx.services.statuspage.publishing.publish_update_text(
                result.incident, ctx.parsed.rest, ctx.user_id)
            text += f"\n:globe_with_meridians: Also on the status page ({done.update.status})."
        except IncidentBotError as exc:
            text += f"\n:warning: Not on the status page: {exc.message}"
    await ctx.reply(text)


@registry.subcommand(
    "cadence",
    usage="cadence <15m|1h|off>",
    summary="how often updates are due for this incident (default by severity); the Comms "
    "lead (or IC) is reminded when one is due",
    needs_incident=True,
)
async def cadence(ctx: CommandContext) -> None:
    """When an update is due the Comms lead (or the IC) gets a DM with a *Post update* button,
    and `UPDATE_OVERDUE_AFTER` later the channel is told once; resolving stops it. Defaults by
    severity: `UPDATE_CADENCE_SEV1` … `UPDATE_CADENCE_SEV4`."""
    service = _service(ctx.services)
    words = ctx.parsed.words
    if len(words) > 1:
        raise UsageError("Give one cadence, e.g. `/incident cadence 15m`, or `off`.")
    incident = await ctx.incident()
    if not words:
        due = service.due(incident)
        when_due = f"; next update due by {when(due)}" if due else ""
        await ctx.reply(
            f"Update cadence of *{incident.id}*: {service.cadence_label(incident)}{when_due}."
        )
        return
    every = None if words[0].lower() in OFF_WORDS else parse_next(words[0])
    updated = await service.set_cadence(incident, every, ctx.user_id)
    due = service.due(updated)
    tail = f" Next update due by {when(due)}." if due else " No update reminders."
    await ctx.reply(
        f":repeat: Update cadence of *{updated.id}*: {service.cadence_label(updated)}.{tail}"
    )


@registry.subcommand(
    "subscribe",
    usage="subscribe",
    summary="follow this incident: every update and the resolve by DM",
    aliases=("follow",),
    needs_incident=True,
)
async def subscribe(ctx: CommandContext) -> None:
    """Every update and the resolve by DM; also the *Follow updates* button on the
    announcement. A private incident's follower outside its channel gets only its label."""
    service = _service(ctx.services)
    if ctx.parsed.words:
        raise UsageError("`subscribe` takes no words; use `id:INC-…` outside the channel.")
    incident = await ctx.followed_incident()
    added = await service.subscribe(incident, ctx.user_id)
    already = "" if added else " (you already did)"
    await ctx.reply(f":bell: You follow *{incident.id}*{already}: updates come by DM.")


@registry.subcommand(
    "unsubscribe",
    usage="unsubscribe",
    summary="stop following this incident's updates",
    aliases=("unfollow",),
    needs_incident=True,
)
async def unsubscribe(ctx: CommandContext) -> None:
    service = _service(ctx.services)
    if ctx.parsed.words:
        raise UsageError("`unsubscribe` takes no words; use `id:INC-…` outside the channel.")
    incident = await ctx.followed_incident()
    removed = await service.unsubscribe(incident, ctx.user_id)
    text = "You no longer follow" if removed else "You were not following"
    await ctx.reply(f":no_bell: {text} *{incident.id}*.")


def _value(state: dict[str, Any], block: str) -> str:
    element = state.get(block, {}).get("value", {})
    if element.get("type") == "static_select":
        return str((element.get("selected_option") or {}).get("value", ""))
    return str(element.get("value") or "")


def read_update_form(
    view: dict[str, Any], incident: Incident
) -> tuple[UpdateDraft | None, dict[str, str]]:
    """The modal's fields as an UpdateDraft, or per-field errors."""
    state = view["state"]["values"]
    errors: dict[str, str] = {}
    text = _value(state, "what_changed").strip()
    if not text:
        errors["what_changed"] = "Say what changed."
    next_value = _value(state, "next_update") or CADENCE_CHOICE
    next_in: timedelta | None = None
    if next_value != CADENCE_CHOICE:
        try:
            next_in = parse_next(next_value)
        except UsageError as exc:
            errors["next_update"] = exc.message
    status_value = _value(state, "status")
    status: Status | None = None
    if status_value:
        try:
            status = parse_status(status_value)
        except UsageError as exc:
            errors["status"] = exc.message
    sev_value = _value(state, "severity")
    severity: Severity | None = None
    if sev_value:
        try:
            severity = parse_severity(sev_value)
        except UsageError as exc:
            errors["severity"] = exc.message
    if errors:
        return None, errors
    try:
        draft = UpdateDraft(
            text=text,
            impact=_value(state, "impact"),
            next_steps=_value(state, "next_steps"),
            next_in=next_in,
            status=None if status == incident.status else status,
            severity=None if severity == incident.severity else severity,
        )
    except ValidationError:
        return None, {"what_changed": f"At most {MAX_FIELD_CHARS} characters per field."}
    return draft, {}


def register(app: AsyncApp, services: Services) -> None:
    async def tell(respond: AsyncRespond, body: dict[str, Any], text: str) -> None:
        if body.get("response_url"):
            await respond(text=text, response_type="ephemeral", replace_original=False)
        else:
            await services.chat.direct_message(body["user"]["id"], text)

    @app.action(OPEN_UPDATE_ACTION)
    @reports_errors(services)
    async def open_update(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        service = _service(services)
        incident = await clicked_incident(services, body)
        await service.may_post(incident, body["user"]["id"])
        if not incident.is_active:
            raise IncidentBotError(f"{incident.id} is {incident.status.value}; no update is due.")
        await client.views_open(
            trigger_id=body["trigger_id"],
            view=update_modal(incident, cadence_label=service.cadence_label(incident)),
        )

    @app.action(FOLLOW_ACTION)
    @reports_errors(services)
    async def follow(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        service = _service(services)
        if not await first_click(services, body):
            return
        # following brings a non-member only the label and status (CommandContext.followed_incident)
        incident = await services.store.get_incident(body["actions"][0]["value"])
        added = await service.subscribe(incident, body["user"]["id"])
        already = "" if added else " (you already did)"
        await tell(
            respond,
            body,
            f":bell: You follow *{incident.id}*{already}: every update and the resolve come "
            f"by DM. `/incident unsubscribe id:{incident.id}` to stop.",
        )

    @app.view(UPDATE_CALLBACK)
    @reports_errors(services)
    async def update_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        service = _service(services)
        user = body["user"]["id"]
        try:
            incident = await services.incidents.readable(view["private_metadata"], user)
        except PermissionDenied as exc:  # a private incident's outsider: its label, on the form
            await ack(response_action="errors", errors={"what_changed": exc.message})
            return
        draft, errors = read_update_form(view, incident)
        if draft is None:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        result = await service.post_update(incident, draft, user)
        await services.chat.direct_message(user, describe_result(result))

    @app.action(STILL_ACTIVE_ACTION)
    @reports_errors(services)
    async def still_active(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        if not await first_click(services, body):
            return
        user = body["user"]["id"]
        incident = await clicked_incident(services, body)
        if not incident.is_active:
            raise IncidentBotError(f"{incident.id} is already {incident.status.value}.")
        await services.flows.add_note(
            incident, "Still active (answered the no-activity reminder)", user
        )
        await tell(
            respond, body, f":ok_hand: Noted on the timeline of *{incident.id}*: still active."
        )

    @app.action(DRAFT_POSTMORTEM_ACTION)
    @reports_errors(services)
    async def draft_postmortem(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        if services.postmortems is None:
            raise IncidentBotError("Postmortems are not set up on this bot.")
        if not await first_click(services, body):
            return
        incident = await clicked_incident(services, body)
        pm = await services.postmortems.draft(incident.id)
        await tell(respond, body, draft_reply(pm, incident.channel_id))

    @app.action(CLOSE_ACTION)
    @reports_errors(services)
    async def close_incident(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        if not await first_click(services, body):
            return
        incident = await clicked_incident(services, body)
        await services.flows.close(incident, body["user"]["id"])
        await tell(respond, body, f":lock: *{incident.id}* is closed.")
