"""A real browser for the web app's tests: Debian's chromium (/usr/bin/chromium), headless,
driven by Playwright's Python package with `executable_path` (no browser download; root
needs --no-sandbox). A missing chromium fails the test loudly; nothing is skipped.

    from tests.browser import browser, open_page, sign_in_as, screenshot  # fixtures + helpers

    async def test_x(browser: Browser, slack: SlackEmulator, redis_url: str) -> None:
        async with running_web(slack, redis_url) as site:           # tests/webapp.py
            page = await open_page(browser)                         # console errors kept
            await sign_in_as(page, site, "U0ALICE")                 # through the emulator
            await page.goto(site.url + "/incidents")
            await screenshot(page, "incidents")                     # out/screenshots/
            assert page.errors == []                                # console + page errors

Screenshots are test artefacts under out/screenshots (git-ignored), never committed.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.webapp import WebSite

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "out" / "screenshots"
TIMEOUT_MS = 15_000


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium is required for the browser tests and is not at {CHROMIUM} "
                    "(apt-get install chromium; `make test` installs it)")
    async with async_playwright() as p:
        launched = await p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        try:
            yield launched
        finally:
            await launched.close()


class WatchedPage:
    """A Playwright page plus what went wrong in it (console errors, uncaught exceptions,
    CSP violations are console errors too)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.page, name)


async def open_page(browser: Browser) -> WatchedPage:
    """A new browser context (its own cookies) and page."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    return WatchedPage(await context.new_page())


async def sign_in_as(page: WatchedPage, site: WebSite, user: str,
                     next_path: str = "/incidents") -> None:
    """Sign in the way a person does: the bot's sign-in link, the emulator's Sign in with
    Slack page, a click on the person's name, back on the bot."""
    await page.goto(f"{site.url}/auth/signin?next={next_path}")
    await page.click(f'a[data-user="{user}"]')
    await page.wait_for_load_state("load")


async def screenshot(page: WatchedPage, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / (re.sub(r"[^A-Za-z0-9_.-]+", "-", name) + ".png")
    await page.screenshot(path=str(path), full_page=True)
    return path
