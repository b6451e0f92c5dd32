"""What the web app keeps on the aiohttp application (one `WebState` under `WEB_STATE`):
the settings, the session codec, Sign in with Slack, the read rule and the template search
path. Routes reach it with `web_state(request.app)`."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.incidents.access import IncidentAccess
from bot.services import Services
from bot.settings import Settings
from bot.web.cookies import SessionCodec

if TYPE_CHECKING:
    from bot.web.oidc import SlackSignIn

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


@dataclass
class WebState:
    settings: Settings
    services: Services
    access: IncidentAccess
    missing: list[str]
    codec: SessionCodec | None = None
    signin: SlackSignIn | None = None
    template_dirs: list[Path] = field(default_factory=lambda: [TEMPLATES])
    jinja: Any = None  # the Jinja2 Environment, built by bot.web.pages on the first page
    names: Any = None  # bot.web.people.Names, made by the first page that shows people
    stopping: bool = False  # the server is shutting down: live streams end

    @property
    def configured(self) -> bool:
        return not self.missing and self.codec is not None and self.signin is not None

    @property
    def secure_cookies(self) -> bool:
        return (self.settings.web_base or "").startswith("https://")

    def not_configured(self) -> web.HTTPException:
        """The one page every web path answers until the settings are there."""
        items = "".join(f"<li><code>{html.escape(m)}</code></li>" for m in self.missing)
        body = plain_page(
            "The web app is not configured",
            "<p>Sign in with Slack needs these settings (see docs/settings.md, "
            f"<em>Web app</em>):</p><ul>{items}</ul><p>Then restart the bot. Until then "
            "nothing here is shown to anyone.</p>",
        )
        return web.HTTPServiceUnavailable(text=body, content_type="text/html")


def plain_page(title: str, body: str) -> str:
    """A page without Jinja2 (setup, refusals): `title` is escaped, `body` is HTML."""
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title><link rel=icon href=\"data:,\">"
        '<link rel=stylesheet href="/static/app.css"></head><body><main>'
        f"<h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )


WEB_STATE = web.AppKey("web_state", WebState)


def web_state(app: web.Application) -> WebState | None:
    return app.get(WEB_STATE)


def require_state(request: web.Request) -> WebState:
    """The web app's state, configured; else the page that says what to set."""
    state = web_state(request.app)
    if state is None:
        raise web.HTTPServiceUnavailable(text="the web app is not installed")
    if not state.configured:
        raise state.not_configured()
    return state
