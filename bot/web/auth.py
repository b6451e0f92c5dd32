"""The sign-in routes: GET /auth/signin (state and nonce into a short-lived sealed cookie,
then Slack's authorize page), GET /auth/callback (state checked, code exchanged, id_token
verified, the session cookie set) and POST /auth/signout (with the CSRF token)."""

from __future__ import annotations

import secrets
import time

import structlog
from aiohttp import web

from bot.errors import IncidentBotError
from bot.web.app_state import WebState, plain_page, require_state
from bot.web.oidc import SignInRefused
from bot.web.sessions import (
    PENDING_COOKIE,
    PENDING_SECONDS,
    SESSION_COOKIE,
    WebUser,
    check_csrf,
    new_csrf,
)

log = structlog.get_logger(__name__)
CALLBACK_PATH = "/auth/callback"
HOME = "/incidents"


def safe_next(value: str | None) -> str:
    """Only a path on this site (never `//host` or a scheme): no open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return HOME
    return value


def _cookie(response: web.StreamResponse, state: WebState, name: str, value: str,
            max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True,
                        samesite="Lax", secure=state.secure_cookies)


def refused_page(reason: str) -> web.HTTPException:
    from html import escape

    body = plain_page("Sign-in refused", f"<p>{escape(reason)}</p>"
                      '<p><a href="/auth/signin">Sign in again</a></p>')
    return web.HTTPForbidden(text=body, content_type="text/html",
                             headers={"Cache-Control": "no-store"})


async def signin(request: web.Request) -> web.StreamResponse:
    state = require_state(request)
    assert state.codec is not None and state.signin is not None
    csrf_state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    pending = state.codec.seal({
        "state": csrf_state, "nonce": nonce, "next": safe_next(request.query.get("next")),
        "expires": time.time() + PENDING_SECONDS,
    })
    url = state.signin.authorize_url(csrf_state, nonce)
    hint = request.query.get("login_hint", "")
    if hint.isalnum():  # OpenID Connect's hint of who signs in (a user id); Slack may ignore it
        url += f"&login_hint={hint}"
    response = web.HTTPFound(url)
    _cookie(response, state, PENDING_COOKIE, pending, PENDING_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    raise response


async def callback(request: web.Request) -> web.StreamResponse:
    state = require_state(request)
    assert state.codec is not None and state.signin is not None
    pending = state.codec.open(request.cookies.get(PENDING_COOKIE))
    if request.query.get("error"):
        raise refused_page(f"Slack answered: {request.query['error']}")
    given = request.query.get("state", "")
    if pending is None or not secrets.compare_digest(str(pending.get("state", "")), given):
        raise refused_page("this sign-in link is stale or was not started here")
    code = request.query.get("code", "")
    if not code:
        raise refused_page("Slack sent no code")
    try:
        who = await state.signin.exchange(code, str(pending.get("nonce", "")))
    except SignInRefused as exc:
        raise refused_page(str(exc)) from None
    name, tz = who.name, "UTC"
    try:
        person = await state.services.chat.user(who.user_id)
        name, tz = person.real_name or person.name or who.name, person.tz
    except IncidentBotError as exc:  # the profile is a nicety: the identity is verified
        log.warning("web_signin_profile_unread", user=who.user_id, reason=exc.message)
    hours = state.settings.web_session_hours
    user = WebUser(id=who.user_id, team_id=who.team_id, name=name, tz=tz, email=who.email,
                   csrf=new_csrf(), expires=time.time() + hours * 3600)
    log.info("web_signed_in", user=user.id)
    response = web.HTTPFound(safe_next(str(pending.get("next") or "")))
    _cookie(response, state, SESSION_COOKIE, state.codec.seal_user(user), hours * 3600)
    response.del_cookie(PENDING_COOKIE, path="/")
    response.headers["Cache-Control"] = "no-store"
    raise response


async def signout(request: web.Request) -> web.StreamResponse:
    require_state(request)
    await check_csrf(request)
    response = web.HTTPFound("/auth/signed-out")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


async def signed_out(request: web.Request) -> web.StreamResponse:
    require_state(request)
    body = plain_page("Signed out", '<p><a href="/auth/signin">Sign in with Slack</a></p>')
    return web.Response(text=body, content_type="text/html")


async def home(request: web.Request) -> web.StreamResponse:
    """The bot's address alone leads to the incident list (or to what to set)."""
    raise web.HTTPFound(HOME)


def routes() -> list[web.RouteDef]:
    return [
        web.get("/", home),
        web.get("/auth/signin", signin),
        web.get(CALLBACK_PATH, callback),
        web.post("/auth/signout", signout),
        web.get("/auth/signed-out", signed_out),
    ]
