"""The status page's HTML (/status) through the real bot: rendered from the snapshot with
Jinja2, cached (ETag, Cache-Control, 304), without a script; what it shows with no
incident, an outage and a maintenance window; that everything people wrote is escaped,
and that nothing private or internal ever reaches it; the forms refuse other sites."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import aiohttp
import pytest

from bot.statuspage.models import ComponentStatus, PublicIncident, PublicStatus, PublicUpdate
from sandbox.slack_emulator import SlackEmulator
from tests.statuspage_fixture import ALICE, CHARLIE, Page, check_shape, status_page

XSS_TITLE = "'><img src=x onerror=alert(1)>"
XSS_BODY = '"><img src=y onerror=alert(3)> <script>alert(4)</script> Checkouts fail & we look.'


class Tags(HTMLParser):
    """Every start tag with its attributes, so a test can say what the page is made of."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag]


def tags(html: str) -> Tags:
    parser = Tags()
    parser.feed(html)
    return parser


@pytest.fixture
async def page(slack: SlackEmulator, redis_url: str, tmp_path: Path) -> AsyncIterator[Page]:
    async with status_page(slack, redis_url, tmp_path) as p:
        yield p


async def html(page: Page, path: str = "/status") -> str:
    await page.status.snapshots.refresh(force=True)
    status, headers, body = await page.get(path)
    assert status == 200, body
    assert headers["content-type"] == "text/html; charset=utf-8"
    return body.decode()


async def test_no_incident_all_operational_with_90_days_of_bars(page: Page) -> None:
    text = await html(page)
    assert "All Systems Operational" in text
    assert "Current incidents" not in text and "No incidents in the last 90 days." in text
    # the group, then its components, in the file's order; Ledger is internal
    assert re.search(r"Shopping.*Checkout.*Search", text, re.S)
    assert "Ledger" not in text
    bars = re.findall(r'<ol class="bars" aria-label="([^"]+)">(.*?)</ol>', text, re.S)
    assert [label.split(":")[0] for label, _ in bars] == ["Checkout", "Search"]
    for label, items in bars:
        assert items.count("<li></li>") == 90  # a day without downtime: a plain bar
        assert label.endswith("100.00%")
    assert text.count("100.00% uptime") == 2
    parsed = tags(text)
    assert parsed.named("script") == []  # nothing to run: it works without JavaScript
    assert not any(k.startswith("on") for _, a in parsed.tags for k in a)
    assert not any("style" in a for _, a in parsed.tags)  # CSP: no inline styles either
    [sheet] = [a["href"] for a in parsed.named("link") if a.get("rel") == "stylesheet"]
    assert sheet is not None and sheet.startswith("/status/static/status.css?v=")
    status, headers, body = await page.get(sheet)
    assert status == 200 and headers["content-type"].startswith("text/css")
    assert b"@media" in body and b"http" not in body  # vendored: no CDN, no import
    assert "immutable" in headers["cache-control"]
    for href in {a["href"] for a in parsed.named("a") if (a.get("href") or "").startswith("/")}:
        assert href is not None and (await page.get(href))[0] == 200, href
    viewport = [a for a in parsed.named("meta") if a.get("name") == "viewport"]
    assert viewport and "width=device-width" in (viewport[0]["content"] or "")


async def test_the_page_is_cached_and_answers_304(page: Page) -> None:
    snap = await page.status.snapshots.refresh(force=True)
    assert snap.document("public", "index.html") is None  # no page asked yet: no Jinja2
    status, headers, body = await page.get("/status")
    assert status == 200 and headers["cache-control"].startswith("public, max-age=")
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "'unsafe-inline'" not in headers["content-security-policy"]
    again, _, empty = await page.get("/status", {"If-None-Match": headers["etag"]})
    assert again == 304 and empty == b""
    # served from the snapshot: the same bytes until the page changes
    _, same_headers, same = await page.get("/status")
    assert same == body and same_headers["etag"] == headers["etag"]
    channel = await page.incident("Checkout down sev:1 services:checkout-api")
    await page.h.driver.command("statuspage Checkout=major Checkout is down.", user=CHARLIE,
                                channel=channel)
    await page.status.snapshots.refresh(force=True)
    changed, new_headers, _ = await page.get("/status", {"If-None-Match": headers["etag"]})
    assert changed == 200 and new_headers["etag"] != headers["etag"]


