"""/incident action add|list|done|snooze|due|reassign, the item buttons and App Home."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal, cast

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.actions.models import ActionItem
from bot.actions.service import ActionItemService
from bot.errors import IncidentBotError, IntegrationError, NotInIncidentChannel, UsageError
from bot.mrkdwn import escape, mention, when
from bot.parsing import parse_duration, parse_user
from bot.registry import CommandRegistry
from bot.services import Services
from bot.slack.action_blocks import (
    DONE_ACTION,
    DUE_BLOCK,
    DUE_CALLBACK,
    DUE_DATE,
    NO_DUE_DATE,
    SET_DUE_ACTION,
    SNOOZE_ACTION,
    due_modal,
    home_view,
)
from bot.slack.update_blocks import home_update_blocks
from commands.context import CommandContext, first_click, reports_errors
from commands.incident import registry

NOT_SET_UP = "Action items are not set up on this bot."
Scope = Literal["mine", "overdue", "all"]
SCOPES: dict[str, Scope] = {"mine": "mine", "overdue": "overdue", "all": "all"}
actions_registry = CommandRegistry(
    "/incident action",
    default="list",
    every_form_in_errors=True,
    unknown="`action {word}` is not understood.",
    unavailable=lambda services: NOT_SET_UP if services.actions is None else None,
)
NO_TRACKER = (
    ":information_source: No issue tracker is configured. Set the `JIRA_…`, `GITHUB_…` or "
    "`LINEAR_…` settings to follow action items in Jira, GitHub or Linear."
)


def notes_text(item: Any) -> str:
    """What a follower (the tracker) could not do, for the reply."""
    return "".join(f"\n:warning: I {note}." for note in item.notes)


def _line(item: Any, now: Any) -> str:
    due = f" · {NO_DUE_DATE}" if item.is_open else ""
    if item.due is not None:
        due = f" · due {when(item.due)}" + (" :warning: overdue" if item.is_overdue(now) else "")
    state = ":white_check_mark: " if not item.is_open else ""
    extra = f" · {item.type.value}" if item.type else ""
    extra += f" · {escape(item.ticket)}" if item.ticket else ""
    if item.tracked is not None:
        extra += f" · <{item.tracked.url}|{escape(item.tracked.key)}>"
    return (
        f"• {state}*{item.id}* {item.priority.value} {mention(item.owner)}{due}{extra} "
        f"({item.incident_id}): {escape(item.text)}"
    )


def _service(ctx: CommandContext) -> ActionItemService:
    if ctx.services.actions is None:  # the registry answers "not set up" before this
        raise UsageError(NOT_SET_UP)
    service: ActionItemService = ctx.services.actions
    return service


def _item_id(ctx: CommandContext, verb: str, count: int, how: str) -> str:
    args = ctx.parsed.words
    if not args:
        raise UsageError(f"Say which item, e.g. `action {verb} AI-0001`.")
    if len(args) != count:
        raise UsageError(how)
    return args[0].upper()


@actions_registry.subcommand(
    "add",
    usage="add <@owner> <text> [due:DATE] [priority:P0-P3] "
    "[type:prevent|detect|mitigate|process] [ticket:KEY-123]",
    summary="a tracked action item for the incident",
    options=("due", "priority", "type", "ticket", "id"),
)
async def add(ctx: CommandContext) -> None:
    """The owner is reminded before the due date and when it is overdue, in their working
    hours; the IC is told after `REMINDER_ESCALATE_AFTER` ignored reminders."""
    args, opts = ctx.parsed.words, ctx.parsed.options
    if len(args) < 2:
        raise UsageError("Say who owns it and what to do, e.g. `action add @bob fix pool`.")
    owner = parse_user(args[0])
    incident = await ctx.incident()
    item = await _service(ctx).add(
        incident,
        owner=owner,
        text=" ".join(args[1:]),
        actor=ctx.user_id,
        due=opts.get("due"),
        priority=opts.get("priority"),
        type=opts.get("type"),
        ticket=opts.get("ticket"),
    )
    due = f", due {when(item.due)}" if item.due else ""
    tracked = f" · <{item.tracked.url}|{escape(item.tracked.key)}>" if item.tracked else ""
    await ctx.reply(
        f":ballot_box_with_check: *{item.id}* ({item.priority.value}) for "
        f"{mention(owner)}{due}: {escape(item.text)}{tracked}" + notes_text(item)
    )


@actions_registry.subcommand(
    "list",
    usage="list [mine|overdue|all]",
    summary="yours, the overdue ones, or all (in an incident channel: its items)",
    options=("id",),
)
async def list_items(ctx: CommandContext) -> None:
    """The list marks items with no due date; those are nudged every `UNDATED_REMINDER` with a
    *Set due date* button (a date picker) in the DM."""
    args = ctx.parsed.words
    if len(args) > 1 or (args and args[0].lower() not in SCOPES):
        raise UsageError("List `mine`, `overdue` or `all`.")
    incident_id: str | None = None
    try:
        incident_id = (await ctx.incident()).id
    except NotInIncidentChannel:
        incident_id = None
    scope: Scope = SCOPES[args[0].lower()] if args else ("all" if incident_id else "mine")
    items = await _service(ctx).list_items(scope, user_id=ctx.user_id, incident_id=incident_id)
    items = await readable_items(ctx.services, items, ctx.user_id)
    where = f" in {incident_id}" if incident_id and scope != "mine" else ""
    if not items:
        await ctx.reply(f"No {scope} action items{where}.")
        return
    now = ctx.services.clock()
    lines = [f"*Action items ({scope}{where}): {len(items)}*"]
    lines += [_line(i, now) for i in items[:50]]
    if len(items) > 50:
        lines.append(f"…and {len(items) - 50} more.")
    await ctx.reply("\n".join(lines))


@actions_registry.subcommand("done", usage="done <id>", summary="finish an item")
async def done(ctx: CommandContext) -> None:
    """Owner, IC or admin (also the DM's button and App Home). A linked tracker issue gets a
    comment and is closed."""
    item_id = _item_id(ctx, "done", 1, "Give one item id.")
    item, changed = await _service(ctx).done(item_id, ctx.user_id)
    note = "" if changed else " (it already was)"
    await ctx.reply(f":white_check_mark: *{item.id}* is done{note}." + notes_text(item))


@actions_registry.subcommand(
    "snooze", usage="snooze <id> [for:3d]", summary="remind later", options=("for",)
)
async def snooze(ctx: CommandContext) -> None:
    """No reminders until then (default a day)."""
    item_id = _item_id(ctx, "snooze", 1, "Give one item id, and optionally `for:3d`.")
    opts = ctx.parsed.options
    duration = parse_duration(opts["for"]) if "for" in opts else None
    item = await _service(ctx).snooze(item_id, ctx.user_id, duration)
    assert item.snoozed_until is not None
    await ctx.reply(f":zzz: *{item.id}* snoozed until {when(item.snoozed_until)}.")


@actions_registry.subcommand(
    "due", usage="due <id> <YYYY-MM-DD|tomorrow|3d>", summary="set or move the due date"
)
async def due(ctx: CommandContext) -> None:
    """Owner, IC or admin; the reminders follow the new date."""
    item_id = _item_id(
        ctx, "due", 2, "Give the item id and the date, e.g. `action due AI-0001 3d`."
    )
    item = await _service(ctx).set_due(item_id, ctx.parsed.words[1], ctx.user_id)
    assert item.due is not None
    await ctx.reply(f":spiral_calendar_pad: *{item.id}* is due {when(item.due)}.")


@actions_registry.subcommand(
    "reassign", usage="reassign <id> <@user>", summary="give an item to someone else"
)
async def reassign(ctx: CommandContext) -> None:
    """Owner, IC or admin; the reminders start over for the new owner."""
    item_id = _item_id(ctx, "reassign", 2, "Give the item id and the new owner.")
    new_owner = parse_user(ctx.parsed.words[1])
    item = await _service(ctx).reassign(item_id, new_owner, ctx.user_id)
    await ctx.reply(
        f":arrows_counterclockwise: *{item.id}* now belongs to {mention(new_owner)}."
    )


@actions_registry.subcommand(
    "track", usage="track <id>", summary="create its tracker issue", requires="tracking"
)
async def track(ctx: CommandContext) -> None:
    """The issue in Jira, GitHub or Linear: title, the incident's link and summary, owner (by
    email), due date, priority, labels. Done in the tracker finishes the item; done here closes
    the issue (docs/integrations.md)."""
    await _track_or_link(ctx, "track", ctx.parsed.words)


@actions_registry.subcommand(
    "link",
    usage="link <id> <KEY-1|URL>",
    summary="link an existing tracker issue",
    requires="tracking",
)
async def link(ctx: CommandContext) -> None:
    """A key like `OPS-12` or its URL; kept in step like a tracked one."""
    await _track_or_link(ctx, "link", ctx.parsed.words)


async def _track_or_link(ctx: CommandContext, verb: str, args: list[str]) -> None:
    tracking = ctx.services.tracking
    if tracking is None:
        await ctx.reply(NO_TRACKER)
        return
    wanted = 1 if verb == "track" else 2
    if len(args) != wanted:
        example = "AI-0001" if verb == "track" else "AI-0001 OPS-123"
        raise UsageError(f"Give {'the item id' if wanted == 1 else 'the item id and the issue'}, "
                         f"e.g. `action {verb} {example}`.")
    item_id = args[0].upper()
    item = await _service(ctx).get(item_id)
    await _service(ctx).may_change(item, ctx.user_id, verb)
    try:
        if verb == "track":
            item = await tracking.track(item_id, ctx.user_id)
        else:
            item = await tracking.link(item_id, args[1], ctx.user_id)
    except IntegrationError as exc:
        what = "create" if verb == "track" else "find"
        later = " I will keep trying." if exc.retryable and verb == "track" else ""
        await ctx.reply(f":warning: I could not {what} the {tracking.name} issue: "
                        f"{escape(exc.message)}.{later}")
        return
    assert item.tracked is not None
    await ctx.reply(f":link: *{item.id}* is followed in {tracking.name}: "
                    f"<{item.tracked.url}|{escape(item.tracked.key)}>")


registry.mount(
    "action",
    actions_registry,
    summary="action items: add <@owner> <text> [due:] [priority:] [type:] [ticket:], "
    "list [mine|overdue|all], done <id>, snooze <id> [for:3d], due <id> <date>, "
    "reassign <id> <@user>",
    aliases=("actions", "ai"),
)


async def readable_items(
    services: Services, items: list[ActionItem], user_id: str
) -> list[ActionItem]:
    """The items as `user_id` may read them: an item of a private incident they may not read
    shows its incident's label instead of its text."""
    of_items = await services.store.incidents(sorted({i.incident_id for i in items}))
    access = services.incidents.access
    hidden = {
        inc.id: inc.public_label for inc in of_items if not await access.can_read(inc, user_id)
    }
    return [
        i.model_copy(update={"text": hidden[i.incident_id], "ticket": None, "tracked": None})
        if i.incident_id in hidden
        else i
        for i in items
    ]


