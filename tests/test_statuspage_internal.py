"""/status/internal through the real bot with the web app's Sign in with Slack (the
emulator's OpenID endpoints): signed out it sends you to sign in, a member of another
workspace never gets in, and signed in it shows what the public page never does (internal
components, the incident each publish came from, who published); its webhook form needs
the session's CSRF token, different for each person on the one cached page."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from sandbox.slack_emulator import SlackEmulator
from tests.statuspage_fixture import COMPONENTS
from tests.webapp import WebSite, running_web

ALICE, BOB = "U0ALICE", "U0BOB"


@pytest.fixture
async def site(slack: SlackEmulator, redis_url: str, tmp_path: Path
               ) -> AsyncIterator[WebSite]:
    components = tmp_path / "components.yml"
    components.write_text(COMPONENTS)
    async with running_web(slack, redis_url, status_page_components=str(components)) as s:
        yield s


async def published(site: WebSite) -> str:
    """A public incident on Checkout and one on the internal Ledger; the Checkout one's
    incident id."""
    channel = await site.declare("Checkout API down sev:2 services:checkout-api", user=ALICE)
    reply = await site.driver.command("statuspage Checkout=partial Some checkouts fail.",
                                      user=ALICE, channel=channel)
    assert "Published" in reply.text, reply.text
    ledger = await site.declare("Ledger lag sev:3 services:ledger", user=ALICE)
    reply = await site.driver.command("statuspage Ledger=degraded Replication is behind.",
                                      user=ALICE, channel=ledger)
    assert "Published" in reply.text, reply.text
    page = site.bot.services.statuspage
    assert page is not None
    await page.snapshots.refresh(force=True)
    incident_id = await site.store.incident_id_for_channel(channel)
    assert incident_id is not None
    return incident_id


async def get(session: aiohttp.ClientSession, url: str, **headers: str
              ) -> tuple[int, dict[str, str], str]:
    async with session.get(url, headers=headers, allow_redirects=False) as r:
        return r.status, {k.lower(): v for k, v in r.headers.items()}, await r.text()


async def test_signed_out_goes_to_sign_in_and_another_workspace_never_gets_in(
    site: WebSite, slack: SlackEmulator
) -> None:
    await published(site)
    anonymous = site.client()
    status, headers, _ = await get(anonymous, f"{site.url}/status/internal")
    location = urlsplit(headers["location"])
    assert status == 302 and location.path == "/auth/signin"
    assert parse_qs(location.query)["next"] == ["/status/internal"]
    status, _, _ = await get(anonymous, f"{site.url}/status/internal/api/v2/summary.json")
    assert status == 401
    slack.oidc.add_outsider("U0EVE", "Eve Other", team_id="T0OTHER")
    eve = site.client()
    answer = await site.sign_in(eve, "U0EVE", next_path="/status/internal")
    assert answer.status == 403
    status, headers, text = await get(eve, f"{site.url}/status/internal")
    assert status == 302 and "Ledger" not in text
    status, _, text = await get(anonymous, f"{site.url}/status")
    assert status == 200 and "Some checkouts fail." in text and "Ledger" not in text


async def test_signed_in_sees_internal_components_and_where_each_publish_came_from(
    site: WebSite
) -> None:
    incident_id = await published(site)
    alice = await site.signed_in(ALICE)
    status, headers, text = await get(alice, f"{site.url}/status/internal")
    assert status == 200, text
    assert headers["cache-control"] == "private, no-cache" and "Cookie" in headers["vary"]
    assert "Internal: for people signed in" in text
    assert re.search(r"<h3>Ledger <span class=\"tag\">internal</span></h3>", text)
    assert "Replication is behind." in text and "Some checkouts fail." in text
    assert f"from <code>{incident_id}</code>" in text
    assert f"published by {ALICE}" in text
    status, _, document = await get(alice, f"{site.url}/status/internal/api/v2/summary.json")
    assert status == 200 and "Ledger" in document
    # every link of the page answers (the feed and the JSON of the internal page)
    for href in set(re.findall(r'href="(/status[^"#]*)"', text)):
        status, _, _ = await get(alice, f"{site.url}{href}")
        assert status == 200, href
    for incident in json.loads(document)["incidents"]:  # the shortlinks, signed in
        path = urlsplit(incident["shortlink"]).path
        status, headers, _ = await get(alice, f"{site.url}{path}")
        assert status == 302 and headers["location"].startswith("/status/internal#incident-")
        assert f'id="{headers["location"].split("#")[1]}"' in text
        status, headers, _ = await get(site.client(), f"{site.url}{path}")
        assert status == 302 and headers["location"].startswith("/auth/signin")
    status, _, feed = await get(alice, f"{site.url}/status/internal/feed.atom")
    assert "Replication is behind." in feed
    status, _, _ = await get(site.client(), f"{site.url}/status/internal/feed.atom")
    assert status == 302


async def test_the_webhook_form_carries_each_persons_csrf_token(site: WebSite) -> None:
    await published(site)
    alice, bob = await site.signed_in(ALICE), await site.signed_in(BOB)
    _, alice_headers, alice_page = await get(alice, f"{site.url}/status/internal")
    _, bob_headers, bob_page = await get(bob, f"{site.url}/status/internal")
    token = re.search(r'name="csrf_token" value="([^"]+)"', alice_page)
    other = re.search(r'name="csrf_token" value="([^"]+)"', bob_page)
    assert token and other and token.group(1) != other.group(1)
    assert "__csrf_token__" not in alice_page
    assert alice_headers["etag"] != bob_headers["etag"]
    again, _, _ = await get(alice, f"{site.url}/status/internal",
                            **{"If-None-Match": alice_headers["etag"]})
    assert again == 304
    hook = {"url": "https://hooks.example.com/status", "component": "Checkout"}
    for form, headers in (
        (hook, {}),  # no token
        ({**hook, "csrf_token": other.group(1)}, {}),  # Bob's token in Alice's session
        ({**hook, "csrf_token": token.group(1)}, {"Origin": "https://evil.example"}),
    ):
        async with alice.post(f"{site.url}/status/internal/webhooks", data=form,
                              headers=headers) as r:
            assert r.status == 403, await r.text()
    page = site.bot.services.statuspage
    assert page is not None and await page.subscribers.pages.subscribers() == []
    async with alice.post(f"{site.url}/status/internal/webhooks",
                          data={**hook, "csrf_token": token.group(1)}) as r:
        text = await r.text()
        assert r.status == 200 and "Subscribed https://hooks.example.com/status" in text
    [sub] = await page.subscribers.pages.subscribers()
    assert sub.kind == "webhook" and sub.components == ["Checkout"]
    assert sub.secret and sub.secret in text  # shown once, in this answer