async def test_browsers_get_it_gzipped_once_compressed_in_the_snapshot(page: Page) -> None:
    await html(page)
    url = f"{page.h.url}/status"
    async with aiohttp.ClientSession(auto_decompress=False) as s:
        async with s.get(url, headers={"Accept-Encoding": "identity"}) as r:
            plain, plain_tag = await r.read(), r.headers["ETag"]
            assert "Content-Encoding" not in r.headers
        async with s.get(url, headers={"Accept-Encoding": "gzip, deflate, br"}) as r:
            packed, packed_tag = await r.read(), r.headers["ETag"]
            assert r.headers["Content-Encoding"] == "gzip"
            assert r.headers["Vary"] == "Accept-Encoding"
        assert gzip.decompress(packed) == plain and len(packed) < len(plain) / 3
        assert packed_tag != plain_tag
        async with s.get(url, headers={"Accept-Encoding": "gzip;q=0"}) as r:
            assert "Content-Encoding" not in r.headers
        async with s.get(url, headers={"Accept-Encoding": "gzip",
                                       "If-None-Match": packed_tag}) as r:
            assert r.status == 304


async def test_a_major_outage_then_resolved_shows_updates_and_the_bar(page: Page) -> None:
    h = page.h
    channel = await page.incident("Checkout API down sev:1 services:checkout-api")
    page.clock.advance(timedelta(minutes=2))
    reply = await h.driver.command(
        "statuspage Checkout=major Checkouts fail for everyone; we are investigating.",
        user=CHARLIE, channel=channel)
    assert "Published" in reply.text, reply.text
    text = await html(page)
    assert "Partial System Outage" in text and 'class="overall indicator-critical"' in text
    current = text.split('id="current-h"')[1].split("</section>")[0]
    assert "Checkout unavailable" in current
    assert "Checkouts fail for everyone; we are investigating." in current
    assert "Investigating" in current
    checkout = text.split("<h4>Checkout</h4>")[1].split("</div>")[0]
    assert "Major outage" in checkout
    page.clock.advance(timedelta(minutes=45))
    await h.driver.command("resolve rolled back", user=ALICE, channel=channel)
    await h.driver.command("statuspage Checkout=operational status:resolved "
                           "Checkouts work again.", user=CHARLIE, channel=channel)
    text = await html(page)
    assert "All Systems Operational" in text and "Current incidents" not in text
    past = text.split('id="past-h"')[1].split("</section>")[0]
    assert "Checkout unavailable" in past and "Checkouts work again." in past
    bars = dict(re.findall(r'aria-label="(\w+): uptime[^"]*">(.*?)</ol>', text, re.S))
    days = re.findall(r'<li(?: class="(\w+)" title="([^"]+)")?></li>', bars["Checkout"])
    assert len(days) == 90 and days[:-1] == [("", "")] * 89
    assert days[-1][0] == "major" and "45m of downtime" in days[-1][1]
    assert "99.96% uptime" in text  # 45 of 129,600 minutes
    assert bars["Search"].count("<li></li>") == 90


async def test_a_maintenance_window_upcoming_then_in_progress(page: Page) -> None:
    reply = await page.h.driver.command(
        "maintenance Checkout,Search 2026-11-23T15:00Z 90m Database upgrade; short blips.",
        user=ALICE, channel=page.h.incidents_id)
    assert "Scheduled" in reply.text, reply.text
    text = await html(page)
    upcoming = text.split('id="upcoming-h"')[1].split("</section>")[0]
    assert "Nov 23, 2026 15:00 UTC – 16:30 UTC" in upcoming
    assert "Checkout, Search" in upcoming and "Database upgrade; short blips." in upcoming
    page.clock.advance(timedelta(hours=1))
    await page.status.maintenance.advance_due()
    text = await html(page)
    assert 'id="upcoming-h"' not in text
    active = text.split('id="active-h"')[1].split("</section>")[0]
    assert "In progress" in active
    assert "Service Under Maintenance" in text
    assert text.count("Under maintenance</span>") >= 2


