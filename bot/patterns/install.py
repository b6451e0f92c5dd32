"""The patterns feature: similar past incidents posted on declare (looked up while
declare's Slack calls are on their way), recurrence recorded on resolve, and the
`/incident patterns` service the commands use."""

from __future__ import annotations

from bot.features import InstallContext, Installed
from bot.incidents.flows import Change, Outcome
from bot.patterns.service import PatternService


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
        """Reads only Redis: runs while declare's Slack calls are on their way."""
        await patterns.index.add(outcome.incident)
        matches = await patterns.similar(outcome.incident)
        if matches:
            outcome.data["similar incidents"] = await patterns.render_matches(matches)

    async def post_similar(outcome: Outcome) -> None:
        """After the header, so the channel reads in order."""
        text = outcome.data.get("similar incidents")
        if isinstance(text, str):
            await chat.post(outcome.incident.channel_id, text)

    async def recurrence(outcome: Outcome) -> None:
        outcome.data["recurrence"] = await patterns.on_resolve(outcome.incident)

    ctx.flows.after(Change.DECLARED, "find similar incidents", find_similar, concurrent=True)
    ctx.flows.after(Change.DECLARED, "similar incidents", post_similar)
    ctx.flows.after(Change.RESOLVED, "recurrence", recurrence)
    return Installed("patterns", provides={"patterns": patterns})
