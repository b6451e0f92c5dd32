"""The incident pages: `/incidents` (filters in the URL, paginated, CSV of the filtered
list), `/incidents/{id}` (the whole record) and `/incidents/{id}/live` (new timeline
events as server-sent events). Every one answers 404 for an incident the reader may not
see (bot/web/access.py)."""

from __future__ import annotations

import asyncio
import csv
import io
import json

from aiohttp import web

from bot.timeline.models import BOT_EVENT_KINDS, EventKind
from bot.web import queries
from bot.web.access import readable_incident
from bot.web.app_state import require_state
from bot.web.charts import HEIGHT, WIDTH, series
from bot.web.detail import load, names_for
from bot.web.middleware import SECURITY_HEADERS
from bot.web.pages import local_time, render
from bot.web.people import safe_url
from bot.web.queries import ListQuery
from bot.web.sessions import require_user

LIVE_POLL_SECONDS = 1.0
LIVE_RECHECK_SECONDS = 30.0
LIVE_MAX_SECONDS = 3600.0
# edits, deletes and pins change entries already shown: the page shows them on reload
NOT_LIVE = (EventKind.MESSAGE_EDITED, EventKind.MESSAGE_DELETED, EventKind.KEY_MARKED)
CSV_COLUMNS = ("id", "severity", "status", "title", "services", "declared_at", "resolved_at",
               "time_to_resolve_minutes", "private")


async def incident_list(request: web.Request) -> web.StreamResponse:
    state = require_state(request)
    user = require_user(request)
    query = ListQuery.parse(request.query)
    result = await queries.run(state.services.store, state.access, query, user.id, user.tz)
    services = await state.services.store.known_services()
    return render(request, "incidents.html", {
        "query": query, "result": result, "services": services,
        "statuses": queries.STATUSES,
    }, status=400 if query.problems else 200)


async def incident_csv(request: web.Request) -> web.StreamResponse:
    state = require_state(request)
    user = require_user(request)
    query = ListQuery.parse(request.query)
    if query.problems:
        raise web.HTTPBadRequest(text="; ".join(query.problems))
    query.page = 1
    result = await queries.run(state.services.store, state.access, query, user.id, user.tz,
                               limit=queries.CSV_LIMIT)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for inc in result.incidents:
        ttr = inc.time_to_resolve
        writer.writerow([
            inc.id, inc.severity.label, inc.status.value, defuse(inc.title),
            defuse(",".join(inc.services)), inc.declared_at.isoformat(),
            inc.resolved_at.isoformat() if inc.resolved_at else "",
            f"{ttr.total_seconds() / 60:.1f}" if ttr else "", "yes" if inc.private else "no",
        ])
    return web.Response(
        text=out.getvalue(), content_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="incidents.csv"',
                 "Cache-Control": "private, no-cache"},
    )


def defuse(value: str) -> str:
    """A spreadsheet runs a cell that starts with = + - @: quote it as text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


async def incident_page(request: web.Request) -> web.StreamResponse:
    state = require_state(request)
    user = require_user(request)
    incident = await readable_incident(request, request.match_info["incident_id"], user.id)
    detail = await load(state, incident, user.id)
    view = "key" if request.query.get("view") == "key" else "all"
    shown = detail.timeline if view == "all" else [e for e in detail.timeline if e.is_key]
    versions = [v.postmortem.version for v in detail.versions]
    new = _int(request.query.get("new"), versions[-1] if versions else 0)
    old = _int(request.query.get("old"), versions[-2] if len(versions) > 1 else 0)
    return render(request, "incident.html", {
        "d": detail, "inc": incident, "view": view, "shown": shown,
        "diff": detail.diff(old, new), "old": old, "new": new, "safe_url": safe_url,
        "charts": series(detail.readings), "chart_size": (WIDTH, HEIGHT),
        "live_url": f"/incidents/{incident.id}/live?after={detail.last_stream_id}&view={view}",
    })


def _int(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw else default
    except ValueError:
        return default


async def live(request: web.Request) -> web.StreamResponse:
    """New timeline events as server-sent events (`event: entry`, JSON data), polled from
    the incident's stream; the read rule is asked again every 30 s (a reader removed from a
    private incident's channel stops receiving)."""
    state = require_state(request)
    user = require_user(request)
    incident = await readable_incident(request, request.match_info["incident_id"], user.id)
    after = request.query.get("after", "0")
    if not after.replace("-", "").isdigit():
        raise web.HTTPBadRequest(text="after must be a stream id")
    key_only = request.query.get("view") == "key"
    response = web.StreamResponse(headers={
        **SECURITY_HEADERS, "Content-Type": "text/event-stream",
        "Cache-Control": "no-cache", "X-Accel-Buffering": "no",
    })
    await response.prepare(request)
    store, names = state.services.store, names_for(state)
    loop = asyncio.get_running_loop()
    started = checked = loop.time()
    await response.write(b": connected\n\n")
    while loop.time() - started < LIVE_MAX_SECONDS and not state.stopping:
        transport = request.transport
        if transport is None or transport.is_closing():
            break  # the reader went away
        for sid, event in await store.events_after(incident.id, after):
            after = sid
            if event.kind in NOT_LIVE:
                continue
            key = event.key or event.kind in BOT_EVENT_KINDS
            if key_only and not key:
                continue
            payload = {"id": sid, "at": event.at.isoformat(),
                       "time": local_time(event.at, user.tz, "%H:%M"), "kind": event.kind.value,
                       "key": key, "actor": await names.name(event.actor or ""),
                       "text": event.text}
            await response.write(
                f"id: {sid}\nevent: entry\ndata: {json.dumps(payload)}\n\n".encode())
        if loop.time() - checked > LIVE_RECHECK_SECONDS:
            checked = loop.time()
            current = await store.get_incident(incident.id)
            if not await state.access.can_read(current, user.id):
                break
        await asyncio.sleep(LIVE_POLL_SECONDS)
    return response


def routes() -> list[web.RouteDef]:
    return [
        web.get("/incidents", incident_list),
        web.get("/incidents.csv", incident_csv),
        web.get("/incidents/{incident_id}", incident_page),
        web.get("/incidents/{incident_id}/live", live),
    ]
