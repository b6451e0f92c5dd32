"""POST /alertmanager over real HTTP, against the Slack emulator and real Redis: firing alerts
posted once with a Declare button, the button's pre-filled modal, resolved alerts on the
incident's timeline, auto-declare for critical alerts, and the refusals (400/401/503)."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from bot.timeline.models import EventKind
from sandbox import slack_requests as sr
from sandbox.slack_emulator import SlackEmulator
from tests.conftest import Harness, running_bot

TOKEN = "am-test-token-123"
ALICE = "U0ALICE"
FINGERPRINT = "a1b2c3d4e5f60718"


def alert(
    status: str = "firing",
    *,
    severity: str = "warning",
    fingerprint: str = FINGERPRINT,
    starts: str = "2026-11-23T13:55:00Z",
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "HighErrorRate", "severity": severity, "service": "api-server"},
        "annotations": {
            "summary": "api-server 5xx rate above 5%",
            "description": "The 5xx ratio has been above 5% for 5 minutes.",
            "runbook_url": "https://runbooks.example.com/high-error-rate",
        },
        "startsAt": starts,
        "endsAt": "2026-11-23T14:10:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=x",
        "fingerprint": fingerprint,
    }


def payload(*alerts: dict[str, Any], status: str = "firing") -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="HighErrorRate"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "incident-bot",
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }


def bot_with(slack: SlackEmulator, redis_url: str, **overrides: object) -> Any:
    return running_bot(slack, redis_url, **{"alertmanager_token": TOKEN, **overrides})


async def send(
    h: Harness, body: Any, *, token: str | None = TOKEN, raw: bytes | None = None
) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else json.dumps(body).encode()
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{h.url}/alertmanager", data=data, headers=headers) as resp,
    ):
        return resp.status, await resp.json()


def alert_messages(h: Harness) -> list[Any]:
    messages = h.slack.messages("incidents")
    return [m for m in messages if "declare_from_alert" in json.dumps(m.blocks)]


async def test_firing_alert_is_posted_once_with_a_declare_button(
    slack: SlackEmulator, redis_url: str
) -> None:
    async with bot_with(slack, redis_url) as h:
        status, answer = await send(h, payload(alert()))
        assert status == 200 and answer["posted"] == [FINGERPRINT], answer
        [message] = alert_messages(h)
        text = json.dumps(message.blocks)
        assert "HighErrorRate" in text and "warning" in text and "5xx rate above 5%" in text
        [button] = [
            e for b in message.blocks if b["type"] == "actions" for e in b["elements"]
        ]
        assert button["action_id"] == "declare_from_alert" and button["value"] == FINGERPRINT
        assert button["text"]["text"] == "Declare incident"

        # Alertmanager re-sends the group (repeat_interval, retries): still one message
        status, answer = await send(h, payload(alert()))
        assert status == 200 and answer["duplicates"] == [FINGERPRINT]
        assert len(alert_messages(h)) == 1
        # the same alert firing again later is a new message
        await send(h, payload(alert(starts="2026-11-23T15:00:00Z")))
        assert len(alert_messages(h)) == 2
        # a warning is not auto-declared even when auto-declare is off
        assert not [c for c in slack.channels() if c.name.startswith("inc-")]


async def test_invalid_payloads_get_400_with_a_reason(slack: SlackEmulator, redis_url: str) -> None:
    async with bot_with(slack, redis_url) as h:
        status, answer = await send(h, None, raw=b"{not json")
        assert status == 400 and "not JSON" in answer["error"]
        status, answer = await send(h, {**payload(alert()), "version": "3"})
        assert status == 400 and "version" in answer["error"]
        bad = alert()
        del bad["fingerprint"]
        status, answer = await send(h, payload(bad))
        assert status == 400 and "alerts.0.fingerprint" in answer["error"]
        status, answer = await send(h, payload(alert(status="pending")))
        assert status == 400 and "alerts.0.status" in answer["error"]
        status, answer = await send(h, payload())
        assert status == 400 and "alerts" in answer["error"]
        assert alert_messages(h) == []


async def test_wrong_or_missing_token_gets_401(slack: SlackEmulator, redis_url: str) -> None:
    async with bot_with(slack, redis_url) as h:
        assert (await send(h, payload(alert()), token=None))[0] == 401
        assert (await send(h, payload(alert()), token="wrong"))[0] == 401
        assert (await send(h, payload(alert()), token=TOKEN + "x"))[0] == 401
        assert alert_messages(h) == []


async def test_unconfigured_endpoint_answers_503(harness: Harness) -> None:
    status, answer = await send(harness, payload(alert()))
    assert status == 503 and "not configured" in answer["error"]


async def test_button_opens_prefilled_modal_and_links_the_incident(
    slack: SlackEmulator, redis_url: str
) -> None:
    async with bot_with(slack, redis_url) as h:
        await send(h, payload(alert()))
        [message] = alert_messages(h)
        reply = await h.driver.click(
            "declare_from_alert", FINGERPRINT, user=ALICE, channel=h.incidents_id,
            message_ts=message.ts,
        )
        assert reply.status == 200
        [view] = slack.views()
        modal = view.view
        blocks = {b["block_id"]: b for b in modal["blocks"]}
        assert blocks["title"]["element"]["initial_value"] == "api-server 5xx rate above 5%"
        description = blocks["description"]["element"]["initial_value"]
        assert "above 5% for 5 minutes" in description and "runbooks.example.com" in description
        assert json.loads(modal["private_metadata"]) == {"alert": FINGERPRINT}

        body = sr.view_submission(
            modal["callback_id"],
            {
                "title": {"value": {"type": "plain_text_input", "value": "API 5xx"}},
                "severity": {"value": {"type": "static_select", "selected_option": {"value": "2"}}},
                "services": {"value": {"type": "plain_text_input", "value": "api-server"}},
                "description": {"value": {"type": "plain_text_input", "value": description}},
            },
            ALICE,
            private_metadata=modal["private_metadata"],
        )
        status, _ = await h.driver._post(body)
        await h.driver.settle()
        assert status == 200
        [channel] = [c for c in slack.channels() if c.name.startswith("inc-")]
        incident = await h.bot.services.incidents.for_channel(channel.id)
        assert incident is not None and incident.title == "API 5xx"
        assert incident.services == ["api-server"]

        # the alert resolves: noted on that incident's timeline (once, even if re-sent)
        resolved = payload(alert("resolved"), status="resolved")
        status, answer = await send(h, resolved)
        assert status == 200 and answer["noted"] == [incident.id]
        await send(h, resolved)
        kinds = [e.event for e in await h.store.timeline(incident.id)]
        alerts = [e for e in kinds if e.kind is EventKind.ALERT]
        assert [a.text.split(":")[0] for a in alerts] == [
            "Declared from alert HighErrorRate (warning)",
            "Alert resolved",
        ]

        # clicking again says the incident exists instead of opening a second modal
        await h.driver.click(
            "declare_from_alert", FINGERPRINT, user=ALICE, channel=h.incidents_id,
            message_ts=message.ts,
        )
        assert len(slack.views()) == 1
        assert any(incident.id in e.get("text", "") for e in slack.ephemerals())


async def test_resolved_alert_without_incident_is_ignored(
    slack: SlackEmulator, redis_url: str
) -> None:
    async with bot_with(slack, redis_url) as h:
        status, answer = await send(h, payload(alert("resolved"), status="resolved"))
        assert status == 200 and answer["noted"] == [] and answer["posted"] == []
        assert alert_messages(h) == []


async def test_critical_alert_is_auto_declared_when_enabled(
    slack: SlackEmulator, redis_url: str
) -> None:
    async with bot_with(slack, redis_url, alertmanager_auto_declare=True) as h:
        status, answer = await send(
            h, payload(alert(severity="warning", fingerprint="warn01"), alert(severity="critical"))
        )
        assert status == 200, answer
        assert sorted(answer["posted"]) == sorted(["warn01", FINGERPRINT])
        [incident_id] = answer["declared"]
        incident = await h.store.get_incident(incident_id)
        assert incident.title == "api-server 5xx rate above 5%"
        assert incident.severity.label == "SEV1"
        assert "above 5% for 5 minutes" in incident.description
        # re-sent: no second incident
        _, again = await send(h, payload(alert(severity="critical")))
        assert again["declared"] == []
        assert len([c for c in slack.channels() if c.name.startswith("inc-")]) == 1

        resolved = payload(alert("resolved", severity="critical"), status="resolved")
        assert (await send(h, resolved))[1]["noted"] == [incident_id]
        texts = [e.event.text for e in await h.store.timeline(incident_id)]
        assert any(t.startswith("Alert resolved: HighErrorRate") for t in texts)


async def test_a_large_group_is_read_whole(slack: SlackEmulator, redis_url: str) -> None:
    """Many alerts in one group (a body over several TCP packets) are all posted."""
    async with bot_with(slack, redis_url) as h:
        many = [alert(fingerprint=f"fp{i:04d}") for i in range(60)]
        for a in many:
            a["annotations"]["description"] = "x" * 2000
        status, answer = await send(h, payload(*many))
        assert status == 200, answer
        assert len(answer["posted"]) == 60 and len(alert_messages(h)) == 60
