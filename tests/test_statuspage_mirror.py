"""The mirror to Atlassian Statuspage against a strict stand-in of its REST API v1: a
publish is only queued (Slack never waits on it); the worker creates the incident there with
the mapped components' statuses, posts each later update once, resolves it; a 429 is
retried, a refused key is not; maintenance goes as a scheduled incident."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from sandbox.slack_emulator import SlackEmulator
from sandbox.standins import StatuspageStandin
from tests.statuspage_fixture import ALICE, CHARLIE, Page, status_page

MAPPED = """\
components:
  - name: Checkout
    services: [checkout-api]
    statuspage_id: cmpcheckout1
  - name: Search
    services: [search]
  - name: Ledger
    services: [ledger]
    internal: true
    statuspage_id: cmpledger001
"""


@pytest.fixture(scope="module")
def statuspage() -> Iterator[StatuspageStandin]:
    s = StatuspageStandin()
    s.add_component("cmpcheckout1", "Checkout")
    s.add_component("cmpledger001", "Ledger")
    s.start()
    yield s
    s.stop()


@pytest.fixture
async def page(slack: SlackEmulator, redis_url: str, tmp_path: Path,
               statuspage: StatuspageStandin) -> AsyncIterator[Page]:
    statuspage.reset()
    async with status_page(slack, redis_url, tmp_path, components_text=MAPPED,
                           statuspage_api_key=statuspage.api_key,
                           statuspage_page_id=statuspage.page_id,
                           statuspage_api_url=f"{statuspage.base_url}/v1") as p:
        yield p


async def mirror(p: Page) -> int:
    assert p.status.mirror is not None
    return await p.status.mirror.run_due()


async def test_publishes_updates_and_resolves_there(page: Page,
                                                    statuspage: StatuspageStandin) -> None:
    h = page.h
    channel = await page.incident("Checkout errors sev:2 services:checkout-api")
    await h.driver.command("statuspage Checkout=partial Search=degraded Some checkouts fail.",
                           user=CHARLIE, channel=channel)
    assert statuspage.calls == []  # the publish only queued it
    assert await mirror(page) == 1
    [created] = statuspage.incidents.values()
    assert created["name"] == "Checkout and Search partially unavailable"
    assert created["status"] == "investigating"
    assert created["component_ids"] == ["cmpcheckout1"]  # Search has no mapping
    assert statuspage.components["cmpcheckout1"]["status"] == "partial_outage"
    [call] = statuspage.calls_to("POST")
    assert call.headers["Authorization"] == f"OAuth {statuspage.api_key}"
    assert call.body["incident"]["body"] == "Some checkouts fail."

    await h.driver.command("statuspage Checkout=major status:identified Checkout is down.",
                           user=CHARLIE, channel=channel)
    statuspage.fail(429, retry_after="0")
    assert await mirror(page) == 1  # the shared client retried the 429
    assert created["status"] == "identified"
    assert statuspage.components["cmpcheckout1"]["status"] == "major_outage"
    await h.driver.command("resolve fixed", user=ALICE, channel=channel)
    question = next(m for m in h.slack.messages(channel) if "still open" in str(m.blocks))
    await h.driver.click("statuspage_resolve", question.blocks[1]["elements"][0]["value"],
                         user=CHARLIE, channel=channel, message_ts=question.ts)
    assert await mirror(page) == 1
    assert created["status"] == "resolved" and created["resolved_at"]
    assert statuspage.components["cmpcheckout1"]["status"] == "operational"
    assert [u["status"] for u in created["incident_updates"]] == \
        ["resolved", "identified", "investigating"]
    assert await mirror(page) == 0  # nothing twice
    assert len(statuspage.calls_to("PATCH")) == 2


async def test_down_is_retried_later_and_a_refused_key_is_not(
    page: Page, statuspage: StatuspageStandin
) -> None:
    h = page.h
    channel = await page.incident("Checkout errors sev:2 services:checkout-api")
    statuspage.fail(503, times=3)
    reply = await h.driver.command("statuspage Checkout=degraded Slow checkouts.",
                                   user=CHARLIE, channel=channel)
    assert "Published" in reply.text and ":warning:" not in reply.text
    assert await mirror(page) == 0
    assert statuspage.incidents == {}
    page.clock.advance(timedelta(minutes=2))
    assert await mirror(page) == 1 and len(statuspage.incidents) == 1

    statuspage.api_key = "rotated"  # ours is refused from now on
    try:
        await h.driver.command("statuspage Checkout=major Checkout is down.", user=CHARLIE,
                               channel=channel)
        assert await mirror(page) == 0
        page.clock.advance(timedelta(hours=1))
        assert await mirror(page) == 0
        assert len([c for c in statuspage.calls if c.status == 401]) == 1  # not retried
    finally:
        statuspage.api_key = StatuspageStandin.api_key


async def test_maintenance_is_a_scheduled_incident_there(page: Page,
                                                         statuspage: StatuspageStandin) -> None:
    await page.h.driver.command("maintenance Checkout 2026-11-23T15:00Z 1h Database upgrade.",
                                user=ALICE, channel=page.h.incidents_id)
    assert await mirror(page) == 1
    [window] = statuspage.incidents.values()
    assert window["status"] == "scheduled" and window["component_ids"] == ["cmpcheckout1"]
    page.clock.advance(timedelta(hours=1, minutes=1))
    await page.status.maintenance.advance_due()
    assert await mirror(page) == 1
    assert window["status"] == "in_progress"
