"""The bot with its web app configured, serving HTTP on a free port, and a cookie-keeping
HTTP client that signs in through the emulator's Sign in with Slack (no browser).

    async with running_web(slack, redis_url) as site:      # a Harness plus the web bits
        alice = await site.signed_in("U0ALICE")             # an aiohttp session, signed in
        async with alice.get(site.url + "/incidents") as r: ...
        anonymous = site.client()                           # nobody signed in

The browser tests (tests/browser.py) start the same site.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp

from bot.runners import serve_http
from bot.wiring import build_bot
from sandbox.driver import SlackDriver
from sandbox.slack_emulator import SlackEmulator
from tests.conftest import SIGNING_SECRET, Harness, free_port, make_settings

CLIENT_ID = "1000000001.2000000002"
CLIENT_SECRET = "web-test-client-secret"
SESSION_SECRET = "web-test-session-secret-of-at-least-32-chars"
API_TOKEN = "web-test-api-token-0123456789"


def web_settings(url: str) -> dict[str, object]:
    return {
        "slack_client_id": CLIENT_ID,
        "slack_client_secret": CLIENT_SECRET,
        "web_base_url": url,
        "web_session_secret": SESSION_SECRET,
        "web_api_token": API_TOKEN,
    }


@dataclass
class WebSite(Harness):
    clients: list[aiohttp.ClientSession] = field(default_factory=list)

    def client(self) -> aiohttp.ClientSession:
        """A new browser-like session: keeps cookies (even for 127.0.0.1)."""
        session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.clients.append(session)
        return session

    async def sign_in(self, session: aiohttp.ClientSession, user: str,
                      next_path: str = "/incidents") -> aiohttp.ClientResponse:
        """Sign `user` in through /auth/signin → the emulator's authorize → /auth/callback;
        returns the callback's answer (a redirect when it worked)."""
        start = await session.get(f"{self.url}/auth/signin?{urlencode({'next': next_path})}",
                                  allow_redirects=False)
        assert start.status == 302, await start.text()
        authorize = start.headers["Location"]
        chosen = await session.get(f"{authorize}&{urlencode({'user': user})}",
                                   allow_redirects=False)
        assert chosen.status == 302, await chosen.text()
        return await session.get(chosen.headers["Location"], allow_redirects=False)

    async def signed_in(self, user: str) -> aiohttp.ClientSession:
        session = self.client()
        answer = await self.sign_in(session, user)
        assert answer.status == 302, await answer.text()
        return session

    def callback_query(self, location: str) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@asynccontextmanager
async def running_web(slack: SlackEmulator, redis_url: str, **overrides: Any
                      ) -> AsyncIterator[WebSite]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    values: dict[str, Any] = {**web_settings(url),
                              "slack_oidc_url": f"{slack.base_url}/openid/connect/",
                              **overrides}
    slack.oidc.register_client(CLIENT_ID, CLIENT_SECRET, [f"{url}/auth/callback"])
    bot = build_bot(make_settings(slack, redis_url, **values))
    runner = await serve_http(bot, "127.0.0.1", port)
    driver = SlackDriver(endpoint=f"{url}/slack/events", signing_secret=SIGNING_SECRET,
                         emulator=slack)
    site = WebSite(bot=bot, driver=driver, slack=slack, url=url)
    try:
        yield site
    finally:
        for session in site.clients:
            await session.close()
        await runner.cleanup()
        await bot.services.store.redis.aclose()
