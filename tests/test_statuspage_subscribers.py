"""Subscribers and maintenance through the real bot: an email subscriber over a real SMTP
server (aiosmtpd) with double opt-in and an unsubscribe link, a webhook subscriber whose
deliveries are signed and retried from the outbox, each delivered exactly once across two
workers; the Atom feed; maintenance windows moved on time, once; ETags and 304s."""

from __future__ import annotations

import asyncio
import email
import hashlib
import hmac
import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from email.message import Message
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller

from bot.statuspage.subscribers import SIGNATURE_HEADER
from sandbox.slack_emulator import SlackEmulator
from tests.conftest import free_port
from tests.statuspage_fixture import ALICE, CHARLIE, Page, check_shape, status_page


class Inbox:
    """aiosmtpd's handler: every message the relay accepted."""

    def __init__(self) -> None:
        self.mails: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


class Receiver:
    """A webhook endpoint: fails the first `fail` deliveries with 503, keeps the rest."""

    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.fail = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.fail > 0:
            self.fail -= 1
            return web.Response(status=503)
        self.got.append((dict(request.headers), body))
        return web.Response(status=204)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    r = Receiver()
    app = web.Application()
    app.router.add_post("/hook", r.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield r, f"http://127.0.0.1:{port}/hook"
    await runner.cleanup()


@pytest.fixture
async def page(slack: SlackEmulator, redis_url: str, tmp_path: Path,
               smtp: tuple[Inbox, int]) -> AsyncIterator[Page]:
    inbox, port = smtp
    inbox.mails.clear()
    async with status_page(slack, redis_url, tmp_path, smtp_url=f"smtp://127.0.0.1:{port}",
                           status_page_from="Status <status@example.com>") as p:
        yield p


def body_of(mail: Message) -> str:
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


async def deliver_from_two_workers(p: Page) -> int:
    """Two workers drain the outbox at once (each a delivery claimed once)."""
    subs = p.status.subscribers
    sent = await asyncio.gather(subs.deliver_due(), subs.deliver_due())
    return sum(sent)


async def test_email_and_webhook_subscribers_each_get_a_publish_once(
    page: Page, smtp: tuple[Inbox, int], receiver: tuple[Receiver, str]
) -> None:
    inbox, _ = smtp
    hook, url = receiver
    subs = page.status.subscribers
    sub, secret = await subs.subscribe_webhook(url, ["Checkout"])
    status, answer = await page.post("/status/subscribe",
                                     {"email": "cu@example.org", "component": "Checkout"})
    assert status == 200 and "Check your mail" in answer
    assert await deliver_from_two_workers(page) == 1
    [confirm] = inbox.mails
    link = re.search(r"https://status\.example\.com(/status/subscriptions/confirm/\S+)",
                     body_of(confirm))
    assert link, confirm.get_payload()
    status, answer = await page.post_get(link.group(1))
    assert status == 200 and "Subscribed: cu@example.org" in answer, (link.group(1), answer)

    channel = await page.incident("Checkout errors sev:2 services:checkout-api")
    await page.h.driver.command("statuspage Checkout=degraded Some checkouts fail.",
                                user=CHARLIE, channel=channel)
    hook.fail = 1  # the first try fails: retried from the outbox with backoff
    assert await deliver_from_two_workers(page) == 1  # the mail; the webhook waits
    page.clock.advance(timedelta(seconds=31))
    assert await deliver_from_two_workers(page) == 1
    page.clock.advance(timedelta(hours=1))
    assert await deliver_from_two_workers(page) == 0  # nothing twice

    [(headers, body)] = hook.got
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers[SIGNATURE_HEADER] == expected
    delivered = json.loads(body)
    check_shape("incident", delivered["incident"])
    assert delivered["incident"]["name"] == "Checkout degraded"
    assert delivered["meta"]["unsubscribe"].endswith(sub.token)
    mails = [m for m in inbox.mails if "Checkout degraded" in str(m["Subject"])]
    assert len(mails) == 1
    mail = mails[0]
    assert "Some checkouts fail." in body_of(mail)
    assert "/status/subscriptions/unsubscribe/" in body_of(mail)
    assert mail["List-Unsubscribe"].startswith("<https://status.example.com/status/")

    unsubscribe = re.search(r"https://status\.example\.com(/status/subscriptions/unsub\S+)",
                            body_of(mail))
    assert unsubscribe
    status, _, form = await page.get(unsubscribe.group(1))
    assert status == 200 and b"<button" in form  # a GET only shows the button
    status, answer = await page.post(unsubscribe.group(1), {})
    assert status == 200 and "Unsubscribed: cu@example.org" in answer
    await page.h.driver.command("statuspage Checkout=major Checkout is down.", user=CHARLIE,
                                channel=channel)
    await deliver_from_two_workers(page)
    assert len([m for m in inbox.mails if "Checkout" in str(m["Subject"])]) == 1


async def test_an_unconfirmed_email_and_other_components_get_nothing(
    page: Page, smtp: tuple[Inbox, int], receiver: tuple[Receiver, str]
) -> None:
    inbox, _ = smtp
    hook, url = receiver
    await page.status.subscribers.subscribe_webhook(url, ["Search"])
    await page.post("/status/subscribe", {"email": "later@example.org"})
    await deliver_from_two_workers(page)  # the confirm mail only
    channel = await page.incident("Checkout errors sev:2 services:checkout-api")
    await page.h.driver.command("statuspage Checkout=degraded Some checkouts fail.",
                                user=CHARLIE, channel=channel)
    assert await deliver_from_two_workers(page) == 0
    assert hook.got == [] and len(inbox.mails) == 1
    status, answer = await page.post("/status/subscribe", {"email": "not an address"})
    assert status == 400 and "not an email address" in answer


async def test_the_feed_has_each_update(page: Page) -> None:
    channel = await page.incident("Checkout errors sev:2 services:checkout-api")
    await page.h.driver.command('statuspage Checkout=degraded "Slow <checkouts> & carts."',
                                user=CHARLIE, channel=channel)
    await page.status.snapshots.refresh(force=True)
    status, headers, body = await page.get("/status/feed.atom")
    assert status == 200 and headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(body)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    [entry] = feed.findall("a:entry", ns)
    assert entry.findtext("a:title", namespaces=ns) == "Checkout degraded: Investigating"
    assert "Slow <checkouts> & carts." in (entry.findtext("a:content", namespaces=ns) or "")
    assert b"&lt;checkouts&gt; &amp; carts" in body


async def test_maintenance_moves_on_time_once(page: Page, receiver: tuple[Receiver, str]
                                              ) -> None:
    hook, url = receiver
    await page.status.subscribers.subscribe_webhook(url, [])
    reply = await page.h.driver.command(
        "maintenance Checkout,Search 2026-11-23T15:00Z 90m Database upgrade; short blips.",
        user=ALICE, channel=page.h.incidents_id)
    assert "Scheduled *Scheduled maintenance: Checkout and Search*" in reply.text
    upcoming = await page.json("scheduled-maintenances/upcoming.json")
    [window] = upcoming["scheduled_maintenances"]
    check_shape("maintenance", window)
    assert window["status"] == "scheduled" and window["scheduled_for"] == \
        "2026-11-23T15:00:00.000Z"
    maintenance = page.status.maintenance
    assert await asyncio.gather(maintenance.advance_due(), maintenance.advance_due()) == [[], []]
    page.clock.advance(timedelta(hours=1))
    moved = await asyncio.gather(maintenance.advance_due(), maintenance.advance_due())
    assert sum(len(m) for m in moved) == 1
    summary = await page.json("summary.json")
    check_shape("summary.json", summary)
    assert summary["status"]["indicator"] == "maintenance"
    assert {c["name"]: c["status"] for c in summary["components"]}["Checkout"] == \
        "under_maintenance"
    page.clock.advance(timedelta(minutes=90))
    moved = await asyncio.gather(maintenance.advance_due(), maintenance.advance_due())
    assert sum(len(m) for m in moved) == 1
    done = (await page.json("scheduled-maintenances.json"))["scheduled_maintenances"][0]
    assert done["status"] == "completed"
    assert [u["status"] for u in done["incident_updates"]] == \
        ["completed", "in_progress", "scheduled"]
    await deliver_from_two_workers(page)
    assert [json.loads(b)["incident"]["status"] for _, b in hook.got] == \
        ["scheduled", "in_progress", "completed"]


@pytest.mark.parametrize("text", [
    "maintenance Checkout 2026-11-23T15:00Z",
    "maintenance Nope 2026-11-23T15:00Z 1h upgrade",
    "maintenance Checkout tomorrow 1h upgrade",
    "maintenance Checkout 2026-11-23T15:00Z 2026-11-23T14:00Z upgrade",
])
async def test_a_wrong_maintenance_says_why_and_changes_nothing(page: Page, text: str) -> None:
    reply = await page.h.driver.command(text, user=ALICE, channel=page.h.incidents_id)
    assert "*Usage:*" in reply.text, reply.text
    assert (await page.json("scheduled-maintenances.json"))["scheduled_maintenances"] == []


async def test_etags_answer_304_and_the_cache_header(page: Page) -> None:
    await page.status.snapshots.refresh(force=True)
    status, headers, _ = await page.get("/status/api/v2/summary.json")
    assert status == 200 and headers["cache-control"].startswith("public, max-age=")
    again, _, body = await page.get("/status/api/v2/summary.json",
                                    {"If-None-Match": headers["etag"]})
    assert again == 304 and body == b""
    status, _, _ = await page.get("/status/api/v2/nothing.json")
    assert status == 404
    status, _, _ = await page.get("/status/internal/api/v2/summary.json")
    assert status == 404  # no sign-in configured: no internal page
