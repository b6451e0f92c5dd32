"""The status pages as HTML (/status and /status/internal), rendered with Jinja2 (autoescape
on: every word people wrote is escaped) into the snapshot once per change, never per
request. No script at all: the page works without JavaScript, and its one stylesheet is
vendored here and served by this process (no CDN)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from importlib import resources
from typing import TYPE_CHECKING

from bot.statuspage.models import Maintenance
from bot.statuspage.views import PageView

if TYPE_CHECKING:
    from jinja2 import Template

HTML = "text/html; charset=utf-8"
CSS = "text/css; charset=utf-8"
CSRF_SLOT = "__csrf_token__"  # in the internal page's forms; each viewer's token replaces it
PAST_SHOWN = 25  # past incidents on the page; incidents.json lists the latest 50
STATUS_WORDS = {"in_progress": "In progress", "scheduled": "Scheduled",
                "verifying": "Verifying", "completed": "Completed"}


@dataclass(frozen=True)
class Stylesheet:
    body: bytes
    url: str  # with its content hash, so it can be cached for good

    @classmethod
    def load(cls) -> Stylesheet:
        body = resources.files("bot.statuspage").joinpath("static/status.css").read_bytes()
        return cls(body, "/status/static/status.css?v=" + hashlib.sha256(body).hexdigest()[:12])


def message_page(stylesheet: Stylesheet, title: str, text: str, *,
                 action: str | None = None, button: str = "") -> str:
    """A short answer page (a form's outcome, a link's), styled as the status page; with
    `action`, a button posting there."""
    form = (f'<form method="post" action="{escape(action)}" class="subscribe-form">'
            f'<button type="submit">{escape(button)}</button></form>') if action else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
        f'content="width=device-width, initial-scale=1"><title>{escape(title)}</title>'
        f'<link rel="stylesheet" href="{escape(stylesheet.url)}"><link rel="icon" '
        f'href="data:,"></head><body><main class="wrap"><h1>{escape(title)}</h1>'
        f'<p>{escape(text)}</p>{form}<p><a href="/status">Back to the status page</a></p>'
        "</main></body></html>"
    )


def when(at: datetime | None) -> str:
    """`Dec 5, 2026 14:03 UTC`: absolute, as the snapshot is the same for everyone."""
    if at is None:
        return ""
    at = at.astimezone(UTC)
    return f"{at:%b} {at.day}, {at:%Y %H:%M} UTC"


def iso(at: datetime | None) -> str:
    return "" if at is None else at.astimezone(UTC).isoformat(timespec="seconds")


def status_word(status: str) -> str:
    return STATUS_WORDS.get(status, status.replace("_", " ").capitalize())


def _template() -> Template:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("bot.statuspage", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["status_word"] = status_word
    env.filters["iso"] = iso
    return env.get_template("status.html")


class HtmlPages:
    """The snapshot's renderer of index.html for both audiences, asleep until a process is
    first asked for a page: a process that only serves the JSON (or nothing yet) never
    imports Jinja2. `email`: the public page offers the email form (SMTP is set up);
    `webhooks`: the internal page offers the webhook form (sign-in is set up)."""

    def __init__(self, *, stylesheet: Stylesheet, email: bool, webhooks: bool) -> None:
        self.stylesheet = stylesheet
        self.email = email
        self.webhooks = webhooks
        self.awake = False
        self._template: Template | None = None

    def __call__(self, view: PageView) -> dict[str, tuple[bytes, str]]:
        if not self.awake:
            return {}
        if self._template is None:
            self._template = _template()
        internal = view.audience == "internal"
        body = self._template.render(
            view=view, internal=internal, stylesheet=self.stylesheet.url,
            email=self.email and not internal, webhooks=self.webhooks and internal,
            base="/status/internal" if internal else "/status", limit=PAST_SHOWN,
            window=maintenance_window, shown=_shown(view), csrf_slot=CSRF_SLOT,
        )
        return {"index.html": (body.encode(), HTML)}


def _shown(view: PageView) -> Callable[[list[str]], list[str]]:
    """The names of `names` this page lists (a window may also touch internal ones)."""
    listed = {c.name.lower(): c.name for c in view.components}
    return lambda names: [listed[n.lower()] for n in names if n.lower() in listed]


def maintenance_window(m: Maintenance) -> str:
    start, end = m.scheduled_for.astimezone(UTC), m.scheduled_until.astimezone(UTC)
    if start.date() == end.date():
        return f"{when(start)} – {end:%H:%M} UTC"
    return f"{when(start)} – {when(end)}"
