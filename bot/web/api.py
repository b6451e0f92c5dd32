"""JSON for scripts: `/api/v1/incidents` (the list's filters, paginated) and
`/api/v1/incidents/{id}`. A signed-in session reads what its person may see; the bearer
token WEB_API_TOKEN reads public incidents only (it is nobody in particular, and a private
incident is for its channel's members). Anything else is 401; an incident the caller may not
see is 404, like one that does not exist."""

from __future__ import annotations

import hmac

from aiohttp import web

from bot.web import queries
from bot.web.access import readable_incident
from bot.web.app_state import WebState, require_state
from bot.web.detail import as_json, load, summary_json
from bot.web.queries import ListQuery
from bot.web.sessions import current_user

PUBLIC_ONLY = "api-token"


def caller(request: web.Request, state: WebState) -> tuple[str | None, str]:
    """(user id or None for the API token, time zone); 401 when neither is given."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        token = state.settings.web_api_token
        sent = header[7:].strip()
        if token and sent and hmac.compare_digest(sent.encode(), token.encode()):
            return None, "UTC"
        raise unauthorized("the bearer token is not WEB_API_TOKEN")
    user = current_user(request)
    if user is None:
        raise unauthorized("sign in, or send Authorization: Bearer <WEB_API_TOKEN>")
    return user.id, user.tz


def unauthorized(reason: str) -> web.HTTPException:
    return web.HTTPUnauthorized(
        text=f'{{"error": "unauthorized", "reason": "{reason}"}}',
        content_type="application/json",
        headers={"WWW-Authenticate": 'Bearer realm="incident-bot"', "Cache-Control": "no-store"},
    )


async def list_incidents(request: web.Request) -> web.StreamResponse:
    state = require_state(request)
    user_id, tz = caller(request, state)
    query = ListQuery.parse(request.query)
    if query.problems:
        return web.json_response({"error": "bad_request", "problems": query.problems},
                                 status=400)
    result = await queries.run(state.services.store, state.access, query, user_id, tz)
    return web.json_response({
        "incidents": [summary_json(i) for i in result.incidents],
        "total": result.total, "page": result.page, "pages": result.pages,
    }, headers={"Cache-Control": "private, no-cache"})


async def one_incident(request: web.Request) -> web.StreamResponse:
    state = require_state(request)
    user_id, _ = caller(request, state)
    try:
        incident = await readable_incident(request, request.match_info["incident_id"], user_id)
    except web.HTTPNotFound:
        return web.json_response({"error": "not_found"}, status=404)
    detail = await load(state, incident, user_id)
    return web.json_response(as_json(detail), headers={"Cache-Control": "private, no-cache"})


def routes() -> list[web.RouteDef]:
    return [
        web.get("/api/v1/incidents", list_incidents),
        web.get("/api/v1/incidents/{incident_id}", one_incident),
    ]
