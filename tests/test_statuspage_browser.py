"""The status page in a real browser (Debian's chromium, headless, through Playwright:
tests/browser.py): the public page with no incident, with a major outage and with a
maintenance window, with JavaScript turned off, and on a 375 px wide phone; the internal
page signed in with Slack (the emulator's sign-in page); no page logs a
console error (the CSP refuses anything inline, so a violation would show here).
Screenshots land in out/screenshots (git-ignored)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from sandbox.slack_emulator import SlackEmulator
from tests.browser import TIMEOUT_MS, WatchedPage, browser, open_page, screenshot
from tests.statuspage_fixture import ALICE, CHARLIE, COMPONENTS, Page, status_page
from tests.webapp import running_web

__all__ = ["browser"]
RED = "rgb(201, 42, 42)"  # --critical in status.css: the stylesheet was loaded and applied
GREEN = "rgb(31, 138, 76)"  # --ok


@pytest.fixture
async def page(slack: SlackEmulator, redis_url: str, tmp_path: Path) -> AsyncIterator[Page]:
    async with status_page(slack, redis_url, tmp_path, smtp_url="smtp://127.0.0.1:1",
                           status_page_from="status@example.com") as p:
        yield p


async def visit(browser: Browser, p: Page, **context: object) -> WatchedPage:
    await p.status.snapshots.refresh(force=True)
    opened = await browser.new_context(**{"viewport": {"width": 1280, "height": 900},
                                          **context})
    opened.set_default_timeout(TIMEOUT_MS)
    tab = WatchedPage(await opened.new_page())
    response = await tab.goto(f"{p.h.url}/status")
    assert response is not None and response.status == 200
    return tab


async def test_no_incident(browser: Browser, page: Page) -> None:
    tab = await visit(browser, page)
    await expect(tab.locator(".overall h2")).to_have_text("All Systems Operational")
    await expect(tab.locator("ol.bars")).to_have_count(2)
    await expect(tab.locator("ol.bars").first.locator("li")).to_have_count(90)
    await expect(tab.locator(".percent").first).to_have_text("100.00% uptime")
    await expect(tab.locator("#past-h + p")).to_have_text("No incidents in the last 90 days.")
    await screenshot(tab, "status-no-incident")
    assert tab.errors == []


async def test_a_major_outage(browser: Browser, page: Page) -> None:
    channel = await page.incident("Checkout API down sev:1 services:checkout-api")
    reply = await page.h.driver.command(
        "statuspage Checkout=major Checkouts fail <b>for everyone</b>; we are on it.",
        user=CHARLIE, channel=channel)
    assert "Published" in reply.text, reply.text
    page.clock.advance(timedelta(minutes=50))
    tab = await visit(browser, page)
    banner = tab.locator(".overall")
    await expect(banner.locator("h2")).to_have_text("Partial System Outage")
    assert await banner.evaluate("e => getComputedStyle(e).backgroundColor") == RED
    current = tab.locator("section.current")
    await expect(current.locator("h3")).to_have_text("Checkout unavailable")
    await expect(current.locator(".updates .body")).to_have_text(
        "Checkouts fail <b>for everyone</b>; we are on it.")  # shown as text, not markup
    checkout = tab.locator(".component", has_text="Checkout")
    await expect(checkout.locator(".status")).to_have_text("Major outage")
    search = tab.locator(".component", has_text="Search").locator(".status")
    await expect(search).to_have_text("Operational")
    assert await search.evaluate("e => getComputedStyle(e).color") == GREEN
    today = checkout.locator("ol.bars li").last
    await expect(today).to_have_attribute("title", "2026-11-23: 50m of downtime")
    assert await today.evaluate("e => getComputedStyle(e).backgroundColor") == \
        "rgb(232, 89, 12)"  # a major day: up to 2 hours
    await screenshot(tab, "status-major-outage")
    assert tab.errors == []


async def test_a_maintenance_window(browser: Browser, page: Page) -> None:
    reply = await page.h.driver.command(
        "maintenance Search 2026-11-23T18:00Z 2h Reindexing; searches may be slow.",
        user=ALICE, channel=page.h.incidents_id)
    assert "Scheduled" in reply.text, reply.text
    tab = await visit(browser, page)
    upcoming = tab.locator("section.maintenance", has_text="Scheduled maintenance")
    await expect(upcoming).to_contain_text("Nov 23, 2026 18:00 UTC – 20:00 UTC")
    await expect(upcoming).to_contain_text("Reindexing; searches may be slow.")
    await screenshot(tab, "status-maintenance-upcoming")
    page.clock.advance(timedelta(hours=4, minutes=30))
    await page.status.maintenance.advance_due()
    tab = await visit(browser, page)
    await expect(tab.locator(".overall h2")).to_have_text("Service Under Maintenance")
    await expect(tab.locator("#active-h")).to_have_text("Maintenance in progress")
    search = tab.locator(".component", has_text="Search")
    await expect(search.locator(".status")).to_have_text("Under maintenance")
    await screenshot(tab, "status-maintenance-in-progress")
    assert tab.errors == []


async def test_without_javascript_past_incidents_open_and_the_form_subscribes(
    browser: Browser, page: Page
) -> None:
    channel = await page.incident("Checkout slow sev:3 services:checkout-api")
    await page.h.driver.command("statuspage Checkout=degraded Some checkouts are slow.",
                                user=CHARLIE, channel=channel)
    page.clock.advance(timedelta(minutes=20))
    await page.h.driver.command("statuspage Checkout=operational status:resolved "
                                "Checkouts are fast again.", user=CHARLIE, channel=channel)
    tab = await visit(browser, page, java_script_enabled=False)
    past = tab.locator("details.past-incident")
    await expect(past.locator(".updates")).not_to_be_visible()
    await past.locator("summary").click()  # <details>: opens without a script
    await expect(past.locator(".updates")).to_contain_text("Checkouts are fast again.")
    await screenshot(tab, "status-no-javascript")
    await tab.fill("#email", "reader@example.com")
    await tab.check('input[name="component"][value="Checkout"]')
    await tab.click("form.subscribe-form button[type=submit]")
    await expect(tab.locator("body")).to_contain_text("Check your mail")
    [sub] = await page.status.subscribers.pages.subscribers()
    assert (sub.target, sub.components, sub.confirmed) == \
        ("reader@example.com", ["Checkout"], False)
    assert tab.errors == []


async def test_a_375_px_phone(browser: Browser, page: Page) -> None:
    channel = await page.incident("Search down sev:2 services:search")
    await page.h.driver.command(
        "statuspage Search=partial Some searches fail with a long explanation that has to "
        "wrap on a narrow screen without making the page scroll sideways.",
        user=CHARLIE, channel=channel)
    tab = await visit(browser, page, viewport={"width": 375, "height": 812},
                      is_mobile=True, has_touch=True, device_scale_factor=2)
    width = await tab.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page is {width} px wide on a 375 px screen"
    bars = tab.locator("ol.bars").first
    box = await bars.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
    await expect(bars.locator("li")).to_have_count(90)
    await expect(tab.locator("#email")).to_be_visible()
    await screenshot(tab, "status-375px")
    assert tab.errors == []


async def test_the_internal_page_signed_in(
    browser: Browser, slack: SlackEmulator, redis_url: str, tmp_path: Path
) -> None:
    components = tmp_path / "components.yml"
    components.write_text(COMPONENTS)
    async with running_web(slack, redis_url, status_page_components=str(components)) as site:
        ledger = await site.declare("Ledger lag sev:3 services:ledger", user=ALICE)
        reply = await site.driver.command("statuspage Ledger=major Replication stopped.",
                                          user=ALICE, channel=ledger)
        assert "Published" in reply.text, reply.text
        incident_id = await site.store.incident_id_for_channel(ledger)
        tab = await open_page(browser)
        await tab.goto(f"{site.url}/status/internal")  # signed out: to Sign in with Slack
        await tab.click(f'a[data-user="{ALICE}"]')
        await expect(tab.locator(".badge")).to_contain_text("Internal")
        assert tab.url == f"{site.url}/status/internal"
        ledger_row = tab.locator(".component", has_text="Ledger")
        await expect(ledger_row.locator(".tag")).to_have_text("internal")
        await expect(ledger_row.locator(".status")).to_have_text("Major outage")
        await expect(tab.locator("section.current")).to_contain_text(f"from {incident_id}")
        await expect(tab.locator("section.current")).to_contain_text(f"published by {ALICE}")
        await screenshot(tab, "status-internal-signed-in")
        await tab.fill("#url", "https://hooks.example.com/status")
        await tab.click("form.subscribe-form button[type=submit]")
        await expect(tab.locator("body")).to_contain_text(
            "Subscribed https://hooks.example.com/status")
        assert tab.errors == []
