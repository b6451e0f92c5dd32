"""Insights plug in here: the service (the numbers, bot/insights/service.py) and its two
routes on the web app, `/insights` and `/api/v1/insights` (bot/web/insights.py), which
answer like every web path until the web app is configured."""

from __future__ import annotations

from bot.features import InstallContext, Installed
from bot.insights.service import InsightsService, rules_from


def install(ctx: InstallContext) -> Installed:
    from bot.web.insights import routes

    service = InsightsService(
        store=ctx.store,
        users=ctx.chat,
        access=ctx.services.incidents.access,
        clock=ctx.clock,
        rules=rules_from(ctx.settings),
    )
    return Installed("insights", provides={"insights": service}, routes=routes())
