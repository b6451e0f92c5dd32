"""Postmortems published to Confluence, Notion and Google Docs, each adapter against its
stand-in and the feature through the real bot: the happy path with the chart, the same
document updated by a second version, refused credentials (not retried), 429 then success,
a timeout, a document deleted there; POSTMORTEM_PUBLISH=auto, the link in the channel, on
the timeline and in the record; a private incident published only after a confirmation,
to the place named, under its label; a store that is down warns once and the worker
retries; no secret in the logs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.errors import IntegrationError
from bot.incidents.models import Incident, Severity
from bot.integrations.google import DRIVE_SCOPE, ServiceAccount, ServiceAccountKey
from bot.publishing.confluence import ConfluenceStore
from bot.publishing.document import build_document
from bot.publishing.gdocs import GoogleDocsStore
from bot.publishing.notion import NotionStore
from bot.publishing.port import DocumentStore
from bot.settings import SettingsError, load_settings
from bot.timeline.models import EventKind
from sandbox.slack_emulator import SlackEmulator
from sandbox.standins import ConfluenceStandin, GoogleStandin, NotionStandin, Standin
from tests.conftest import Harness, running_bot

ALICE = "U0ALICE"
PNG = b"\x89PNG\r\n\x1a\n" + b"chart" * 50
MARKDOWN = """# Postmortem: Checkout 500s

**Incident ID**: INC-20261123-0001
**Severity**: SEV2

## Summary

