"""`/insights` (the page, with the number of weeks in its URL) and `/api/v1/insights` (the
same record as JSON, for a session or a script with WEB_API_TOKEN). The read rule holds:
a private incident the reader may not read is counted only by its severity and times
(bot/insights/compute.py), and a script with the token reads as nobody in particular."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from bot.errors import UsageError
from bot.insights.charts import charts, duration
from bot.insights.service import DEFAULT_WEEKS, MAX_WEEKS, weeks_asked
from bot.web.api import caller
from bot.web.app_state import require_state
from bot.web.pages import render
from bot.web.sessions import require_user

if TYPE_CHECKING:
    from bot.insights.service import InsightsService

CHOICES = (4, 8, 12, 26, 52)
USAGE = f"?weeks=N: the last N weeks, N a whole number from 1 to {MAX_WEEKS} (default 12)"


def _service(request: web.Request) -> InsightsService:
    service = require_state(request).services.insights
    if service is None:
        raise web.HTTPServiceUnavailable(text="insights are not installed")
    return service


async def insights_page(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    service = _service(request)
    try:
        weeks = weeks_asked(request.query.get("weeks"))
    except UsageError as exc:
        context = {"problem": str(exc), "usage": USAGE, "weeks": DEFAULT_WEEKS,
                   "choices": CHOICES, "ins": None, "charts": {}, "duration": duration}
        return render(request, "insights.html", context, status=400)
    from markupsafe import Markup

    found = await service.insights(user.id, weeks)
    drawn = {name: Markup(svg) for name, svg in charts(found).items()}  # escaped by svg.py
    choices = sorted({*CHOICES, weeks})
    context = {"ins": found, "charts": drawn, "weeks": weeks, "choices": choices,
               "problem": None, "usage": USAGE, "duration": duration}
    return render(request, "insights.html", context)


async def insights_api(request: web.Request) -> web.StreamResponse:
    reader, _ = caller(request, require_state(request))  # the token reads as nobody
    service = _service(request)
    try:
        weeks = weeks_asked(request.query.get("weeks"))
    except UsageError as exc:
        return web.json_response({"error": str(exc), "usage": USAGE}, status=400)
    found = await service.insights(reader, weeks)
    return web.Response(
        text=found.model_dump_json(), content_type="application/json",
        headers={"Cache-Control": "private, no-cache"},
    )


def routes() -> list[web.RouteDef]:
    return [web.get("/insights", insights_page), web.get("/api/v1/insights", insights_api)]
