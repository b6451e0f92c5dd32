"""Bolt middleware that reads only the request body.

`@app.middleware` wraps a function in Bolt's AsyncCustomMiddleware, which inspects the
function's parameters and builds every argument it names on each request (Bolt's kwargs
injection: ~10 % of a message event's time in the profile, bench/profile_serve.py). The
bot's middlewares only need the body and `next`, so they are registered as AsyncMiddleware
instances, which Bolt calls directly, in the same order and with the same meaning."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

Next = Callable[[], Awaitable[BoltResponse]]
BodyFunc = Callable[[dict[str, Any], Next], Awaitable[BoltResponse | None]]


class BodyMiddleware(AsyncMiddleware):
    """`func(body, next)` as a Bolt middleware: return a response to answer now, or call
    `await next()` and return None to let the chain go on."""

    def __init__(self, func: BodyFunc) -> None:
        self.func = func
        self._name = f"{func.__module__}.{func.__qualname__}"

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Next
    ) -> BoltResponse | None:
        return await self.func(req.body, next)

    @property
    def name(self) -> str:
        return self._name


def body_middleware(app: AsyncApp) -> Callable[[BodyFunc], BodyFunc]:
    """Decorator: `@body_middleware(app)` in place of `@app.middleware`."""

    def register(func: BodyFunc) -> BodyFunc:
        app.middleware(BodyMiddleware(func))
        return func

    return register