async def test_everything_people_wrote_is_escaped(page: Page) -> None:
    h = page.h
    channel = await page.incident("Checkout broken sev:2 services:checkout-api")
    reply = await h.driver.command(
        f'statuspage Checkout=partial "title:{XSS_TITLE}" {XSS_BODY}',
        user=CHARLIE, channel=channel)
    assert "Published" in reply.text, reply.text
    await h.driver.command(
        "maintenance Search 2026-11-24T02:00Z 1h <b onmouseover=alert(2)>reindex</b>",
        user=ALICE, channel=h.incidents_id)
    text = await html(page)
    assert "&#39;&gt;&lt;img src=x onerror=alert(1)&gt;" in text  # the title
    assert "&#34;&gt;&lt;img src=y onerror=alert(3)&gt; &lt;script&gt;alert(4)&lt;/script&gt;" \
        in text
    assert "&lt;b onmouseover=alert(2)&gt;reindex&lt;/b&gt;" in text
    assert "Checkouts fail &amp; we look." in text
    parsed = tags(text)
    assert parsed.named("script") == [] and parsed.named("img") == []
    assert parsed.named("b") == []
    assert not any(k.startswith("on") for _, a in parsed.tags for k in a)


async def test_a_private_incident_and_internal_components_never_reach_the_page(
    page: Page
) -> None:
    h = page.h
    channel = await page.incident("Payroll export leaked private:yes sev:1 services:checkout-api")
    ok = await h.driver.command("statuspage Checkout=degraded Some checkouts are slow.",
                                user=CHARLIE, channel=channel)
    assert "Published" in ok.text, ok.text
    internal_only = await page.incident("Ledger lag sev:3 services:ledger")
    ok = await h.driver.command("statuspage Ledger=degraded Replication is behind.",
                                user=CHARLIE, channel=internal_only)
    assert "Published" in ok.text, ok.text
    # one public incident holding a public and an internal component (as a form may)
    at = page.clock()
    both = {"Search": ComponentStatus.PARTIAL, "Ledger": ComponentStatus.MAJOR}
    await page.status.publishing.pages.create_incident(PublicIncident(
        id="both00000001", incident_id="INC-20261123-ledger", name="Search is slow",
        status=PublicStatus.INVESTIGATING, components=both, created_at=at, updated_at=at,
        started_at=at, updates=[PublicUpdate(id="u1", status="investigating", at=at, by=ALICE,
                                             body="Searches are slow.", components=both)]))
    await page.status.publishing.pages.bump()
    for text in ("maintenance Ledger 2026-11-24T02:00Z 1h Disk swap",
                 "maintenance Checkout,Ledger 2026-11-24T04:00Z 1h Network work"):
        reply = await h.driver.command(text, user=ALICE, channel=h.incidents_id)
        assert "Scheduled" in reply.text, reply.text
    text = await html(page)
    assert "Some checkouts are slow." in text and "Searches are slow." in text
    assert "Network work" in text and "Disk swap" not in text
    documents = [text]
    for path in ("summary.json", "incidents.json", "scheduled-maintenances.json",
                 "components.json"):
        documents.append((await page.get(f"/status/api/v2/{path}"))[2].decode())
    documents.append((await page.get("/status/feed.atom"))[2].decode())
    for document in documents:
        for secret in ("ayroll", "leak", "Ledger", "Replication", "INC-", "inc-", ALICE,
                       CHARLIE):
            assert secret not in document, (secret, document[:200])
    # the internal view has them (its page needs sign-in: tests/test_statuspage_internal.py)
    snap = await page.status.snapshots.refresh(force=True)
    inside = snap.document("internal", "index.html")
    assert inside is not None
    for detail in ("Ledger", "Replication is behind.", "INC-20261123-ledger", "Disk swap"):
        assert detail.encode() in inside.body, detail


async def test_forms_refuse_other_sites_and_email_is_offered_only_with_smtp(
    slack: SlackEmulator, redis_url: str, tmp_path: Path
) -> None:
    async with status_page(slack, redis_url, tmp_path) as p:
        assert "<form" not in await html(p)  # no SMTP: no email form (and no webhooks here)
    async with status_page(slack, redis_url, tmp_path, smtp_url="smtp://127.0.0.1:1",
                           status_page_from="status@example.com") as p:
        parsed = tags(await html(p))
        [form] = parsed.named("form")
        assert form["action"] == "/status/subscribe" and form["method"] == "post"
        boxes = [a["value"] for a in parsed.named("input") if a.get("type") == "checkbox"]
        assert boxes == ["Checkout", "Search"]
        for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
            status, text = await p.post("/status/subscribe", {"email": "a@example.com"},
                                        headers=headers)
            assert status == 403 and "status page itself" in text
        assert await p.status.subscribers.pages.subscribers() == []


