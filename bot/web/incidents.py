"""The incident list (`/incidents`): what the signed-in reader may see, newest first."""

from __future__ import annotations

from aiohttp import web

from bot.web.app_state import require_state
from bot.web.pages import render
from bot.web.sessions import require_user

PAGE_SIZE = 50


async def incident_list(request: web.Request) -> web.StreamResponse:
    state = require_state(request)
    user = require_user(request)
    store = state.services.store
    ids = await store.list_incident_ids(open_only=False, limit=PAGE_SIZE)
    incidents = await store.incidents(ids)
    readable = await state.access.readable(incidents, user.id)
    shown = [inc for inc in incidents if readable[inc.id]]
    return render(request, "incidents.html", {"incidents": shown})


def routes() -> list[web.RouteDef]:
    return [web.get("/incidents", incident_list)]
