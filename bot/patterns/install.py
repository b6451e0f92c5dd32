"""The patterns feature: similar past incidents posted on declare (looked up while
declare's Slack calls are on their way), recurrence recorded on resolve, and the
`/incident patterns` service the commands use."""

from __future__ import annotations

from bot.features import InstallContext, Installed
from bot.incidents.flows import Change, ChannelPost, Outcome
from bot.patterns.service import PatternService
from bot.slack.blocks import text_blocks

SIMILAR_ORDER = 10  # first in declare's message after the header


def install(ctx: InstallContext) -> Installed:
    chat = ctx.chat
    patterns = PatternService(
        store=ctx.store,
        chat=chat,
        clock=ctx.clock,
        actions=ctx.services.actions,
        postmortems=ctx.services.postmortems,
        # the postmortem's runbooks: the category and the postmortem's cause rank alike
        runbooks=ctx.services.postmortems.library if ctx.services.postmortems else None,
    )

    async def find_similar(outcome: Outcome) -> None:
        """Reads only Redis: runs while declare's Slack calls are on their way; the list is
        posted with the other posts right after the header (declare's "channel posts")."""
        await patterns.index.add(outcome.incident)
        matches = await patterns.similar(outcome.incident)
        if matches:
            text = await patterns.render_matches(matches)
            outcome.post_after_header(
                ChannelPost(
                    order=SIMILAR_ORDER,
                    text=text,
                    blocks=text_blocks(text),
                    warning="could not post the similar past incidents",
                )
            )

    async def recurrence(outcome: Outcome) -> None:
        outcome.data["recurrence"] = await patterns.on_resolve(outcome.incident)

    ctx.flows.after(
        Change.DECLARED,
        "find similar incidents",
        find_similar,
        concurrent=True,
        before="channel posts",
    )
    ctx.flows.after(Change.RESOLVED, "recurrence", recurrence)
    return Installed("patterns", provides={"patterns": patterns})