async def test_every_json_document_of_a_busy_page_has_statuspages_shape(page: Page) -> None:
    """An open incident, a resolved one, a window in progress and one upcoming: every
    document of both pages against the schema written from Statuspage's reference."""
    h = page.h
    old = await page.incident("Search slow sev:3 services:search")
    await h.driver.command("statuspage Search=degraded Searches are slow.", user=CHARLIE,
                           channel=old)
    page.clock.advance(timedelta(minutes=30))
    await h.driver.command("statuspage Search=operational status:resolved Fixed.",
                           user=CHARLIE, channel=old)
    now = await page.incident("Checkout down sev:1 services:checkout-api")
    await h.driver.command("statuspage Checkout=major Checkout is down.", user=CHARLIE,
                           channel=now)
    for text in ("maintenance Search 2026-11-23T14:40Z 2h Reindex",
                 "maintenance Ledger 2026-11-25T02:00Z 1h Disk swap"):
        reply = await h.driver.command(text, user=ALICE, channel=h.incidents_id)
        assert "Scheduled" in reply.text, reply.text
    page.clock.advance(timedelta(minutes=15))
    await page.status.maintenance.advance_due()
    snap = await page.status.snapshots.refresh(force=True)
    shapes = {"incidents/unresolved.json": "incidents.json",
              "scheduled-maintenances/upcoming.json": "scheduled-maintenances.json",
              "scheduled-maintenances/active.json": "scheduled-maintenances.json"}
    paths = ["summary.json", "status.json", "components.json", "incidents.json",
             "scheduled-maintenances.json", *shapes]
    for path in paths:
        public = await page.json(path)
        check_shape(shapes.get(path, path), public)
        inside = snap.document("internal", f"api/v2/{path}")
        assert inside is not None
        check_shape(shapes.get(path, path), json.loads(inside.body))
    summary = await page.json("summary.json")
    assert [i["name"] for i in summary["incidents"]] == ["Checkout unavailable"]
    assert [m["status"] for m in summary["scheduled_maintenances"]] == ["in_progress"]
    assert [i["impact"] for i in (await page.json("incidents.json"))["incidents"]] == \
        ["critical", "minor"]  # the resolved one keeps the impact it had
    upcoming = snap.document("internal", "api/v2/scheduled-maintenances/upcoming.json")
    assert upcoming is not None and b"Disk swap" in upcoming.body
    assert (await page.json("scheduled-maintenances/upcoming.json"))[
        "scheduled_maintenances"] == []  # Ledger's window is internal
    # each shortlink (also the feed's links) leads to its place on the page
    text = await html(page)
    subjects = [*(await page.json("incidents.json"))["incidents"],
                *(await page.json("scheduled-maintenances.json"))["scheduled_maintenances"]]
    assert len(subjects) == 3
    for subject in subjects:
        path = subject["shortlink"].removeprefix("https://status.example.com")
        status, headers, _ = await page.get(path)
        page_path, anchor = headers["location"].split("#")
        assert status == 302 and page_path == "/status" and f'id="{anchor}"' in text
    [ledger] = [m for m in snap.views["internal"].maintenances if m.name.endswith("Ledger")]
    assert (await page.get(f"/status/maintenance/{ledger.id}"))[0] == 404
    assert (await page.get("/status/incidents/nosuchthing1"))[0] == 404


@pytest.mark.parametrize(("words", "why"), [
    ("Ledger disk swap", "it names something internal (ledger)"),
    ("Restarting checkout-api", "it names something internal (checkout-api)"),
    ("Rebooting db-1.internal", "it names a host or an address"),
    ("Ask <@U0ALICE> in #ops", "it mentions a person or a channel"),
])
async def test_a_public_windows_words_are_checked_like_a_publish(
    page: Page, words: str, why: str
) -> None:
    reply = await page.h.driver.command(f"maintenance Checkout 2026-11-24T02:00Z 1h {words}",
                                        user=ALICE, channel=page.h.incidents_id)
    assert "Not scheduled" in reply.text and why in reply.text, reply.text
    assert (await page.json("scheduled-maintenances.json"))["scheduled_maintenances"] == []
    snap = await page.status.snapshots.refresh(force=True)
    assert snap.views["internal"].maintenances == []
