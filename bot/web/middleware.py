"""Two middlewares on the whole HTTP server: the security headers on every response (pages,
JSON, errors, static files: a CSP without inline scripts, no framing, nosniff, a strict
referrer), and the session cookie opened once per request (`current_user`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.web.app_state import web_state
from bot.web.sessions import SESSION_COOKIE, USER_KEY

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _secure(headers: web.HTTPException | web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        headers.headers.setdefault(name, value)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _secure(exc)
        raise
    if not response.prepared:  # a stream (SSE) set its own before it started
        _secure(response)
    return response


@web.middleware
async def session(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = web_state(request.app)
    if state is not None and state.codec is not None:
        request[USER_KEY] = state.codec.open_user(request.cookies.get(SESSION_COOKIE))
    return await handler(request)
