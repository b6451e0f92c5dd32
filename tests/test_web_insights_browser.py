"""`/insights` in a real browser (Debian's chromium through Playwright, tests/browser.py):
a person signs in through the emulator's Sign in with Slack, the charts draw with no
console error (the Content-Security-Policy forbids inline scripts and styles, so a chart
that needed either would show up here), and the period selector keeps the weeks in the URL."""

from __future__ import annotations

from playwright.async_api import Browser

from sandbox.slack_emulator import SlackEmulator
from tests.browser import browser, open_page, screenshot, sign_in_as
from tests.webapp import running_web

__all__ = ["browser"]


async def test_insights_draw_with_no_console_errors(
    browser: Browser, slack: SlackEmulator, redis_url: str
) -> None:
    async with running_web(slack, redis_url) as site:
        await site.declare("Checkout API returning 500s sev:2 services:checkout started:20m",
                           user="U0ALICE")
        await site.declare("Search slow sev:3 services:search", user="U0BOB")
        page = await open_page(browser)
        await sign_in_as(page, site, "U0ALICE", next_path="/insights")
        assert page.url.endswith("/insights")
        charts = page.locator("figure.chart svg")
        assert await charts.count() == 6  # per week, three durations (+ resolve by severity),
        for n in range(6):  # after-hours load
            box = await charts.nth(n).bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 20
        assert await page.locator("#per-week svg rect").count() >= 2  # bars and legend
        assert await page.locator("#detect svg circle").count() >= 2  # median, p90
        await screenshot(page, "insights-12-weeks")

        await page.select_option("select[name=weeks]", "4")
        await page.click("form.filters button[type=submit]")
        await page.wait_for_load_state("load")
        assert page.url.endswith("/insights?weeks=4")
        assert await page.locator("#per-week tbody tr").count() == 4 + 1  # weeks, total
        await screenshot(page, "insights-4-weeks")
        assert page.errors == []
