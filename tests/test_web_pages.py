"""The web app's pages over HTTP, signed in through the emulator: the list and its filters
(from the Redis search index), pagination and CSV, the incident page, the JSON API, the
live timeline; what people wrote is escaped everywhere; and a private incident is 404 for
anyone outside its channel, on every route."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import timedelta

import aiohttp

from bot.store.search_index import INDEX_VERSION, key
from sandbox.slack_emulator import SlackEmulator
from tests.web_world import HOSTILE_TEXT, HOSTILE_TITLE, NOW, web_world
from tests.webapp import API_TOKEN, running_web


async def text_of(session: aiohttp.ClientSession, url: str, status: int = 200) -> str:
    async with session.get(url, allow_redirects=False) as r:
        body = await r.text()
        assert r.status == status, (url, r.status, body[:300])
        return body


def count_in(page: str) -> int:
    return int(page.split('id="count">', 1)[1].split()[0])


def ids_in(page: str) -> list[str]:
    found = [part.split('"', 1)[0] for part in page.split('<td><a href="/incidents/')[1:]]
    return list(dict.fromkeys(found))  # the id and the title both link


async def test_the_list_filters_by_status_severity_service_dates_and_words(
    slack: SlackEmulator, redis_url: str
) -> None:
    async with running_web(slack, redis_url) as site:
        w = await web_world(site.store, slack)
        alice = await site.signed_in("U0ALICE")
        base = site.url + "/incidents"
        everything = await text_of(alice, base)
        assert count_in(everything) == 33  # all but the private one
        assert ids_in(everything)[:3] == [w.hostile.id, w.login.id, w.checkout.id]
        assert w.secret.id not in everything and "Payroll" not in everything
        assert ids_in(await text_of(alice, base + "?status=open")) == [w.hostile.id, w.login.id]
        assert ids_in(await text_of(alice, base + "?severity=2")) == [w.checkout.id]
        assert ids_in(await text_of(alice, base + "?service=auth")) == [w.login.id]
        assert ids_in(await text_of(alice, base + "?status=resolved&service=checkout-api")) \
            == [w.checkout.id]
        # words of the title, the summary and the timeline; every word must match
        assert ids_in(await text_of(alice, base + "?q=pool+exhausted")) == [w.checkout.id]
        assert ids_in(await text_of(alice, base + "?q=rolled+back")) == [w.checkout.id]
        assert ids_in(await text_of(alice, base + "?q=refusing")) == [w.login.id]
        assert ids_in(await text_of(alice, base + "?q=pool+refusing")) == []
        since = (NOW - timedelta(days=3)).date().isoformat()
        assert ids_in(await text_of(alice, base + f"?from={since}")) == [w.hostile.id, w.login.id]
        until = (NOW - timedelta(days=50)).date().isoformat()
        old = await text_of(alice, base + f"?to={until}&severity=4")
        assert count_in(old) == 30 and len(ids_in(old)) == 25 and "page 1 of 2" in old
        page2 = await text_of(alice, base + f"?to={until}&severity=4&page=2")
        assert len(ids_in(page2)) == 5 and not set(ids_in(page2)) & set(ids_in(old))
        # the filters stay in the URL: the next page's link keeps them
        assert f'href="/incidents?severity=4&amp;to={until}&amp;page=2"' in old
        bad = await text_of(alice, base + "?severity=9&from=yesterday", status=400)
        assert "unknown severity" in bad and "is not a date" in bad
        # the private incident: its channel's members find it, by any filter
        bob = await site.signed_in("U0BOB")
        assert ids_in(await text_of(bob, base + "?q=payroll")) == [w.secret.id]
        assert ids_in(await text_of(alice, base + "?q=payroll")) == []
        assert count_in(await text_of(bob, base)) == 34


async def test_csv_export_is_the_filtered_list(slack: SlackEmulator, redis_url: str) -> None:
    async with running_web(slack, redis_url) as site:
        w = await web_world(site.store, slack)
        alice = await site.signed_in("U0ALICE")
        async with alice.get(site.url + "/incidents.csv?severity=4") as r:
            assert r.status == 200 and r.content_type == "text/csv"
            assert "attachment" in r.headers["Content-Disposition"]
            rows = list(csv.DictReader(io.StringIO(await r.text())))
        assert len(rows) == 30 and {row["severity"] for row in rows} == {"SEV4"}
        async with alice.get(site.url + "/incidents.csv?q=script") as r:
            (row,) = list(csv.DictReader(io.StringIO(await r.text())))
        assert row["id"] == w.hostile.id and row["title"] == HOSTILE_TITLE
        async with alice.get(site.url + "/incidents.csv?q=payroll") as r:
            assert list(csv.DictReader(io.StringIO(await r.text()))) == []


async def test_the_incident_page_escapes_everything_people_wrote(
    slack: SlackEmulator, redis_url: str
) -> None:
    from bot.incidents.models import ExternalLink

    async with running_web(slack, redis_url) as site:
        w = await web_world(site.store, slack)

        def hostile_link(inc):  # type: ignore[no-untyped-def]
            inc.set_link(ExternalLink(kind="call", provider="bridge", url="javascript:alert(5)"))
            return []

        await site.store.update_incident(w.hostile.id, hostile_link)
        alice = await site.signed_in("U0ALICE")
        page = await text_of(alice, f"{site.url}/incidents/{w.hostile.id}")
        for raw in ("<script>alert", "<img src=x", 'href="javascript:'):
            assert raw not in page, raw
        assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt;&#34;&gt;&lt;img" in page
        assert "javascript:alert(5)" in page  # shown as text, never as a link
        listing = await text_of(alice, site.url + "/incidents")
        assert "<script>alert" not in listing and "<img src=x" not in listing
        assert HOSTILE_TEXT not in page


async def test_the_incident_page_shows_the_whole_record(
    slack: SlackEmulator, redis_url: str
) -> None:
    async with running_web(slack, redis_url) as site:
        channel = await site.declare("Checkout API returning 500s sev:2 services:checkout-api",
                                     user="U0ALICE")
        incident_id = await site.store.incident_id_for_channel(channel)
        assert incident_id
        d = site.driver
        await d.command("role ops <@U0BOB>", user="U0ALICE", channel=channel)
        await d.message(user="U0BOB", channel=channel, text="db pool at 100% on checkout")
        await d.command("note rolled back deploy 4121", user="U0ALICE", channel=channel)
        await d.command("action add <@U0BOB> Add pool saturation alert due:2026-12-30",
                        user="U0ALICE", channel=channel)
        await d.command("update Rolled back; error rate falling", user="U0ALICE",
                        channel=channel)
        await d.command("postmortem", user="U0ALICE", channel=channel)
        await d.message(user="U0BOB", channel=channel, text="pool back to 20% after rollback")
        await d.command("postmortem", user="U0ALICE", channel=channel)
        versions = await site.store.postmortems.versions(incident_id)
        assert len(versions) >= 2
        # every link the bot posted for it points at its page
        page_link = f"<{site.url}/incidents/{incident_id}|"
        header = json.dumps(slack.messages(channel)[0].blocks)
        assert page_link in header
        assert any(page_link in json.dumps(m.blocks) for m in slack.messages("incidents"))
        drafts = [f for f in slack.uploaded_files() if f.name.startswith("postmortem-")]
        assert drafts and all(page_link in f.initial_comment for f in drafts)
        bob = await site.signed_in("U0BOB")
        url = f"{site.url}/incidents/{incident_id}"
        page = await text_of(bob, url)
        assert "Checkout API returning 500s" in page and "SEV2" in page
        assert "Ops Lead: Bob Brown" in page and "Incident Commander: Alice Anders" in page
        assert "db pool at 100% on checkout" in page and "rolled back deploy 4121" in page
        assert "Add pool saturation alert" in page and "2026-12-30" in page
        assert "Rolled back; error rate falling" in page  # the status update
        assert f"Version {len(versions)} of {len(versions)}" in page
        assert "<h2>" in page.split('id="postmortem"', 1)[1]  # Markdown rendered
        assert "Changes between versions" in page and "<ins>" in page
        key_only = await text_of(bob, url + "?view=key")
        assert "rolled back deploy 4121" in key_only  # a note is a key event
        assert "db pool at 100% on checkout" not in key_only  # a plain message is not
        assert f'data-live="/incidents/{incident_id}/live?after=' in page


async def test_a_private_incident_is_404_outside_its_channel_on_every_route(
    slack: SlackEmulator, redis_url: str
) -> None:
    async with running_web(slack, redis_url, admin_usergroup="S0ADMINS") as site:
        slack.add_usergroup("admins", ["U0DIANA"], group_id="S0ADMINS")
        w = await web_world(site.store, slack)
        routes = [f"/incidents/{w.secret.id}", f"/incidents/{w.secret.id}?view=key",
                  f"/incidents/{w.secret.id}/live?after=0",
                  f"/api/v1/incidents/{w.secret.id}"]
        alice = await site.signed_in("U0ALICE")  # not in its channel, not an admin
        missing = await text_of(alice, site.url + "/incidents/INC-20990101-0001", 404)
        for route in routes:
            body = await text_of(alice, site.url + route, 404)
            assert "Payroll" not in body and body.strip() in (missing.strip(),
                                                               '{"error": "not_found"}')
        api = await text_of(alice, site.url + "/api/v1/incidents?q=payroll")
        assert json.loads(api)["incidents"] == []
        for member in ("U0BOB", "U0DIANA"):  # in the channel; an admin
            session = await site.signed_in(member)
            assert "Payroll export leaked" in await text_of(session, site.url + routes[0])
            data = json.loads(await text_of(session, site.url + routes[3]))
            assert data["incident"]["id"] == w.secret.id
        # the API token is nobody in particular: public incidents only
        token = site.client()
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        async with token.get(site.url + routes[3], headers=headers) as r:
            assert r.status == 404
        async with token.get(site.url + "/api/v1/incidents?severity=2", headers=headers) as r:
            assert [i["id"] for i in (await r.json())["incidents"]] == [w.checkout.id]


async def test_the_api_needs_a_session_or_the_token(slack: SlackEmulator, redis_url: str) -> None:
    async with running_web(slack, redis_url) as site:
        w = await web_world(site.store, slack)
        anonymous = site.client()
        for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token"}):
            async with anonymous.get(site.url + "/api/v1/incidents", headers=headers) as r:
                assert r.status == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
        async with anonymous.get(site.url + "/incidents.csv", allow_redirects=False) as r:
            assert r.status == 302
        alice = await site.signed_in("U0ALICE")
        data = json.loads(await text_of(alice, site.url + f"/api/v1/incidents/{w.checkout.id}"))
        assert data["incident"]["summary"] == "connection pool exhausted by a slow query"
        assert [e["text"] for e in data["timeline"]][1:] == ["db pool saturated at 100%",
                                                            "rolled back the deploy"]
        listing = json.loads(await text_of(alice, site.url + "/api/v1/incidents?status=open"))
        assert [i["id"] for i in listing["incidents"]] == [w.hostile.id, w.login.id]
        assert listing["total"] == 2 and listing["pages"] == 1


async def test_new_timeline_events_arrive_live(slack: SlackEmulator, redis_url: str) -> None:
    async with running_web(slack, redis_url) as site:
        channel = await site.declare("Search latency sev:3", user="U0ALICE")
        incident_id = await site.store.incident_id_for_channel(channel)
        alice = await site.signed_in("U0ALICE")
        page = await text_of(alice, f"{site.url}/incidents/{incident_id}")
        live = page.split('data-live="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
        async with alice.get(site.url + live) as stream:
            assert stream.headers["Content-Type"] == "text/event-stream"
            assert "unsafe-inline" not in stream.headers["Content-Security-Policy"]
            await stream.content.readline()  # ": connected"
            await site.driver.message(user="U0BOB", channel=channel,
                                      text="<b>replica lag</b> is 40s")
            seen: list[dict[str, object]] = []

            async def next_entry() -> None:
                while True:
                    line = (await stream.content.readline()).decode()
                    if line.startswith("data: "):
                        seen.append(json.loads(line[6:]))
                        return

            await asyncio.wait_for(next_entry(), timeout=10)
        assert seen[0]["text"] == "<b>replica lag</b> is 40s"  # JSON; the page adds it as text
        assert seen[0]["actor"] == "Bob Brown"
        from datetime import datetime

        from bot.web.pages import local_time

        at = datetime.fromisoformat(str(seen[0]["at"]))  # shown in alice's Slack time zone
        assert seen[0]["time"] == local_time(at, "America/New_York", "%H:%M")


async def test_the_index_is_rebuilt_from_the_records_when_missing_or_old(
    slack: SlackEmulator, redis_url: str
) -> None:
    async with running_web(slack, redis_url) as site:
        w = await web_world(site.store, slack)
        redis = site.store.redis
        names = [k async for k in redis.scan_iter(match=key("*"))]
        assert names  # what the writes made
        await redis.delete(*names)  # as if the incidents were stored by an older bot
        alice = await site.signed_in("U0ALICE")
        page = await text_of(alice, site.url + "/incidents?q=refusing")
        assert ids_in(page) == [w.login.id]
        assert int(await redis.get(key("version"))) == INDEX_VERSION


async def test_metric_readings_are_charted_beside_their_table(
    slack: SlackEmulator, redis_url: str
) -> None:
    from bot.timeline.models import EventKind, TimelineEvent
    from tests.web_world import add_incident

    async with running_web(slack, redis_url) as site:
        inc = await add_incident(site.store, slack, title="Pool exhaustion", when=NOW,
                                 services=["checkout-api"])
        for minutes, pool, p99 in ((5, "40", "180"), (10, "100", "2400"), (15, "65", "900")):
            await site.store.append_event(inc.id, TimelineEvent(
                kind=EventKind.METRICS, at=NOW + timedelta(minutes=minutes),
                text=f"DB pool {pool}%", data={"db_pool_percent": pool,
                                               "p99_ms.checkout-api": p99,
                                               "likely_cause": "pool exhaustion"}))
        alice = await site.signed_in("U0ALICE")
        page = await text_of(alice, f"{site.url}/incidents/{inc.id}")
        readings = page.split('id="readings"', 1)[1].split("</section>", 1)[0]
        assert "db_pool_percent: 40 to 100 over 3 checks" in readings
        assert "p99_ms.checkout-api: 180 to 2400 over 3 checks" in readings
        assert readings.count("<polyline") == 2  # not the words of likely_cause
        assert "<th>likely_cause</th><td>pool exhaustion</td>" in readings
        points = readings.split('points="', 1)[1].split('"', 1)[0].split()
        assert len(points) == 3 and points[1].endswith(",6.0")  # the peak at the top


async def test_the_list_asks_slack_once_for_a_readers_private_channels(
    slack: SlackEmulator, redis_url: str
) -> None:
    """users.conversations (the person's private channels shared with the bot) replaces one
    conversations.members call per private incident, and agrees with the read rule."""
    from bot.incidents.access import IncidentAccess
    from tests.web_world import add_incident

    async with running_web(slack, redis_url) as site:
        w = await web_world(site.store, slack)
        more = [await add_incident(site.store, slack, title=f"HR case {n}", when=NOW,
                                   private=True, members=["U0CHARLIE"] if n % 2 else ["U0BOB"])
                for n in range(6)]
        bob = await site.signed_in("U0BOB")
        slack.reset(workspace=False)
        page = await text_of(bob, site.url + "/incidents?q=case")
        assert ids_in(page) == [i.id for i in reversed(more) if "U0BOB" in
                                slack.channel(i.channel_id).members]  # type: ignore[union-attr]
        assert [c.args["user"] for c in slack.calls("users.conversations")] == ["U0BOB"]
        assert slack.calls("conversations.members") == []
        everyone = [w.secret, w.checkout, *more]
        for user in ("U0ALICE", "U0BOB", "U0CHARLIE", "U0DIANA"):
            rule = IncidentAccess(members=site.bot.services.chat)
            one_by_one = {i.id for i in everyone if i.private and await rule.can_read(i, user)}
            fresh = IncidentAccess(members=site.bot.services.chat)
            assert await fresh.readable_private(everyone, user) == one_by_one, user
