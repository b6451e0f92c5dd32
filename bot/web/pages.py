"""Rendering pages: Jinja2 through aiohttp-jinja2, autoescaped, set up when the HTTP server
is built (never at import: the worker does not load Jinja2).

    from bot.web.pages import render, add_templates

    def setup(app):                              # a feature's web_setup
        add_templates(app, Path(__file__).parent / "templates")

    async def page(request):
        user = require_user(request)
        return render(request, "insights.html", {"weeks": weeks})

A template extends "base.html" (blocks: `title`, `head`, `nav`, `content`, `scripts`).
render() adds `user` (the WebUser or None), `csrf_token` and `csrf_field` (the hidden input
for forms that change something), and `base_url`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from bot.web.app_state import WEB_STATE, web_state
from bot.web.sessions import CSRF_FIELD, current_user

ENV_READY = web.AppKey("web_templates_ready", bool)


def setup_templates(app: web.Application) -> None:
    """Jinja2 on `app`, autoescaped, over every template directory registered so far (more
    may be added after, with add_templates)."""
    import aiohttp_jinja2
    import jinja2

    state = app[WEB_STATE]
    loader = jinja2.FileSystemLoader([str(d) for d in state.template_dirs])
    env = aiohttp_jinja2.setup(
        app, loader=loader, autoescape=jinja2.select_autoescape(default=True,
                                                                default_for_string=True),
        undefined=jinja2.StrictUndefined,
    )
    env.globals["csrf_name"] = CSRF_FIELD
    app[ENV_READY] = True


def add_templates(app: web.Application, directory: Path) -> None:
    """Let render() find templates in `directory` too (a feature's own templates)."""
    state = web_state(app)
    if state is None:
        raise RuntimeError("the web app is not installed")
    if directory not in state.template_dirs:
        state.template_dirs.append(directory)
    if app.get(ENV_READY):
        import aiohttp_jinja2

        loader = aiohttp_jinja2.get_env(app).loader
        paths = getattr(loader, "searchpath", None)
        if isinstance(paths, list) and str(directory) not in paths:
            paths.append(str(directory))


def render(request: web.Request, template: str, context: dict[str, Any],
           *, status: int = 200) -> web.Response:
    import aiohttp_jinja2
    from markupsafe import Markup

    user = current_user(request)
    state = web_state(request.app)
    token = user.csrf if user else ""
    full = {
        "user": user,
        "csrf_token": token,
        "csrf_field": Markup('<input type="hidden" name="{}" value="{}">').format(
            CSRF_FIELD, token),
        "base_url": state.settings.web_base if state else None,
        **context,
    }
    response = aiohttp_jinja2.render_template(template, request, full, status=status)
    response.headers.setdefault("Cache-Control", "private, no-cache")
    return response
