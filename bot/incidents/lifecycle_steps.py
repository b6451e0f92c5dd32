"""The follow-up steps of the lifecycle changes (reopen, decline, merge, private, corrected
times): the channel's topic and header, a line in the channel, the announcement edited in
place, and for a merge or a conversion the pointer, the invitations and the archiving.
bot/incidents/install.py registers them after the standard steps; features add theirs after these
(e.g. the update cadence restarting on Change.REOPENED)."""

from __future__ import annotations

from bot.incidents.flows import Change, IncidentFlows, Outcome
from bot.incidents.follow_ups import declaration, topic_for
from bot.incidents.lifecycle import Conversion, Merge
from bot.incidents.service import IncidentService
from bot.incidents.times import TimeCorrection
from bot.mrkdwn import escape, mention, when
from bot.ports import ChatGateway


def lifecycle_line(outcome: Outcome) -> str | None:
    """The line a lifecycle change posts in the incident channel."""
    by, reason = mention(outcome.actor), outcome.summary
    because = f": {escape(reason)}" if reason else "."
    match outcome.change:
        case Change.REOPENED:
            return f":leftwards_arrow_with_hook: Reopened by {by}{because}"
        case Change.DECLINED:
            return f":no_entry_sign: Declined as a false alarm by {by}{because}"
        case Change.TIMES:
            made: list[TimeCorrection] = outcome.data.get("corrections", [])  # type: ignore[assignment]
            lines = [f":stopwatch: Key times corrected by {by}:"]
            lines += [
                f"• {c.name}: {when(c.old) if c.old else 'unset'} → {when(c.new)}" for c in made
            ]
            return "\n".join(lines)
    return None


def status_line(outcome: Outcome) -> str | None:
    """The line under the announcement after a lifecycle change (never any content: a
    reason stays in the incident channel). Status updates keep it current afterwards."""
    by = mention(outcome.actor)
    match outcome.change:
        case Change.REOPENED:
            return f":leftwards_arrow_with_hook: *Reopened* by {by} — investigating again"
        case Change.DECLINED:
            return f":no_entry_sign: *Declined* as a false alarm by {by}"
        case Change.MERGED:
            return f":twisted_rightwards_arrows: *Duplicate* of {outcome.incident.merged_into}"
        case Change.PRIVATE:
            return ":lock: *Private* — details only in its channel"
    return None


