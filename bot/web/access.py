"""The web side of the one read rule (bot/incidents/access.py): an incident a reader may
not see is answered 404, exactly like one that does not exist, on every route (pages,
JSON, CSV, the live stream), so an id reveals nothing."""

from __future__ import annotations

from aiohttp import web

from bot.errors import NotFound
from bot.incidents.models import Incident
from bot.web.app_state import require_state

NOT_FOUND = "no such incident"


async def readable_incident(request: web.Request, incident_id: str,
                            user_id: str | None) -> Incident:
    """The incident, if `user_id` may read it; else 404 (whether or not it exists).
    `user_id` None is a script with WEB_API_TOKEN: it reads public incidents only."""
    state = require_state(request)
    try:
        incident = await state.services.store.get_incident(incident_id)
    except NotFound:
        raise web.HTTPNotFound(text=NOT_FOUND) from None
    if not await state.access.can_read(incident, user_id):
        raise web.HTTPNotFound(text=NOT_FOUND)
    return incident