async def publish_home(services: Services, client: AsyncWebClient, user_id: str) -> None:
    """App Home: the user's items, roles and followed incidents; a private incident they may
    not read (bot/incidents/access.py) is only its label there."""
    access = services.incidents.access
    actions = services.actions
    items = [] if actions is None else await actions.list_items("mine", user_id=user_id)
    items = await readable_items(services, items, user_id)
    incidents = [
        inc
        for inc in await services.incidents.list_open()
        if (user_id in inc.roles.values() or inc.declared_by == user_id)
        and await access.can_read(inc, user_id)
    ]
    view = home_view(items, incidents, services.clock())
    if services.updates is not None:  # roles with the next update due, followed incidents
        leading, followed = await services.updates.home(user_id, incidents)
        followed = [  # a private incident followed from outside its channel: the label only
            inc
            if await access.can_read(inc, user_id)
            else inc.model_copy(update={"title": inc.public_label, "services": []})
            for inc in followed
        ]
        mine = home_update_blocks(leading, followed, services.clock())
        theirs = cast(list[dict[str, Any]], view["blocks"])
        view["blocks"] = [*mine, {"type": "divider"}, *theirs][:100]
    await client.views_publish(user_id=user_id, view=view)


def register(app: AsyncApp, services: Services) -> None:
    async def tell(respond: AsyncRespond, body: dict[str, Any], text: str) -> None:
        if body.get("response_url"):
            await respond(text=text, response_type="ephemeral", replace_original=False)
        else:
            await services.chat.direct_message(body["user"]["id"], text)

    async def after_click(body: dict[str, Any], client: AsyncWebClient) -> None:
        if (body.get("view") or {}).get("type") == "home":
            await publish_home(services, client, body["user"]["id"])

    @app.action(DONE_ACTION)
    @reports_errors(services)
    async def done_clicked(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        if services.actions is None:
            raise IncidentBotError(NOT_SET_UP)
        if not await first_click(services, body):
            return
        item, changed = await services.actions.done(body["actions"][0]["value"], body["user"]["id"])
        if changed:
            await tell(respond, body,
                       f":white_check_mark: *{item.id}* is done. Thank you!" + notes_text(item))
        await after_click(body, client)

    @app.action(SNOOZE_ACTION)
    @reports_errors(services)
    async def snooze_clicked(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        if services.actions is None:
            raise IncidentBotError(NOT_SET_UP)
        if not await first_click(services, body):
            return
        item = await services.actions.snooze(body["actions"][0]["value"], body["user"]["id"])
        assert item.snoozed_until is not None
        await tell(respond, body, f":zzz: *{item.id}* snoozed until {when(item.snoozed_until)}.")
        await after_click(body, client)

    @app.action(SET_DUE_ACTION)
    @reports_errors(services)
    async def set_due_clicked(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """"Set due date" on an undated item's reminder (or App Home) opens the date modal."""
        await ack()
        if services.actions is None:
            raise IncidentBotError(NOT_SET_UP)
        item = await services.actions.readable(
            str(body["actions"][0].get("value") or ""), body["user"]["id"]
        )
        week = (services.clock() + timedelta(days=7)).date().isoformat()
        await client.views_open(trigger_id=body["trigger_id"], view=due_modal(item, week))

    @app.view(DUE_CALLBACK)
    @reports_errors(services)
    async def due_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        """The same change as `/incident action due`; a bad date is shown on the field."""
        if services.actions is None:
            await ack()
            raise IncidentBotError(NOT_SET_UP)
        values = view.get("state", {}).get("values", {})
        picked = str(values.get(DUE_BLOCK, {}).get(DUE_DATE, {}).get("selected_date") or "")
        user = body["user"]["id"]
        try:
            if not picked:
                raise UsageError("Pick a day.")
            item = await services.actions.set_due(str(view.get("private_metadata")), picked, user)
        except IncidentBotError as exc:
            await ack(response_action="errors", errors={DUE_BLOCK: exc.message})
            return
        await ack()
        assert item.due is not None
        await services.chat.direct_message(
            user, f":spiral_calendar_pad: *{item.id}* is due {when(item.due)}."
        )

    @app.event("app_home_opened")
    @reports_errors(services, tell_user=False)
    async def home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        await publish_home(services, client, str(event["user"]))
