"""Who is signed in: a session in an encrypted, signed cookie (Fernet: AES-CBC + HMAC) with
its expiry inside, and the CSRF token every form that changes something carries.

    from bot.web.sessions import require_user, current_user, csrf_field, check_csrf

    async def page(request: web.Request) -> web.StreamResponse:
        user = require_user(request)        # WebUser, or a redirect to sign in
        ...                                 # user.id, user.team_id, user.name, user.tz

    async def change(request: web.Request) -> web.StreamResponse:
        user = require_user(request)
        await check_csrf(request)           # 403 unless the form's csrf field matches
        ...

In a template, `{{ csrf_field }}` is the hidden input (render() passes it). Without the web
app's settings, require_user answers the page that names what to set (never fails open).
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import quote

from aiohttp import web

from bot.web.app_state import require_state
from bot.web.cookies import SessionCodec, WebUser

__all__ = ["SessionCodec", "WebUser", "check_csrf", "csrf_field", "current_user",
           "new_csrf", "require_user"]

SESSION_COOKIE = "incident_session"
PENDING_COOKIE = "incident_signin"  # state and nonce between /auth/signin and the callback
CSRF_FIELD = "csrf_token"
PENDING_SECONDS = 600


def new_csrf() -> str:
    return secrets.token_urlsafe(24)


# --- what pages use --------------------------------------------------------------------

# request[USER_KEY]: the WebUser the session middleware found, or None
USER_KEY = web.RequestKey("web_user", object)


def current_user(request: web.Request) -> WebUser | None:
    """The signed-in user of this request (the session middleware opened the cookie)."""
    user = request.get(USER_KEY)
    return user if isinstance(user, WebUser) else None


def require_user(request: web.Request) -> WebUser:
    """The signed-in user, or: the setup page (not configured), or a redirect to sign in
    that comes back to this page (a GET), or 401 (anything else)."""
    require_state(request)
    user = current_user(request)
    if user is not None:
        return user
    if request.method == "GET" and not request.path.startswith("/api/"):
        raise web.HTTPFound(f"/auth/signin?next={quote(request.path_qs, safe='')}")
    raise web.HTTPUnauthorized(text="sign in first", headers={"Cache-Control": "no-store"})


def csrf_field(request: web.Request) -> str:
    """The hidden input a form that changes something carries (escaped, ready to insert)."""
    user = current_user(request)
    token = user.csrf if user else ""
    return f'<input type="hidden" name="{CSRF_FIELD}" value="{token}">'


async def check_csrf(request: web.Request) -> None:
    """403 unless the request carries the session's CSRF token (form field or the
    X-CSRF-Token header). Call it on every POST/PUT/PATCH/DELETE from a browser."""
    user = current_user(request)
    sent = request.headers.get("X-CSRF-Token", "")
    if not sent and request.content_type in (
        "application/x-www-form-urlencoded", "multipart/form-data"
    ):
        form = await request.post()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else ""
    if user is None or not user.csrf or not hmac.compare_digest(sent, user.csrf):
        raise web.HTTPForbidden(text="missing or wrong CSRF token: reload the page and retry")
