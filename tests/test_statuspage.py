"""Publishing to the status page from Slack, through the real bot: who may, what the
public words may say, what the page and its Statuspage JSON show, and what happens after
a status change and a resolve."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.timeline.models import EventKind
from sandbox.slack_emulator import SlackEmulator
from tests.statuspage_fixture import ALICE, BOB, CHARLIE, Page, check_shape, status_page

DOCUMENTS = ("summary.json", "status.json", "components.json", "incidents.json",
             "scheduled-maintenances.json")


@pytest.fixture
async def page(slack: SlackEmulator, redis_url: str, tmp_path: Path) -> AsyncIterator[Page]:
    async with status_page(slack, redis_url, tmp_path) as p:
        yield p


async def test_an_empty_page_speaks_statuspage(page: Page) -> None:
    for name in DOCUMENTS:
        document = await page.json(name)
        check_shape(name, document)
    summary = await page.json("summary.json")
    assert summary["status"] == {"indicator": "none", "description": "All Systems Operational"}
    names = [c["name"] for c in summary["components"]]
    assert names == ["Shopping", "Checkout", "Search"]  # the group, then its components
    assert "Ledger" not in json.dumps(summary)  # internal: /status/internal only
    internal = await page.status.snapshots.refresh(force=True)
    assert [c.name for c in internal.views["internal"].components] == \
        ["Checkout", "Search", "Ledger"]


async def test_comms_publishes_checkout_degraded(page: Page) -> None:
    h = page.h
    channel = await page.incident("Checkout API returning 500s sev:2 services:checkout-api")
    page.clock.advance(timedelta(minutes=5))
    reply = await h.driver.command(
        "statuspage Checkout=degraded Some checkouts fail; we are investigating.",
        user=CHARLIE, channel=channel)
    assert "Published *Checkout degraded* on the status page" in reply.text
    assert any("Published to the status page: *Checkout degraded*" in t
               for t in page.said(channel))
    incident_id = await h.store.incident_id_for_channel(channel)
    events = [e for _, e in await h.store.events(incident_id)]
    assert any(e.kind is EventKind.STATUS_PAGE and e.actor == CHARLIE for e in events)

    summary = await page.json("summary.json")
    check_shape("summary.json", summary)
    assert summary["status"]["indicator"] == "minor"
    checkout = next(c for c in summary["components"] if c["name"] == "Checkout")
    assert checkout["status"] == "degraded_performance"
    [published] = summary["incidents"]
    assert published["name"] == "Checkout degraded"
    assert published["impact"] == "minor"
    assert published["incident_updates"][0]["body"] == "Some checkouts fail; we are investigating."
    text = json.dumps(summary)
    for internal in (incident_id, "checkout-api", "Charlie", CHARLIE, channel):
        assert internal not in text
    for name in DOCUMENTS[1:]:
        check_shape(name, await page.json(name))


async def test_only_ic_comms_or_admins_publish_and_nothing_changes(page: Page) -> None:
    h = page.h
    channel = await page.incident("Checkout slow sev:3 services:checkout-api")
    before = await page.json("summary.json")
    reply = await h.driver.command("statuspage Checkout=degraded Slow checkouts.",
                                   user=BOB, channel=channel)
    assert "Only the IC or the Comms lead" in reply.text
    assert await page.json("summary.json") == before


@pytest.mark.parametrize(("words", "why"), [
    ("Alice Anders is looking into it", "names someone"),
    ("checkout-api is returning errors", "internal service (checkout-api)"),
    ("db-03 is down", "host or an address"),
    ("see #inc-channel for news", "names a channel"),
    ("ask <@U0BOB>", "mentions a person"),
])
async def test_public_words_never_name_people_or_internals(
    page: Page, words: str, why: str
) -> None:
    h = page.h
    channel = await page.incident("Checkout failing sev:2 services:checkout-api")
    reply = await h.driver.command(f"statuspage Checkout=partial {words}", user=CHARLIE,
                                   channel=channel)
    assert "Not published" in reply.text and why in reply.text, reply.text
    assert (await page.json("summary.json"))["incidents"] == []


async def test_a_drafted_publish_waits_for_the_yes(page: Page) -> None:
    h = page.h
    channel = await page.incident("Checkout failing sev:1 services:checkout-api,ledger")
    reply = await h.driver.command("statuspage status:investigating", user=CHARLIE,
                                   channel=channel)
    assert "Drafted for the status page" in reply.text
    assert "Checkout unavailable" in reply.text  # SEV1: a major outage; Ledger is internal
    assert "Ledger" not in reply.text
    assert (await page.json("summary.json"))["incidents"] == []  # nothing without the yes
    blocks = reply.responses[-1]["blocks"]
    ref = blocks[1]["elements"][0]["value"]
    click = await h.driver.click("statuspage_publish", ref, user=CHARLIE, channel=channel,
                                 message_ts="1.1")
    assert "Published *Checkout unavailable*" in click.text
    again = await h.driver.click("statuspage_publish", ref, user=CHARLIE, channel=channel,
                                 message_ts="1.2")
    assert "published already or has expired" in again.text
    summary = await page.json("summary.json")
    assert [i["name"] for i in summary["incidents"]] == ["Checkout unavailable"]
    assert summary["status"] == {"indicator": "critical", "description": "Partial System Outage"}


async def test_status_change_offers_and_resolve_asks(page: Page) -> None:
    h = page.h
    channel = await page.incident("Checkout failing sev:2 services:checkout-api")
    page.clock.advance(timedelta(minutes=1))
    await h.driver.command("statuspage Checkout=major Checkout is down.", user=CHARLIE,
                           channel=channel)
    page.clock.advance(timedelta(minutes=30))
    await h.driver.command("status identified", user=ALICE, channel=channel)
    offers = [m for m in h.slack.messages(channel) if "update the status page to" in m.text
              or "Update the status page" in json.dumps(m.blocks)]
    assert offers, page.said(channel)
    page.clock.advance(timedelta(minutes=30))
    await h.driver.command("resolve rolled back", user=ALICE, channel=channel)
    question = next(m for m in h.slack.messages(channel)
                    if "still open on the status page" in json.dumps(m.blocks))
    incident_id = question.blocks[1]["elements"][0]["value"]
    click = await h.driver.click("statuspage_resolve", incident_id, user=CHARLIE,
                                 channel=channel, message_ts=question.ts)
    assert "(resolved)" in click.text
    summary = await page.json("summary.json")
    assert summary["incidents"] == []
    assert {c["status"] for c in summary["components"]} == {"operational"}
    [past] = (await page.json("incidents.json"))["incidents"]
    assert past["status"] == "resolved" and past["resolved_at"]
    view = page.status.snapshots.current
    assert view is not None
    checkout = next(c for c in view.views["public"].components if c.name == "Checkout")
    assert checkout.uptime.days[-1].level == "major"  # 60 minutes of major outage today
    assert checkout.uptime.percent < 100.0


async def test_update_public_yes_updates_the_public_incident(page: Page) -> None:
    h = page.h
    channel = await page.incident("Checkout failing sev:2 services:checkout-api")
    await h.driver.command("statuspage Checkout=partial Some checkouts fail.", user=CHARLIE,
                           channel=channel)
    reply = await h.driver.command(
        'update "A fix is rolling out to all regions." status:monitoring public:yes',
        user=CHARLIE, channel=channel)
    assert "status page" in reply.text, reply.text
    [published] = (await page.json("summary.json"))["incidents"]
    assert published["status"] == "monitoring"
    assert published["incident_updates"][0]["body"] == "A fix is rolling out to all regions."


async def test_a_private_incident_never_reaches_the_page(page: Page) -> None:
    h = page.h
    channel = await page.incident("Payroll export leaked private:yes sev:2 services:checkout-api")
    refused = await h.driver.command("statuspage Checkout=degraded The payroll export leaked.",
                                     user=CHARLIE, channel=channel)
    assert "Not published" in refused.text and "private incident" in refused.text
    ok = await h.driver.command("statuspage Checkout=degraded Some checkouts are slow.",
                                user=CHARLIE, channel=channel)
    assert "Published" in ok.text
    for name in DOCUMENTS:
        text = json.dumps(await page.json(name))
        assert "ayroll" not in text and "leak" not in text
    status, _, body = await page.get("/status/feed.atom")
    assert status == 200 and b"ayroll" not in body


@pytest.mark.parametrize(("mode", "model_words"), [("faithful", True), ("invent_person", False),
                                                   ("invent_number", False)])
async def test_the_model_may_word_it_and_is_checked(
    slack: SlackEmulator, redis_url: str, tmp_path: Path, mode: str, model_words: bool
) -> None:
    from sandbox.anthropic_standin import AnthropicStandin

    model = AnthropicStandin()
    model.start()
    model.reset(mode)
    try:
        async with status_page(slack, redis_url, tmp_path, anthropic_api_key=model.api_key,
                               anthropic_base_url=model.base_url) as p:
            channel = await p.incident("Checkout failing sev:2 services:checkout-api")
            reply = await p.h.driver.command("statuspage Checkout=partial", user=CHARLIE,
                                             channel=channel)
            assert "Drafted for the status page" in reply.text
            assert ("Update: We are investigating" in reply.text) == model_words, reply.text
            assert "Mallory" not in reply.text and "47%" not in reply.text
            if not model_words:
                assert "the model's words named what the record does not say" in reply.text
    finally:
        model.stop()