def add_lifecycle_steps(
    flows: IncidentFlows, *, incidents: IncidentService, chat: ChatGateway
) -> None:
    async def set_topic(outcome: Outcome) -> None:
        await chat.set_topic(outcome.incident.channel_id, topic_for(outcome.incident))

    async def update_header(outcome: Outcome) -> None:
        if outcome.incident.header_ts:
            await chat.update_header(outcome.incident)

    async def post_line(outcome: Outcome) -> None:
        line = lifecycle_line(outcome)
        if line:
            await chat.post(outcome.incident.channel_id, line)

    async def edit_announcement(outcome: Outcome) -> None:
        inc, line = outcome.incident, status_line(outcome)
        if line and inc.announcement_channel_id and inc.announcement_ts:
            await chat.update_announcement(inc, declaration(inc), line)

    for change in (Change.REOPENED, Change.DECLINED):
        flows.after(change, "topic", set_topic, warning="could not set the channel topic")
        flows.after(change, "header", update_header, warning="could not update the header")
        flows.after(change, "channel post", post_line, warning="could not post in the channel")
        flows.after(
            change, "announcement", edit_announcement, warning="could not update the announcement"
        )
    flows.after(Change.TIMES, "header", update_header, warning="could not update the header")
    flows.after(Change.TIMES, "channel post", post_line, warning="could not post in the channel")

    # --- merge: people and a pointer follow the record to the target
    async def invite_to_target(outcome: Outcome) -> None:
        merge: Merge = outcome.data["merge"]  # type: ignore[assignment]
        source, target = outcome.incident, merge.target
        source_members = await chat.channel_members(source.channel_id)
        target_members = set(await chat.channel_members(target.channel_id))
        invited = [m for m in source_members if m not in target_members]
        outcome.data["invited"] = invited
        if invited:
            await chat.invite(target.channel_id, invited)

    async def tell_target(outcome: Outcome) -> None:
        merge: Merge = outcome.data["merge"]  # type: ignore[assignment]
        invited: list[str] = outcome.data.get("invited", [])  # type: ignore[assignment]
        await chat.post(
            merge.target.channel_id,
            f":twisted_rightwards_arrows: *{outcome.incident.id}* was merged into this incident "
            f"by {mention(outcome.actor)}: {merge.events_copied} timeline events copied, "
            f"{len(merge.items_moved)} open action items moved, {len(invited)} people invited.",
        )

    async def leave_pointer(outcome: Outcome) -> None:
        merge: Merge = outcome.data["merge"]  # type: ignore[assignment]
        await chat.post(
            outcome.incident.channel_id,
            f":twisted_rightwards_arrows: This incident is a duplicate of *{merge.target.id}*; "
            f"it continues in <#{merge.target.channel_id}>. This channel is archived.",
        )

    async def archive(outcome: Outcome) -> None:
        await chat.archive_channel(outcome.incident.channel_id)

    merged = Change.MERGED
    flows.after(merged, "invite", invite_to_target, warning="could not invite its members")
    flows.after(merged, "target post", tell_target, warning="could not post in the target")
    flows.after(merged, "pointer", leave_pointer, warning="could not post the pointer")
    flows.after(
        merged, "announcement", edit_announcement, warning="could not update the announcement"
    )
    flows.after(merged, "archive", archive, warning="could not archive this channel")

    # --- private: the new channel gets the people, topic and header; the old one a pointer
    async def invite_members(outcome: Outcome) -> None:
        conversion: Conversion = outcome.data["conversion"]  # type: ignore[assignment]
        if conversion.members:
            await chat.invite(outcome.incident.channel_id, conversion.members)

    async def post_header(outcome: Outcome) -> None:
        ts = await chat.post_header(outcome.incident)
        outcome.incident.header_ts = (
            await incidents.remember_header(outcome.incident.id, ts)
        ).header_ts

    async def drop_public_header(outcome: Outcome) -> None:
        conversion: Conversion = outcome.data["conversion"]  # type: ignore[assignment]
        if conversion.public_header_ts:  # it carries the title
            await chat.delete_message(conversion.public_channel, conversion.public_header_ts)

    async def rename_public(outcome: Outcome) -> None:
        conversion: Conversion = outcome.data["conversion"]  # type: ignore[assignment]
        # the public channel's name carries the title: it becomes the incident id
        await chat.rename_channel(conversion.public_channel, f"{outcome.incident.id.lower()}-moved")
        conversion.renamed = True

    async def point_and_archive(outcome: Outcome) -> None:
        conversion: Conversion = outcome.data["conversion"]  # type: ignore[assignment]
        await chat.post(
            conversion.public_channel,
            ":lock: This incident is now private and continues in a private channel; its "
            "members were invited there. This channel is archived.",
        )
        await chat.archive_channel(conversion.public_channel)

    private = Change.PRIVATE
    flows.after(
        private, "invite", invite_members, warning="could not invite the members", concurrent=True
    )
    flows.after(
        private, "topic", set_topic, warning="could not set the channel topic", concurrent=True
    )
    flows.after(
        private, "header", post_header, warning="could not post the header", concurrent=True
    )
    flows.after(
        private,
        "announcement",
        edit_announcement,
        warning="could not update the announcement",
        concurrent=True,
    )
    flows.after(
        private,
        "public header",
        drop_public_header,
        warning="could not delete the old header",
        concurrent=True,
    )
    flows.after(
        private,
        "public name",
        rename_public,
        warning="could not rename the public channel (its name still shows the title)",
    )
    flows.after(
        private,
        "public channel",
        point_and_archive,
        warning="could not archive the public channel",
    )