Checkout returned *500s* for 12 minutes; see [the runbook](https://runbooks.example/db).

## Timeline

| Time | Event |
|---|---|
| 14:00 | Declared |
| 14:05 | Rolled back `v2.3.1` |

## Metrics

- error rate 12.5/s
  - peak at 14:03
- P99 2800 ms

```promql
rate(http_requests_total{status=~"5.."}[5m])
```

## Decision Record

1. Roll back rather than scale the pool.
"""


def incident(private: bool = False) -> Incident:
    from datetime import UTC, datetime

    return Incident(id="INC-20261123-0001", title="Checkout 500s", channel_id="C0INC",
                    channel_name="inc-checkout", declared_by=ALICE, severity=Severity.SEV2,
                    declared_at=datetime(2026, 11, 23, 14, tzinfo=UTC), private=private)


def document(version: int = 1, *, chart: bool = True, extra: str = "") -> Any:
    return build_document(incident(), MARKDOWN + extra, version,
                          web_base_url="https://incidents.acme.example",
                          chart_png=PNG if chart else None, chart_note="No metric chart.")


@pytest.fixture(scope="module")
def confluence() -> Iterator[ConfluenceStandin]:
    s = ConfluenceStandin().start()
    yield s  # type: ignore[misc]
    s.stop()


@pytest.fixture(scope="module")
def notion() -> Iterator[NotionStandin]:
    s = NotionStandin().start()
    yield s  # type: ignore[misc]
    s.stop()


@pytest.fixture(scope="module")
def google() -> Iterator[GoogleStandin]:
    s = GoogleStandin().start()
    yield s  # type: ignore[misc]
    s.stop()


def make_store(kind: str, s: Standin, folder: Path, *, bad: bool = False) -> DocumentStore:
    if isinstance(s, ConfluenceStandin):
        return ConfluenceStore(url=s.base_url, email=s.email, space_id=s.space_id,
                               api_token="wrong" if bad else s.api_token,
                               parent_page_id="65601", timeout=0.5)
    if isinstance(s, NotionStandin):
        return NotionStore(token="wrong" if bad else s.token, parent_page_id=s.parent_page_id,
                           api_url=s.base_url, timeout=0.5)
    assert isinstance(s, GoogleStandin)
    key = None
    if bad:
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    account = ServiceAccount(ServiceAccountKey.from_file(s.key_file(folder, key=key)),
                             DRIVE_SCOPE, timeout=0.5)
    return GoogleDocsStore(account=account, folder_id="0AFolderPostmortems",
                           api_url=s.base_url, timeout=0.5)


KINDS = ["confluence", "notion", "gdocs"]


@pytest.fixture(params=KINDS)
def env(request: pytest.FixtureRequest, confluence: ConfluenceStandin, notion: NotionStandin,
        google: GoogleStandin, tmp_path: Path) -> Iterator[tuple[DocumentStore, Standin]]:
    s: Standin = {"confluence": confluence, "notion": notion, "gdocs": google}[request.param]
    s.reset()
    yield make_store(request.param, s, tmp_path), s


def content_of(s: Standin, ref: str) -> str:
    """What the store holds for the document, as text."""
    if isinstance(s, ConfluenceStandin):
        return str(s.pages[ref]["body"])
    if isinstance(s, NotionStandin):  # the page's blocks and their children (table rows)
        return str(list(s.blocks.values()))
    assert isinstance(s, GoogleStandin)
    return str(s.files[ref]["html"])


async def test_create_then_the_same_document_follows_a_new_version(
    env: tuple[DocumentStore, Standin],
) -> None:
    store, s = env
    first = await store.create(document(1), None)
    assert first.url.startswith("https://") or first.url.startswith("http://127.0.0.1")
    text = content_of(s, first.ref)
    assert "Roll back rather than scale the pool" in text and "14:05" in text
    assert "https://incidents.acme.example/incidents/INC-20261123-0001" in text
    assert "slack.com/app_redirect?channel=C0INC" in text
    second = await store.update(document(2, extra="\n## Follow-up\n\nSecond version.\n"),
                                first.ref)
    assert second is not None and second.ref == first.ref
    text = content_of(s, first.ref)
    assert "Second version." in text and text.count("Roll back rather than") == 1
    if isinstance(s, ConfluenceStandin):
        page = s.pages[first.ref]
        assert page["version"] == 2 and page["parentId"] == "65601"
        assert "<ac:image" in page["body"] and page["attachments"]["metrics-chart.png"][
            "data"] == PNG
        assert len(s.pages) == 3  # the two seeded pages and this one, never a second
    elif isinstance(s, NotionStandin):
        kinds = [b["type"] for b in s.children_of(first.ref)]
        assert {"heading_2", "table", "code", "image", "bulleted_list_item"} <= set(kinds)
        assert len(s.pages) == 1
        [upload] = [u for u in s.uploads.values() if u["status"] == "uploaded"][-1:]
        assert upload["data"] == PNG
    else:
        assert isinstance(s, GoogleStandin)
        file = s.files[first.ref]
        assert file["version"] == 2 and "data:image/png;base64," in file["html"]
        assert file["parents"] == ["0AFolderPostmortems"] and len(s.files) == 1
    await store.aclose()


async def test_429_then_success_and_a_timeout(env: tuple[DocumentStore, Standin]) -> None:
    store, s = env
    s.fail(429, retry_after="0")
    created = await store.create(document(1, chart=False), None)
    assert 429 in [c.status for c in s.calls] and created.ref
    assert "No metric chart." in content_of(s, created.ref)
    s.fail(0, delay=1.0, times=20)
    with pytest.raises(IntegrationError) as err:
        await store.update(document(2), created.ref)
    s.heal()
    assert err.value.retryable
    await store.aclose()


async def test_a_document_deleted_there_is_made_again(
    env: tuple[DocumentStore, Standin],
) -> None:
    store, _ = env
    assert await store.update(document(1), "0000missing") is None
    await store.aclose()


@pytest.mark.parametrize("kind", KINDS)
async def test_refused_credentials_are_not_retried_nor_logged(
    kind: str, confluence: ConfluenceStandin, notion: NotionStandin, google: GoogleStandin,
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    s: Standin = {"confluence": confluence, "notion": notion, "gdocs": google}[kind]
    s.reset()
    store = make_store(kind, s, tmp_path, bad=True)
    with pytest.raises(IntegrationError) as err:
        await store.create(document(1), None)
    await store.aclose()
    assert err.value.status == 401 and not err.value.retryable
    assert len(s.calls) == 1  # never retried
    assert "wrong" not in caplog.text and "PRIVATE KEY" not in caplog.text


async def test_notion_limits_long_text_and_many_blocks(notion: NotionStandin,
                                                        tmp_path: Path) -> None:
    notion.reset()
    store = make_store("notion", notion, tmp_path)
    long = "\n\n".join(f"Paragraph {i}: " + "x" * 2500 for i in range(230))
    page = await store.create(document(1, extra="\n" + long + "\n"), None)
    blocks = notion.children_of(page.ref)
    assert len(blocks) > 230  # more than two requests' worth, all there
    appends = [c for c in notion.calls if c.method == "PATCH" and c.path.endswith("/children")]
    assert len(appends) >= 2 and all(len(c.body["children"]) <= 100 for c in appends)
    await store.aclose()


# --- through the bot -----------------------------------------------------------------


def confluence_settings(s: ConfluenceStandin, **extra: object) -> dict[str, object]:
    return {"confluence_url": s.base_url, "confluence_email": s.email,
            "confluence_api_token": s.api_token, "confluence_space_id": s.space_id,
            "confluence_parent_page_id": "65601", **extra}


async def channel_incident(h: Harness, channel: str) -> Incident:
    found = await h.bot.services.incidents.for_channel(channel)
    assert found is not None
    return found


async def test_auto_publishes_every_version_to_one_page(
    slack: SlackEmulator, redis_url: str, confluence: ConfluenceStandin,
    caplog: pytest.LogCaptureFixture,
) -> None:
    confluence.reset()
    caplog.set_level(logging.DEBUG)
    async with running_bot(slack, redis_url,
                           **confluence_settings(confluence, postmortem_publish="auto")) as h:
        channel = await h.declare("Checkout 500s sev:2", user=ALICE)
        await h.driver.command("resolve rolled back v2.3.1", user=ALICE, channel=channel)
        await h.driver.command("postmortem", user=ALICE, channel=channel)
        publishing = h.bot.services.publishing
        assert publishing is not None
        await publishing.settle()
        inc = await channel_incident(h, channel)
        link = inc.link("postmortem", "confluence")
        assert link is not None and link.source_version == 1 and link.version == 1
        page = confluence.pages[link.ref]
        assert page["title"] == f"Postmortem {inc.id}: Checkout 500s"
        posts = [m.text for m in slack.messages(channel) if link.url in m.text]
        assert len(posts) == 1 and "published in Confluence" in posts[0]
        events = [e.event for e in await h.store.timeline(inc.id)
                  if e.event.kind is EventKind.LINK]
        assert [e.data["provider"] for e in events] == ["confluence"]
        await h.driver.command("postmortem", user=ALICE, channel=channel)  # version 2
        await publishing.settle()
        inc = await channel_incident(h, channel)
        again = inc.link("postmortem", "confluence")
        assert again is not None and again.ref == link.ref and again.source_version == 2
        assert confluence.pages[link.ref]["version"] == 2 and len(confluence.pages) == 3
        reply = await h.driver.command("postmortem publish", user=ALICE, channel=channel)
        assert link.url in reply.text and confluence.pages[link.ref]["version"] == 2
        assert await h.store.integrations.waiting("publish") == 0  # nothing left for the worker
    assert confluence.api_token not in caplog.text


async def test_a_publish_that_read_the_record_before_another_made_the_page_updates_it(
    slack: SlackEmulator, redis_url: str, confluence: ConfluenceStandin,
) -> None:
    """Two publishes of one version: the second read the record (no page yet) and then
    spent a while on the chart, while the first made the page and let go of the lease. The
    second finds the page under the lease and makes no second one."""
    confluence.reset()
    async with running_bot(slack, redis_url, **confluence_settings(confluence)) as h:
        channel = await h.declare("Search slow sev:3", user=ALICE)
        await h.driver.command("postmortem", user=ALICE, channel=channel)
        publishing = h.bot.services.publishing
        assert publishing is not None
        charts = 0
        publishes: list[asyncio.Task[Any]] = []

        async def chart_slow_the_second_time(incident: Incident) -> tuple[bytes | None, str]:
            nonlocal charts
            charts += 1
            if charts == 2:  # both have read the record; the other one finishes meanwhile
                other = next(t for t in publishes if t is not asyncio.current_task())
                await asyncio.wait([other])
            return None, "No chart."

        publishing.chart = chart_slow_the_second_time
        inc = await channel_incident(h, channel)
        pages_before = len(confluence.pages)
        publishes += [
            asyncio.create_task(
                publishing.publish(inc.id, publishing.resolve_targets([]), actor=ALICE)
            )
            for _ in range(2)
        ]
        first, second = await asyncio.gather(*publishes)
        assert charts == 2 and first.problems == [] and second.problems == []
        assert len(confluence.pages) == pages_before + 1  # one page, not two
        link = (await channel_incident(h, channel)).link("postmortem", "confluence")
        assert link is not None and first.published == second.published == [
            ("Confluence", link.url)
        ]


async def test_manual_publish_and_mistakes_change_nothing(
    slack: SlackEmulator, redis_url: str, confluence: ConfluenceStandin, harness: Harness,
) -> None:
    channel = await harness.declare("Search slow sev:3", user=ALICE)
    reply = await harness.driver.command("postmortem publish", user=ALICE, channel=channel)
    assert "Publishing is not configured" in reply.text
    confluence.reset()
    async with running_bot(slack, redis_url, **confluence_settings(confluence)) as h:
        channel = await h.declare("Search slow sev:3", user=ALICE)
        reply = await h.driver.command("postmortem publish", user=ALICE, channel=channel)
        assert "no postmortem draft yet" in reply.text
        await h.driver.command("postmortem", user=ALICE, channel=channel)
        for bad, says in (("postmortem publish sharepoint", "`sharepoint` is not configured"),
                          ("postmortem publish confluence place:../x", "not a page or folder"),
                          ("postmortem place:65601", "goes with `postmortem publish`")):
            reply = await h.driver.command(bad, user=ALICE, channel=channel)
            assert says in reply.text and "postmortem [publish" in reply.text, reply.text
        assert len(confluence.pages) == 2  # nothing written
        reply = await h.driver.command("postmortem publish confluence", user=ALICE,
                                       channel=channel)
        inc = await channel_incident(h, channel)
        link = inc.link("postmortem")
        assert link is not None and link.url in reply.text and len(confluence.pages) == 3


def store_settings(kind: str, s: Standin, folder: Path) -> dict[str, object]:
    if isinstance(s, ConfluenceStandin):
        return confluence_settings(s)
    if isinstance(s, NotionStandin):
        return {"notion_token": s.token, "notion_parent_page_id": s.parent_page_id,
                "notion_api_url": s.base_url}
    assert isinstance(s, GoogleStandin)
    return {"gdrive_folder_id": "0AFolderPostmortems", "google_api_url": s.base_url,
            "google_service_account_file": str(s.key_file(folder))}


PLACES = {"confluence": "65602", "notion": "1a2b3c4d-0000-4000-8000-0000000005ec",
          "gdocs": "0AFolderSecurity"}


def placed(s: Standin, ref: str) -> tuple[str, str]:
    """(where the document is, its title) as the store holds them."""
    if isinstance(s, ConfluenceStandin):
        return str(s.pages[ref]["parentId"]), str(s.pages[ref]["title"])
    if isinstance(s, NotionStandin):
        return str(s.pages[ref]["parent"]), str(s.pages[ref]["title"])
    assert isinstance(s, GoogleStandin)
    return str(s.files[ref]["parents"][0]), str(s.files[ref]["name"])


@pytest.mark.parametrize("kind", KINDS)
async def test_a_private_incident_needs_a_yes_and_a_place(
    kind: str, slack: SlackEmulator, redis_url: str, confluence: ConfluenceStandin,
    notion: NotionStandin, google: GoogleStandin, tmp_path: Path,
) -> None:
    s: Standin = {"confluence": confluence, "notion": notion, "gdocs": google}[kind]
    s.reset()
    async with running_bot(slack, redis_url, postmortem_publish="auto",
                           **store_settings(kind, s, tmp_path)) as h:
        before = set(slack.channel_ids())
        await h.driver.command("declare Payroll export leaked sev:2 private:yes", user=ALICE,
                               channel=h.incidents_id)
        [channel] = [c for c in slack.channel_ids() if c not in before]
        await h.driver.command("postmortem", user=ALICE, channel=channel)
        publishing = h.bot.services.publishing
        assert publishing is not None
        await publishing.settle()
        assert s.calls == []  # auto never publishes a private incident
        reply = await h.driver.command(f"postmortem publish {kind}", user=ALICE,
                                       channel=channel)
        assert "name where its postmortem goes" in reply.text and s.calls == []
        reply = await h.driver.command(f"postmortem publish {kind} place:{PLACES[kind]}",
                                       user=ALICE, channel=channel)
        assert s.calls == []  # asked, not done
        [asked] = [r for r in reply.responses if r.get("blocks")]
        button = asked["blocks"][1]["elements"][0]
        clicked = await h.driver.click(button["action_id"], button["value"], user=ALICE,
                                       channel=channel, message_ts="1.0")
        inc = await channel_incident(h, channel)
        link = inc.link("postmortem", kind)
        assert link is not None and link.url in clicked.text and link.place == PLACES[kind]
        where, title = placed(s, link.ref)
        assert where == PLACES[kind]  # where the person said
        assert title == f"Postmortem: Private incident {inc.id} (SEV2)"  # the label only


async def test_store_down_warns_once_and_the_worker_retries(
    slack: SlackEmulator, redis_url: str, confluence: ConfluenceStandin, clock: ManualClock,
) -> None:
    confluence.reset()
    async with running_bot(slack, redis_url, clock=clock,
                           **confluence_settings(confluence)) as h:
        channel = await h.declare("Queue stuck sev:2", user=ALICE)
        await h.driver.command("postmortem", user=ALICE, channel=channel)
        confluence.fail(503, times=100)
        reply = await h.driver.command("postmortem publish", user=ALICE, channel=channel)
        assert "could not publish to Confluence yet" in reply.text and "503" not in reply.text
        publishing = h.bot.services.publishing
        assert publishing is not None
        confluence.heal()
        assert await publishing.retry_due() == 0  # not due yet
        clock.advance(timedelta(minutes=3))
        assert await publishing.retry_due() == 1
        inc = await channel_incident(h, channel)
        assert inc.link("postmortem", "confluence") is not None and len(confluence.pages) == 3
        from bot.wiring import build_worker_jobs

        names = {j.name for j in build_worker_jobs(h.bot.services.settings, clock=clock)}
        assert "publish_retries" in names


def test_half_configured_stores_stop_the_bot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFLUENCE_URL", "https://acme.atlassian.example")
    with pytest.raises(SettingsError, match="CONFLUENCE_EMAIL is required when CONFLUENCE_URL"):
        load_settings()
    monkeypatch.delenv("CONFLUENCE_URL")
    monkeypatch.setenv("NOTION_TOKEN", "ntn_x")
    with pytest.raises(SettingsError, match="NOTION_PARENT_PAGE_ID is required"):
        load_settings()
    monkeypatch.delenv("NOTION_TOKEN")
    monkeypatch.setenv("GDRIVE_FOLDER_ID", "0AFolder")
    with pytest.raises(SettingsError, match="GOOGLE_SERVICE_ACCOUNT_FILE is required"):
        load_settings()


async def test_a_publish_cut_short_by_a_dying_process_is_done_by_the_worker(
    slack: SlackEmulator, redis_url: str, confluence: ConfluenceStandin, clock: ManualClock,
) -> None:
    import asyncio

    confluence.reset()
    async with running_bot(slack, redis_url, clock=clock,
                           **confluence_settings(confluence, postmortem_publish="auto")) as h:
        channel = await h.declare("Queue stuck sev:2", user=ALICE)
        publishing = h.bot.services.publishing
        assert publishing is not None
        drawn = publishing.chart
        stuck = asyncio.Event()

        async def never(incident: Incident) -> tuple[bytes | None, str]:
            await stuck.wait()  # the process dies while the document is being made
            return None, ""

        publishing.chart = never
        await h.driver.command("postmortem", user=ALICE, channel=channel)
        publishing.chart = drawn
        assert publishing._running
        for task in list(publishing._running):  # the web process is killed mid-publish
            task.cancel()
        await asyncio.gather(*publishing._running, return_exceptions=True)
        assert len(confluence.pages) == 2
        clock.advance(timedelta(minutes=3))
        assert await publishing.retry_due() == 1  # the worker's copy
        inc = await channel_incident(h, channel)
        assert inc.link("postmortem", "confluence") is not None and len(confluence.pages) == 3
