"""The web app in a real browser (chromium, headless, via Playwright): sign in through the
emulator's Sign in with Slack page, filter the list and open an incident, watch a new
message arrive without a reload, a private incident's 404 for a non-member, and a member of
another workspace refused. No page logs a console error (the CSP refuses inline scripts, so
one would show here). Screenshots land in out/screenshots."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from sandbox.slack_emulator import SlackEmulator
from tests.browser import browser, open_page, screenshot, sign_in_as
from tests.web_world import HOSTILE_TITLE, web_world
from tests.webapp import running_web

__all__ = ["browser"]


async def test_sign_in_filter_the_list_and_open_an_incident(
    browser: Browser, slack: SlackEmulator, redis_url: str
) -> None:
    async with running_web(slack, redis_url) as site:
        w = await web_world(site.store, slack)
        page = await open_page(browser)
        await page.goto(site.url + "/incidents")  # signed out: to the sign-in
        await expect(page.locator("h1")).to_have_text("Sign in to Incident Sandbox")
        await page.click('a[data-user="U0ALICE"]')
        await expect(page.locator("header.top .who span")).to_have_text("Alice Anders")
        await expect(page.locator("#count")).to_contain_text("33 incidents")
        await screenshot(page, "incidents-signed-in")

        await page.fill('input[name="q"]', "pool")
        await page.select_option('select[name="severity"]', "2")
        await page.click('form.filters button[type="submit"]')
        await expect(page.locator("#count")).to_contain_text("1 incident")
        assert "q=pool" in page.url and "severity=2" in page.url  # the filters in the URL
        await page.click(f'a.title[href="/incidents/{w.checkout.id}"]')
        await expect(page.locator("#title")).to_have_text("Checkout API returning 500s")
        await expect(page.locator("#timeline")).to_contain_text("rolled back the deploy")
        await page.click("text=Key events")
        await expect(page.locator("#timeline")).not_to_contain_text("rolled back the deploy")
        await screenshot(page, "incident-page")

        await page.goto(f"{site.url}/incidents/{w.hostile.id}")
        await expect(page.locator("#title")).to_have_text(HOSTILE_TITLE)  # text, not markup
        assert await page.locator("#timeline img").count() == 0
        assert page.errors == []


async def test_a_new_message_arrives_without_a_reload(
    browser: Browser, slack: SlackEmulator, redis_url: str
) -> None:
    async with running_web(slack, redis_url) as site:
        channel = await site.declare("Search latency sev:3 services:search", user="U0ALICE")
        incident_id = await site.store.incident_id_for_channel(channel)
        page = await open_page(browser)
        await sign_in_as(page, site, "U0ALICE", next_path=f"/incidents/{incident_id}")
        await expect(page.locator("#live-state")).to_have_text("· live")
        await site.driver.message(user="U0BOB", channel=channel,
                                  text='replica lag 40s <img src=x onerror="alert(1)">')
        item = page.locator("#timeline li").last
        await expect(item).to_contain_text('replica lag 40s <img src=x onerror="alert(1)">')
        await expect(item).to_contain_text("Bob Brown")
        first = await page.locator("#timeline li time").first.inner_text()
        assert len(await item.locator("time").inner_text()) == len(first) == 5  # HH:MM, alike
        assert await page.locator("#timeline img").count() == 0
        await screenshot(page, "incident-live")
        assert page.errors == []


async def test_a_private_incident_is_not_found_for_a_non_member(
    browser: Browser, slack: SlackEmulator, redis_url: str
) -> None:
    async with running_web(slack, redis_url) as site:
        w = await web_world(site.store, slack)
        outsider = await open_page(browser)
        await sign_in_as(outsider, site, "U0DIANA")
        answer = await outsider.goto(f"{site.url}/incidents/{w.secret.id}")
        assert answer is not None and answer.status == 404
        assert "Payroll" not in await outsider.content()
        await outsider.goto(f"{site.url}/incidents?q=payroll")
        await expect(outsider.locator("#count")).to_contain_text("0 incidents")
        member = await open_page(browser)
        await sign_in_as(member, site, "U0CHARLIE")
        answer = await member.goto(f"{site.url}/incidents/{w.secret.id}")
        assert answer is not None and answer.status == 200
        await expect(member.locator("#title")).to_have_text("Payroll export leaked to a vendor")
        await screenshot(member, "private-incident-member")


async def test_a_member_of_another_workspace_is_refused(
    browser: Browser, slack: SlackEmulator, redis_url: str
) -> None:
    slack.oidc.add_outsider("U0EVE", "Eve Other", team_id="T0OTHER")
    async with running_web(slack, redis_url) as site:
        page = await open_page(browser)
        await sign_in_as(page, site, "U0EVE")
        await expect(page.locator("h1")).to_have_text("Sign-in refused")
        await expect(page.locator("main")).to_contain_text("another workspace")
        await screenshot(page, "other-workspace-refused")
        await page.goto(site.url + "/incidents")
        await expect(page.locator("h1")).to_have_text("Sign in to Incident Sandbox")
        assert [c for c in await page.context.cookies() if c["name"] == "incident_session"] == []
