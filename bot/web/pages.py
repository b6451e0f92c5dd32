"""Rendering pages: Jinja2, autoescaped, its environment built on the first page rendered
(never at import or start: processes that serve no page never load Jinja2).

    from bot.web.pages import render, add_templates

    def setup(app):                              # a feature's web_setup
        add_templates(app, Path(__file__).parent / "templates")

    async def page(request):
        user = require_user(request)
        return render(request, "insights.html", {"weeks": weeks})

A template extends "base.html" (blocks: `title`, `head`, `nav`, `content`, `scripts`).
render() adds `user` (the WebUser or None), `tz` (theirs), `csrf_token` and `csrf_field`
(the hidden input for forms that change something), and `base_url`; the filter
`{{ moment | when(tz) }}` shows a stored time in the reader's time zone.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web

from bot.incidents.models import format_duration
from bot.web.app_state import web_state
from bot.web.sessions import CSRF_FIELD, current_user


def environment(app: web.Application) -> Any:
    """The Jinja2 environment, built on the first page rendered (so no process imports
    Jinja2 before it serves a page): autoescaped, strict about undefined names, over every
    template directory registered."""
    state = web_state(app)
    if state is None:
        raise RuntimeError("the web app is not installed")
    if state.jinja is None:
        import jinja2

        state.jinja = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(d) for d in state.template_dirs]),
            autoescape=True, undefined=jinja2.StrictUndefined,
        )
        state.jinja.globals["csrf_name"] = CSRF_FIELD
        state.jinja.filters["when"] = local_time
        state.jinja.globals["duration"] = format_duration
    return state.jinja


def add_templates(app: web.Application, directory: Path) -> None:
    """Let render() find templates in `directory` too (a feature's own templates)."""
    state = web_state(app)
    if state is None:
        raise RuntimeError("the web app is not installed")
    if directory not in state.template_dirs:
        state.template_dirs.append(directory)
        if state.jinja is not None:
            state.jinja.loader.searchpath.append(str(directory))


def local_time(moment: datetime | None, tz: str = "UTC", fmt: str = "%Y-%m-%d %H:%M %Z"
               ) -> str:
    """A stored (UTC) time in the reader's time zone: `{{ at | when(user.tz) }}`."""
    if moment is None:
        return "—"
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return moment.astimezone(zone).strftime(fmt)


def render(request: web.Request, template: str, context: dict[str, Any],
           *, status: int = 200) -> web.Response:
    from markupsafe import Markup

    user = current_user(request)
    state = web_state(request.app)
    token = user.csrf if user else ""
    full = {
        "user": user,
        "tz": user.tz if user else "UTC",
        "csrf_token": token,
        "csrf_field": Markup('<input type="hidden" name="{}" value="{}">').format(
            CSRF_FIELD, token),
        "base_url": state.settings.web_base if state else None,
        **context,
    }
    text = environment(request.app).get_template(template).render(full)
    return web.Response(text=text, status=status, content_type="text/html",
                        headers={"Cache-Control": "private, no-cache"})
