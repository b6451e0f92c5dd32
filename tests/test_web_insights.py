"""`/insights` and `/api/v1/insights` over HTTP: the real bot and its web app, incidents
declared through the slash command, people signed in through the emulator's Sign in with
Slack, a script with WEB_API_TOKEN. A private incident's services and people reach only
its members; everyone else counts it by severity and times. The weeks are in the URL, and
a wrong number of weeks is answered with the problem and the usage."""

from __future__ import annotations

import json

from sandbox.slack_emulator import SlackEmulator
from tests.webapp import API_TOKEN, running_web


async def test_insights_page_and_api_follow_the_read_rule(
    slack: SlackEmulator, redis_url: str
) -> None:
    async with running_web(slack, redis_url) as site:
        await site.declare("Checkout API returning 500s sev:2 services:checkout started:20m",
                           user="U0ALICE")
        await site.declare("Payroll export leaking sev:1 services:payroll-db private:yes",
                           user="U0CHARLIE")

        anonymous = site.client()
        async with anonymous.get(site.url + "/insights?weeks=4", allow_redirects=False) as r:
            assert r.status == 302
            assert site.callback_query(r.headers["Location"]) == {"next": "/insights?weeks=4"}
        async with anonymous.get(site.url + "/api/v1/insights") as r:
            assert r.status == 401 and "WEB_API_TOKEN" in await r.text()
        wrong = {"Authorization": "Bearer not-the-token-at-all"}
        async with anonymous.get(site.url + "/api/v1/insights", headers=wrong) as r:
            assert r.status == 401

        bob = await site.signed_in("U0BOB")
        async with bob.get(site.url + "/insights") as r:
            page = await r.text()
            assert r.status == 200, page
            assert "Content-Security-Policy" in r.headers
        assert page.count("<svg") == 6 and "Incidents per week" in page  # no cause came back
        assert "checkout" in page and "Alice" in page  # a service row, a responder
        assert "payroll" not in page.lower() and "Charlie" not in page
        assert "1 private incident you cannot read" in page
        assert '<option value="12" selected>' in page

        async with bob.get(site.url + "/api/v1/insights?weeks=26") as r:
            outsider = json.loads(await r.text())
        assert len(outsider["weeks"]) == 26 and outsider["incidents"] == 2
        assert outsider["private_aggregated"] == 1
        assert {row["severity"]: row["total"] for row in outsider["per_week"]} == {
            "SEV1": 1, "SEV2": 1, "SEV3": 0, "SEV4": 0}
        detect = next(m for m in outsider["durations"] if m["name"] == "detect")
        assert detect["overall"]["total"]["count"] == 1  # `started:20m`
        assert 1190 <= detect["overall"]["total"]["median_seconds"] <= 1210
        assert [row["group"] for row in detect["by_service"]] == ["checkout"]
        assert "payroll" not in json.dumps(outsider).lower()

        charlie = await site.signed_in("U0CHARLIE")
        async with charlie.get(site.url + "/api/v1/insights") as r:
            member = json.loads(await r.text())
        assert member["private_aggregated"] == 0
        detect = next(m for m in member["durations"] if m["name"] == "detect")
        assert [row["group"] for row in detect["by_service"]] == ["checkout", "payroll-db"]
        assert "U0CHARLIE" in {r["user"] for r in member["responders"]}

        token = {"Authorization": f"Bearer {API_TOKEN}"}
        async with anonymous.get(site.url + "/api/v1/insights?weeks=2", headers=token) as r:
            script = json.loads(await r.text())
            assert r.status == 200 and r.headers["Content-Type"].startswith("application/json")
        assert script["private_aggregated"] == 1 and len(script["weeks"]) == 2
        assert "payroll" not in json.dumps(script).lower()


async def test_a_wrong_number_of_weeks_is_named_with_the_usage(
    slack: SlackEmulator, redis_url: str
) -> None:
    async with running_web(slack, redis_url) as site:
        bob = await site.signed_in("U0BOB")
        async with bob.get(site.url + "/insights?weeks=0") as r:
            page = await r.text()
            assert r.status == 400
        assert "weeks must be a whole number from 1 to 104, not &#39;0&#39;" in page
        assert "Usage:" in page and "?weeks=N" in page
        async with bob.get(site.url + "/insights?weeks=%3Cscript%3E") as r:
            page = await r.text()
            assert r.status == 400 and "<script>" not in page and "&lt;script&gt;" in page
        async with bob.get(site.url + "/api/v1/insights?weeks=many") as r:
            answer = json.loads(await r.text())
            assert r.status == 400
        assert "from 1 to 104" in answer["error"] and "?weeks=N" in answer["usage"]
        async with bob.get(site.url + "/insights?weeks=6") as r:
            page = await r.text()
        assert '<option value="6" selected>last 6 weeks</option>' in page
