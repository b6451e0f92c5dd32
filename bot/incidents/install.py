"""The incident's own follow-ups and its lifecycle beyond resolve. Installed first: the
channel's topic and header, the line in the channel, the announcement, invitations and the
role DM on every change (follow_ups.py), then the steps of reopen, decline, merge, private
and corrected times (lifecycle_steps.py); open action items move with a merge."""

from __future__ import annotations

from bot.features import InstallContext, Installed
from bot.incidents.follow_ups import add_standard_steps
from bot.incidents.lifecycle import LifecycleService
from bot.incidents.lifecycle_steps import add_lifecycle_steps
from bot.slack.blocks import join_posts


def install(ctx: InstallContext) -> Installed:
    incidents, actions = ctx.services.incidents, ctx.services.actions
    ctx.flows.lifecycle = LifecycleService(
        incidents=incidents, move_open_items=actions.move_open_items if actions else None
    )
    channel = ctx.settings.incidents_channel
    add_standard_steps(
        ctx.flows,
        incidents=incidents,
        chat=ctx.chat,
        incidents_channel=channel,
        join_posts=join_posts,
    )
    add_lifecycle_steps(ctx.flows, incidents=incidents, chat=ctx.chat)
    return Installed("lifecycle")
