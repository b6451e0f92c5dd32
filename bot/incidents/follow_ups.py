"""The follow-up steps every incident change has: the channel's topic and header, the line
posted in the channel, the announcement in the incidents channel, invitations and the role
DM. bot/incidents/install.py registers them first; features add theirs after (see flows.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.incidents.changes import Blocks
from bot.incidents.flows import Change, IncidentFlows, Outcome
from bot.incidents.models import Incident, Role, format_duration
from bot.incidents.service import IncidentService
from bot.mrkdwn import escape, mention
from bot.ports import ChatGateway

TOPIC_MAX = 250  # Slack cuts a channel topic at 250 characters


def topic_for(incident: Incident) -> str:
    ic = incident.roles.get(Role.IC)
    topic = (
        f"{incident.severity.label} | {incident.status.value.capitalize()} | "
        f"IC: {mention(ic)} | {incident.id}"
    )
    call = incident.call_url
    if call and incident.is_active and len(topic) + len(call) + 9 <= TOPIC_MAX:
        topic += f" | Call: {call}"
    return topic


def channel_line(outcome: Outcome) -> str | None:
    """The line a change posts in the incident channel (None: it posts none)."""
    by = mention(outcome.actor)
    event = outcome.events[0].text if outcome.events else ""
    inc = outcome.incident
    match outcome.change:
        case Change.ROLE:
            return f":busts_in_silhouette: {event} — set by {by}"
        case Change.SEVERITY:
            before = outcome.before.severity if outcome.before else inc.severity
            arrow = ":arrow_up:" if inc.severity < before else ":arrow_down:"
            return f"{arrow} {event} — by {by}"
        case Change.STATUS:
            return f":large_blue_circle: {event} — by {by}"
        case Change.RESOLVED:
            return (
                f":white_check_mark: Resolved by {by} after "
                f"{format_duration(inc.time_to_resolve)}."
                + (f"\n>{escape(outcome.summary)}" if outcome.summary else "")
            )
        case Change.CLOSED:
            return f":lock: Closed by {by}."
    return None


def declaration(incident: Incident) -> str:
    if incident.private:  # outside its channel a private incident is only its label
        return f":lock: *{incident.public_label}* — declared."
    return (
        f":rotating_light: *{incident.severity.label}* {escape(incident.title)} — "
        f"declared by {mention(incident.declared_by)} in <#{incident.channel_id}>"
    )


def resolution(incident: Incident) -> str:
    if incident.private:
        return f":lock: *{incident.public_label}* — resolved."
    return (
        f":white_check_mark: *{incident.id}* {escape(incident.title)} resolved "
        f"({format_duration(incident.time_to_resolve)}) — <#{incident.channel_id}>"
    )


PostsJoin = Callable[[Sequence[tuple[str, Blocks]]], tuple[str, Blocks]]


def add_standard_steps(
    flows: IncidentFlows,
    *,
    incidents: IncidentService,
    chat: ChatGateway,
    incidents_channel: str,
    join_posts: PostsJoin,
) -> None:
    """`join_posts` makes one message of several (text, blocks) parts (bot/slack/blocks.py)."""
    # --- declare: after the channel exists, every Slack call at once
    async def invite_declarer(outcome: Outcome) -> None:
        await chat.invite(outcome.incident.channel_id, [outcome.incident.declared_by])

    async def set_topic(outcome: Outcome) -> None:
        await chat.set_topic(outcome.incident.channel_id, topic_for(outcome.incident))

    async def post_header(outcome: Outcome) -> None:
        ts = await chat.post_header(outcome.incident)
        # in place: the announcement step beside this one records its ts on the same copy
        outcome.incident.header_ts = (
            await incidents.remember_header(outcome.incident.id, ts)
        ).header_ts

    async def announce_declared(outcome: Outcome) -> None:
        # its ts is kept: status updates reply in its thread and edit it (bot/updates/)
        where, ts = await chat.post_announcement(
            incidents_channel, outcome.incident, declaration(outcome.incident)
        )
        await incidents.remember_announcement(outcome.incident.id, where, ts)

    declare = Change.DECLARED
    flows.after(
        declare,
        "invite",
        invite_declarer,
        warning="could not invite you to the channel",
        concurrent=True,
    )
    flows.after(
        declare, "topic", set_topic, warning="could not set the channel topic", concurrent=True
    )
    flows.after(
        declare,
        "header",
        post_header,
        warning="could not post the header message",
        concurrent=True,
    )
    flows.after(
        declare,
        "announcement",
        announce_declared,
        warning=f"could not announce it in #{incidents_channel}",
        concurrent=True,
    )

    async def channel_posts(outcome: Outcome) -> None:
        """What the reading steps beside the first batch left, as one message after the
        header (a feature registers its step `concurrent=True, before="channel posts"`)."""
        posts = sorted(outcome.posts, key=lambda p: p.order)
        if not posts:
            return
        text, blocks = join_posts([(p.text, p.blocks) for p in posts])
        try:
            await chat.post_blocks(outcome.incident.channel_id, text, blocks)
        except Exception:
            for post in posts:
                if post.warning:
                    outcome.warn(post.warning)
                if post.undo is not None:
                    await post.undo()
            raise

    flows.after(declare, "channel posts", channel_posts)

    # --- every later change: topic and header follow the record, a line in the channel
    async def update_header(outcome: Outcome) -> None:
        if outcome.incident.header_ts:
            await chat.update_header(outcome.incident)

    async def post_line(outcome: Outcome) -> None:
        line = channel_line(outcome)
        if line:
            await chat.post(outcome.incident.channel_id, line)

    async def invite_assignee(outcome: Outcome) -> None:
        if outcome.assignee:
            await chat.invite(outcome.incident.channel_id, [outcome.assignee])

    async def tell_assignee(outcome: Outcome) -> None:
        inc, role = outcome.incident, outcome.role
        if outcome.assignee and role is not None:
            await chat.direct_message(
                outcome.assignee,
                f"You are now *{role.display_name}* for *{escape(inc.title)}* "
                f"(<#{inc.channel_id}>, {inc.severity.label}).\n{role.duties}",
            )

    async def announce_resolved(outcome: Outcome) -> None:
        await chat.announce(incidents_channel, outcome.incident, resolution(outcome.incident))

    for change in (
        Change.ROLE,
        Change.SEVERITY,
        Change.STATUS,
        Change.LABELS,
        Change.RESOLVED,
        Change.CLOSED,
    ):
        if change is Change.ROLE:
            flows.after(change, "invite", invite_assignee, warning="could not invite them")
        flows.after(change, "topic", set_topic, warning="could not set the channel topic")
        flows.after(change, "header", update_header, warning="could not update the header")
        flows.after(change, "channel post", post_line, warning="could not post in the channel")
    flows.after(Change.ROLE, "role DM", tell_assignee, warning="could not DM them their duties")
    flows.after(
        Change.RESOLVED,
        "announcement",
        announce_resolved,
        warning=f"could not announce it in #{incidents_channel}",
    )
