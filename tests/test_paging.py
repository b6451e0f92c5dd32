"""Paging through signed Slack requests, the emulator, real Redis and the PagerDuty and
Opsgenie stand-ins: pages on declare (at or above PAGE_MIN_SEVERITY) and on a raised
severity, resolved on resolve, by hand with /incident page; a pager that is down never
blocks declare or resolve, the user is told, and the worker delivers the page later, once.
Inbound: signed PagerDuty v3 webhooks and Opsgenie webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from bot.clock import ManualClock
from bot.integrations.factory import Integrations, retry_due
from bot.timeline.models import EventKind
from sandbox.slack_emulator import SlackEmulator
from sandbox.standins import OpsgenieStandin, PagerDutyStandin
from tests.conftest import Harness, running_bot

ALICE, BOB = "U0ALICE", "U0BOB"
KEY_DEFAULT = "R0UTINGKEY0000000000000000000001"
KEY_CHECKOUT = "R0UTINGKEY0000000000000000000002"
SECRET = "pd-webhook-secret"


@pytest.fixture(scope="module")
def pagerduty() -> Iterator[PagerDutyStandin]:
    s = PagerDutyStandin(routing_keys={KEY_DEFAULT, KEY_CHECKOUT})
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def opsgenie() -> Iterator[OpsgenieStandin]:
    s = OpsgenieStandin()
    s.start()
    yield s
    s.stop()


@pytest.fixture
async def paged(
    slack: SlackEmulator, redis_url: str, pagerduty: PagerDutyStandin, clock: ManualClock
) -> AsyncIterator[Harness]:
    pagerduty.reset()
    async with running_bot(
        slack, redis_url, clock=clock,
        pagerduty_routing_key=KEY_DEFAULT,
        pagerduty_routing_keys=f"checkout-api:{KEY_CHECKOUT}",
        pagerduty_events_url=f"{pagerduty.base_url}/v2/enqueue",
        pagerduty_webhook_secret=SECRET,
        page_min_severity=2,
    ) as h:
        yield h


def integrations_of(h: Harness) -> Integrations:
    services = h.bot.services
    assert services.paging is not None
    return Integrations(tracking=services.tracking, paging=services.paging,
                        store=services.store.integrations)


async def incident_of(h: Harness, channel: str) -> Any:
    incident = await h.bot.services.incidents.for_channel(channel)
    assert incident is not None
    return incident


async def page_events(h: Harness, incident_id: str) -> list[str]:
    return [e.event.text for e in await h.store.timeline(incident_id)
            if e.event.kind is EventKind.PAGE]


async def test_declare_pages_each_service_once_and_resolve_resolves(
    paged: Harness, pagerduty: PagerDutyStandin
) -> None:
    h = paged
    channel = await h.declare("Checkout 500s sev:1 services:checkout-api,search", user=ALICE)
    incident = await incident_of(h, channel)
    alerts = pagerduty.alerts
    assert set(alerts) == {f"{incident.id}:checkout-api", f"{incident.id}:search"}
    assert alerts[f"{incident.id}:checkout-api"]["routing_key"] == KEY_CHECKOUT
    assert alerts[f"{incident.id}:search"]["routing_key"] == KEY_DEFAULT
    assert all(a["severity"] == "critical" and a["triggers"] == 1 for a in alerts.values())
    assert len(await page_events(h, incident.id)) == 2
    # the page step running again (a retried declare follow-up) pages nobody twice
    assert h.bot.services.paging is not None
    await h.bot.services.paging.on_declare(incident)
    assert len(alerts) == 2 and all(a["triggers"] == 2 for a in alerts.values())
    reply = await h.driver.command("resolve rolled back", user=ALICE, channel=channel)
    assert reply.status == 200 and "could not" not in reply.text
    assert {a["status"] for a in alerts.values()} == {"resolved"}


async def test_low_severity_pages_nobody_until_raised(
    paged: Harness, pagerduty: PagerDutyStandin
) -> None:
    h = paged
    channel = await h.declare("Slow search sev:3 services:search", user=ALICE)
    assert pagerduty.alerts == {}
    await h.driver.command("severity 2", user=ALICE, channel=channel)
    incident = await incident_of(h, channel)
    assert list(pagerduty.alerts) == [f"{incident.id}:search"]
    await h.driver.command("severity 1", user=ALICE, channel=channel)  # already over the bar
    assert pagerduty.alerts[f"{incident.id}:search"]["triggers"] == 1


async def test_pager_down_never_blocks_declare_or_resolve(
    paged: Harness, pagerduty: PagerDutyStandin, clock: ManualClock
) -> None:
    h = paged
    pagerduty.fail(503, times=100)
    before = set(h.slack.channel_ids())
    reply = await h.driver.command(
        "declare Payments failing sev:1 services:payments", user=ALICE,
        channel=h.incidents_id,
    )
    assert "Declared" in reply.text
    assert "could not page `payments` through PagerDuty yet" in reply.text
    assert "Traceback" not in reply.text and "503" not in reply.text
    [channel] = [c for c in h.slack.channel_ids() if c not in before]
    incident = await incident_of(h, channel)
    assert pagerduty.alerts == {}
    assert await h.store.integrations.waiting() == 1
    pagerduty.heal()  # PagerDuty is back
    integrations = integrations_of(h)
    assert await retry_due(integrations, clock()) == 0  # not due yet: backoff
    clock.advance(timedelta(minutes=2))
    assert await retry_due(integrations, clock()) == 1
    assert list(pagerduty.alerts) == [f"{incident.id}:payments"]
    assert await retry_due(integrations, clock()) == 0  # claimed once, gone
    assert await page_events(h, incident.id)
    pagerduty.fail(503, times=100)
    reply = await h.driver.command("resolve fixed", user=ALICE, channel=channel)
    assert reply.status == 200
    assert "could not resolve the PagerDuty page for `payments` yet" in reply.text
    assert (await incident_of(h, channel)).status.value == "resolved"


async def test_page_by_hand_and_help(
    slack: SlackEmulator, redis_url: str, opsgenie: OpsgenieStandin
) -> None:
    opsgenie.reset()
    async with running_bot(
        slack, redis_url, opsgenie_api_key=opsgenie.api_key, opsgenie_api_url=opsgenie.base_url
    ) as h:
        channel = await h.declare("Checkout slow sev:3", user=ALICE)
        assert opsgenie.alerts == {}  # SEV3 is under the default bar (1)
        reply = await h.driver.command("page dba-team pool exhausted", user=ALICE,
                                       channel=channel)
        assert "Paged dba-team via Opsgenie" in reply.text and reply.ephemeral
        incident = await incident_of(h, channel)
        alert = opsgenie.alerts[f"{incident.id}:dba-team"]
        assert alert["responders"] == [{"type": "team", "name": "dba-team"}]
        assert "pool exhausted" in alert["message"]
        before = len(slack.calls())
        reply = await h.driver.command("page", user=ALICE, channel=channel)
        assert "Say whom to page" in reply.text and "/incident page" in reply.text
        assert [c.method for c in slack.calls()[before:]] == []  # nothing changed
        help_text = (await h.driver.command("help", user=ALICE, channel=channel)).text
        assert "/incident page" in help_text


async def test_page_is_absent_when_no_pager_is_configured(harness: Harness) -> None:
    h = harness
    channel = await h.declare("Checkout slow sev:1", user=ALICE)
    help_text = (await h.driver.command("help", user=ALICE, channel=channel)).text
    assert "/incident page" not in help_text and "/incident declare" in help_text
    reply = await h.driver.command("page checkout", user=ALICE, channel=channel)
    assert "Paging is not configured" in reply.text
    reply = await h.driver.command("resolve done", user=ALICE, channel=channel)
    assert reply.status == 200 and "could not" not in reply.text


def signed(body: dict[str, Any], secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    sig = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return raw, {"Content-Type": "application/json",
                 "X-PagerDuty-Signature": f"v1=deadbeef,v1={sig}"}


def pd_event(kind: str, *, event_id: str, incident_key: str, pd_id: str = "PGR0VU2",
             agent: str = "Maeve") -> dict[str, Any]:
    return {"event": {
        "id": event_id, "event_type": kind, "resource_type": "incident",
        "occurred_at": "2026-11-23T14:05:00.000Z",
        "agent": {"id": "PLH1HKV", "summary": agent, "type": "user_reference"},
        "client": {"name": "PagerDuty"},
        "data": {
            "id": pd_id, "type": "incident", "number": 2, "status": "triggered",
            "incident_key": incident_key, "created_at": "2026-11-23T14:00:00Z",
            "title": "Disk full on db-7", "urgency": "high",
            "html_url": "https://acme.pagerduty.com/incidents/PGR0VU2",
            "service": {"id": "PF9KMXH", "summary": "Orders DB", "type": "service_reference"},
        },
    }}


async def post(h: Harness, path: str, raw: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.post(
        f"{h.url}{path}", data=raw, headers=headers
    ) as resp:
        return resp.status, await resp.json()


async def test_pagerduty_webhook_signed_once_and_acks_on_the_timeline(paged: Harness) -> None:
    h = paged
    raw, headers = signed(pd_event("incident.triggered", event_id="ev-1",
                                   incident_key="d3640fbd41094207a1c11e58e46b1662"))
    status, body = await post(h, "/webhooks/pagerduty", raw, headers)
    assert status == 200 and body["posted"] == ["pagerduty-PGR0VU2"]
    posted = [m for m in h.slack.messages("incidents") if "Disk full on db-7" in m.text]
    assert len(posted) == 1 and "declare_from_alert" in json.dumps(posted[0].blocks)
    status, body = await post(h, "/webhooks/pagerduty", raw, headers)  # re-delivered
    assert status == 200 and body.get("duplicate") is True
    assert len([m for m in h.slack.messages("incidents") if "Disk full" in m.text]) == 1
    bad = dict(headers, **{"X-PagerDuty-Signature": "v1=00"})
    assert (await post(h, "/webhooks/pagerduty", raw, bad))[0] == 401
    # an acknowledgement of a page the bot sent goes on that incident's timeline
    channel = await h.declare("Checkout down sev:1 services:checkout-api", user=ALICE)
    incident = await incident_of(h, channel)
    raw, headers = signed(pd_event("incident.acknowledged", event_id="ev-2",
                                   incident_key=f"{incident.id}:checkout-api", agent="Maeve"))
    status, body = await post(h, "/webhooks/pagerduty", raw, headers)
    assert status == 200 and body["noted"] == incident.id
    assert any("acknowledged in PagerDuty by Maeve" in t for t in await page_events(h, incident.id))
    # PagerDuty telling us about our own page does not post it again
    raw, headers = signed(pd_event("incident.triggered", event_id="ev-3",
                                   incident_key=f"{incident.id}:checkout-api"))
    assert (await post(h, "/webhooks/pagerduty", raw, headers))[1]["ignored"]


async def test_webhooks_refuse_when_not_configured(harness: Harness) -> None:
    raw, headers = signed(pd_event("incident.triggered", event_id="x", incident_key="k"))
    assert (await post(harness, "/webhooks/pagerduty", raw, headers))[0] == 503
    assert (await post(harness, "/webhooks/opsgenie", b"{}", {}))[0] == 503


async def test_opsgenie_webhook_ack(
    slack: SlackEmulator, redis_url: str, opsgenie: OpsgenieStandin
) -> None:
    opsgenie.reset()
    async with running_bot(
        slack, redis_url, opsgenie_api_key=opsgenie.api_key, opsgenie_api_url=opsgenie.base_url,
        opsgenie_webhook_token="og-hook", page_min_severity=2,
    ) as h:
        channel = await h.declare("Orders stuck sev:2 services:orders", user=ALICE)
        incident = await incident_of(h, channel)
        assert f"{incident.id}:orders" in opsgenie.alerts
        body = {"action": "Acknowledge", "alert": {
            "alertId": "70413a06-38d6-4c85-92b8-5ebc900d42e2", "alias": f"{incident.id}:orders",
            "message": "orders", "username": "kim@example.com", "updatedAt": 1700000000000},
            "source": {"name": "web"}, "integrationName": "Webhook"}
        raw = json.dumps(body).encode()
        assert (await post(h, "/webhooks/opsgenie", raw, {}))[0] == 401
        status, out = await post(h, "/webhooks/opsgenie", raw,
                                 {"Authorization": "Bearer og-hook"})
        assert status == 200 and out["noted"] == incident.id
        assert any("acknowledged in Opsgenie by kim@example.com" in t
                   for t in await page_events(h, incident.id))


async def test_a_private_incident_pages_with_its_label_only(
    paged: Harness, pagerduty: PagerDutyStandin
) -> None:
    h = paged
    before = set(h.slack.channel_ids())
    await h.driver.command(
        "declare Payroll export leaking salaries sev:1 services:payroll private:yes",
        user=ALICE, channel=h.incidents_id,
    )
    [channel] = [c for c in h.slack.channel_ids() if c not in before]
    incident = await incident_of(h, channel)
    [alert] = pagerduty.alerts.values()
    assert alert["summary"] == incident.public_label
    sent = json.dumps([c.body for c in pagerduty.calls])
    assert "salaries" not in sent and "Payroll export" not in sent
