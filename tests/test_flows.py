"""One flow per change (bot/incidents/flows.py): whichever entry point makes a change — the
slash command, a status change, a header button, a modal, the Alertmanager webhook — Slack
ends up showing exactly the same thing. Each route is played in a fresh workspace (emulator
reset, Redis flushed, the same clock) and the whole workspace is compared.

Also: follow-up steps and guards that features register, a failing follow-up that leaves
the change made and says what did not happen, and "Resolve anyway"."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
import redis as sync_redis

from bot.clock import ManualClock
from bot.errors import ConfirmationNeeded
from bot.incidents.flows import Change, ChangeRequest, ChannelPost, Outcome
from bot.incidents.models import Incident, Status
from bot.slack.alert_blocks import ALERT_DECLARE_CALLBACK
from bot.slack.blocks import CONFIRM_CHANGE_ACTION, DECLARE_CALLBACK
from sandbox.slack_emulator import BOT_USER_ID, SlackEmulator
from tests.conftest import Harness, running_bot

ALICE, BOB = "U0ALICE", "U0BOB"
T0 = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
TOKEN = "flows-test-token"
TITLE = "Payments API N+1 query"

Route = Callable[[Harness], Awaitable[None]]


def workspace(slack: SlackEmulator) -> dict[str, Any]:
    """Everything people can see in the workspace: each channel's topic, members and messages
    (with blocks), DMs included. Alert posts are left out (only some routes start from one);
    answers only the caller sees are left out (each route answers in its own way)."""
    seen: dict[str, Any] = {}
    for ch in slack.channels():
        name = f"dm:{ch.im_user}" if ch.is_im else ch.name
        messages = [
            (m.user, m.text, json.dumps(m.blocks, sort_keys=True))
            for m in slack.messages(ch.id)
            if "declare_from_alert" not in json.dumps(m.blocks)
        ]
        seen[name] = {"topic": ch.topic, "members": sorted(ch.members), "messages": messages}
    return seen


async def play(
    slack: SlackEmulator,
    redis_url: str,
    clock: ManualClock,
    before: Route,
    route: Route,
    **settings: object,
) -> dict[str, Any]:
    """A fresh workspace and store, `before` (the shared history), then the route."""
    slack.reset()
    sync_redis.Redis.from_url(redis_url).flushdb()
    clock.set(T0)
    async with running_bot(
        slack, redis_url, clock=clock, alertmanager_token=TOKEN, **settings
    ) as h:
        await before(h)
        clock.advance(timedelta(minutes=30))
        await route(h)
        await h.driver.settle()
        return workspace(slack)


async def incident_in(h: Harness, channel: str) -> Incident:
    incident = await h.bot.services.incidents.for_channel(channel)
    assert incident is not None
    return incident


def only_channel(h: Harness) -> str:
    """The newest incident channel."""
    return sorted(c.id for c in h.slack.channels() if c.name.startswith("inc-"))[-1]


async def two_earlier_n_plus_one_incidents(h: Harness) -> None:
    """History for the patterns steps: similar incidents on declare, recurrence on resolve."""
    clock = h.bot.services.clock
    assert isinstance(clock, ManualClock)
    for title in ("Users list slow N+1 query", "Org dashboard N+1 query"):
        channel = await h.declare(f"{title} services:api sev:3", user=BOB)
        clock.advance(timedelta(hours=1))
        await h.driver.command("resolve fixed the N+1", user=BOB, channel=channel)
        clock.advance(timedelta(days=7))


# --- declare --------------------------------------------------------------------------


def form(title: str, severity: str, description: str = "") -> dict[str, dict[str, Any]]:
    return {
        "title": {"value": {"type": "plain_text_input", "value": title}},
        "severity": {"value": {"type": "static_select", "selected_option": {"value": severity}}},
        "services": {"value": {"type": "plain_text_input", "value": "api"}},
        "description": {"value": {"type": "plain_text_input", "value": description}},
    }


def alert(severity: str, fingerprint: str = "fp-flows-1") -> dict[str, Any]:
    return {
        "status": "firing",
        "labels": {"alertname": "PaymentsErrors", "severity": severity},
        "annotations": {"summary": TITLE, "description": "5xx above 5% for 5 minutes."},
        "startsAt": "2026-11-23T14:25:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": fingerprint,
    }


async def webhook(h: Harness, *alerts: dict[str, Any]) -> dict[str, Any]:
    body = {
        "version": "4",
        "groupKey": "{}:{}",
        "status": "firing",
        "receiver": "incident-bot",
        "alerts": list(alerts),
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{h.url}/alertmanager", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
        ) as resp,
    ):
        assert resp.status == 200, await resp.text()
        answer: dict[str, Any] = await resp.json()
        return answer


async def declare_by_command(h: Harness) -> None:
    reply = await h.driver.command(
        f"declare {TITLE} sev:1 services:api", user=ALICE, channel=h.incidents_id
    )
    assert "You are IC" in reply.text and "Usage" not in reply.text


async def declare_by_modal(h: Harness) -> None:
    status, _ = await h.driver.submit_view(DECLARE_CALLBACK, form(TITLE, "1"), user=ALICE)
    assert status == 200


async def declare_by_alert_modal(h: Harness) -> None:
    await webhook(h, alert("warning"))
    status, _ = await h.driver.submit_view(
        ALERT_DECLARE_CALLBACK,
        form(TITLE, "1"),
        user=ALICE,
        private_metadata=json.dumps({"alert": "fp-flows-1"}),
    )
    assert status == 200


async def test_declare_looks_the_same_from_every_entry_point(
    slack: SlackEmulator, redis_url: str, clock: ManualClock
) -> None:
    history = two_earlier_n_plus_one_incidents
    by_command = await play(slack, redis_url, clock, history, declare_by_command)
    # what the declare shows: channel, topic, header, announcement, similar past incidents
    [name] = [n for n in by_command if n.startswith("inc-") and "payments" in n]
    channel = by_command[name]
    assert channel["topic"].startswith("SEV1 | Investigating | IC: <@U0ALICE>")
    texts = [text for _, text, _ in channel["messages"]]
    assert TITLE in texts[0] and "2 similar past incidents" in texts[1]
    assert "declared by <@U0ALICE>" in by_command["incidents"]["messages"][-1][1]

    assert await play(slack, redis_url, clock, history, declare_by_modal) == by_command
    assert await play(slack, redis_url, clock, history, declare_by_alert_modal) == by_command


async def test_auto_declare_from_the_webhook_is_the_declare_flow(
    slack: SlackEmulator, redis_url: str, clock: ManualClock
) -> None:
    """The webhook declares as the bot, with the alert's description: the same as the bot
    submitting the declare form with those fields."""
    from bot.alerts import Alert

    description = Alert.model_validate(alert("critical")).declare_description()

    async def by_webhook(h: Harness) -> None:
        answer = await webhook(h, alert("critical"))
        assert len(answer["declared"]) == 1

    async def by_form(h: Harness) -> None:
        values = form(TITLE, "1", description)
        values["services"]["value"]["value"] = ""
        await h.driver.submit_view(DECLARE_CALLBACK, values, user=BOT_USER_ID)

    history = two_earlier_n_plus_one_incidents
    auto = await play(
        slack, redis_url, clock, history, by_webhook, alertmanager_auto_declare=True
    )
    assert auto == await play(
        slack, redis_url, clock, history, by_form, alertmanager_auto_declare=True
    )
    [name] = [n for n in auto if n.startswith("inc-") and "payments" in n]
    assert "similar past incident" in auto[name]["messages"][1][1]


# --- resolve --------------------------------------------------------------------------


async def history_and_a_third(h: Harness) -> None:
    await two_earlier_n_plus_one_incidents(h)
    await h.declare("Workflow listing N+1 query services:api", user=ALICE)


async def resolve_by_command(h: Harness) -> None:
    reply = await h.driver.command("resolve", user=ALICE, channel=only_channel(h))
    assert reply.text == ""


async def resolve_by_status(h: Harness) -> None:
    reply = await h.driver.command("status resolved", user=ALICE, channel=only_channel(h))
    assert reply.text == ""


async def resolve_by_button(h: Harness) -> None:
    incident = await incident_in(h, only_channel(h))
    assert incident.header_ts is not None
    await h.driver.click(
        "resolve_incident",
        incident.id,
        user=ALICE,
        channel=incident.channel_id,
        message_ts=incident.header_ts,
    )


async def test_resolve_looks_the_same_from_every_entry_point(
    slack: SlackEmulator, redis_url: str, clock: ManualClock
) -> None:
    by_command = await play(slack, redis_url, clock, history_and_a_third, resolve_by_command)
    [name] = [n for n in by_command if n.startswith("inc-") and "workflow" in n]
    channel = by_command[name]
    assert "| Resolved |" in channel["topic"]
    texts = "\n".join(text for _, text, _ in channel["messages"])
    assert "Resolved by <@U0ALICE> after 30m" in texts
    assert "third N+1 query incident in 6 months" in texts  # the recurrence warning
    assert "resolved (30m" in by_command["incidents"]["messages"][-1][1]

    by_status = await play(slack, redis_url, clock, history_and_a_third, resolve_by_status)
    assert by_status == by_command  # `/incident status resolved` warns of the recurrence too
    by_button = await play(slack, redis_url, clock, history_and_a_third, resolve_by_button)
    assert by_button == by_command


# --- roles ----------------------------------------------------------------------------


async def one_incident(h: Harness) -> None:
    await h.declare(f"{TITLE} sev:2", user=ALICE)


async def test_taking_a_role_looks_the_same_by_command_and_button(
    slack: SlackEmulator, redis_url: str, clock: ManualClock
) -> None:
    async def by_command(h: Harness) -> None:
        reply = await h.driver.command(f"role ops <@{BOB}>", user=BOB, channel=only_channel(h))
        assert "is now Ops Lead" in reply.text

    async def by_button(h: Harness) -> None:
        incident = await incident_in(h, only_channel(h))
        assert incident.header_ts is not None
        await h.driver.click(
            "take_role_ops",
            incident.id,
            user=BOB,
            channel=incident.channel_id,
            message_ts=incident.header_ts,
        )

    commanded = await play(slack, redis_url, clock, one_incident, by_command)
    assert "You are now *Ops Lead*" in commanded[f"dm:{BOB}"]["messages"][-1][1]
    [name] = [n for n in commanded if n.startswith("inc-")]
    assert BOB in commanded[name]["members"]
    assert "Ops Lead: <@U0BOB>" in commanded[name]["messages"][-1][1]
    assert "U0BOB" in commanded[name]["messages"][0][2]  # the header shows the new lead
    assert await play(slack, redis_url, clock, one_incident, by_button) == commanded


# --- follow-ups that fail, steps and guards that features add -------------------------


async def test_a_failed_follow_up_after_a_declare_says_what_did_not_happen(
    harness: Harness,
) -> None:
    async def snapshot(outcome: Outcome) -> None:
        raise RuntimeError("Prometheus went away")

    harness.bot.services.flows.after(
        Change.DECLARED, "metrics snapshot", snapshot, warning="could not post the metrics snapshot"
    )
    harness.slack.fail("conversations.setTopic", "restricted_action")
    reply = await harness.driver.command(
        "declare Cart is empty sev:2", user=ALICE, channel=harness.incidents_id
    )
    assert "Declared" in reply.text and "Usage" not in reply.text
    assert "could not set the channel topic" in reply.text
    assert "could not post the metrics snapshot" in reply.text
    incident = await incident_in(harness, only_channel(harness))
    assert incident.header_ts is not None  # the steps beside the failed one all happened
    assert f"<#{incident.channel_id}>" in harness.slack.messages("incidents")[-1].text


async def test_posts_after_the_header_that_slack_refuses_are_told_and_undone(
    harness: Harness,
) -> None:
    undone: list[str] = []

    async def forget() -> None:
        undone.append("offer")

    async def reading_steps(outcome: Outcome) -> None:
        outcome.post_after_header(ChannelPost(
            order=30, text="An offer", warning="could not offer the impact start", undo=forget,
            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
        ))
        outcome.post_after_header(ChannelPost(
            order=10, text="Similar", warning="could not post the similar past incidents",
            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "Similar"}}],
        ))

    harness.bot.services.flows.after(
        Change.DECLARED, "reading", reading_steps, concurrent=True, before="channel posts"
    )
    reply = await harness.driver.command(
        "declare Cart is empty sev:2", user=ALICE, channel=harness.incidents_id
    )
    # Slack refuses the one message (a section over 3,000 characters): each part says so
    assert "could not offer the impact start" in reply.text
    assert "could not post the similar past incidents" in reply.text
    assert undone == ["offer"]
    incident = await incident_in(harness, only_channel(harness))
    assert [m.ts for m in harness.slack.messages(incident.channel_id)] == [incident.header_ts]


async def test_a_step_added_for_resolve_runs_on_every_route_and_failures_are_told(
    harness: Harness,
) -> None:
    ran: list[str] = []

    async def verify(outcome: Outcome) -> None:
        ran.append(outcome.incident.id)

    async def page_someone(outcome: Outcome) -> None:
        raise ConnectionError("pager down")

    flows = harness.bot.services.flows
    flows.after(Change.RESOLVED, "verify", verify, before="announcement")
    flows.after(Change.RESOLVED, "page", page_someone, warning="could not page the on-call")
    assert flows.steps(Change.RESOLVED)[-5:] == [
        "verify", "announcement", "recurrence", "followers", "page"
    ]
    first = await harness.declare("Search down", user=ALICE)
    reply = await harness.driver.command("status resolved", user=ALICE, channel=first)
    assert "could not page the on-call" in reply.text and "Usage" not in reply.text
    assert (await incident_in(harness, first)).status is Status.RESOLVED
    second = await harness.declare("Search down again", user=ALICE)
    incident = await incident_in(harness, second)
    assert incident.header_ts is not None
    click = await harness.driver.click(
        "resolve_incident", incident.id, user=ALICE, channel=second, message_ts=incident.header_ts
    )
    assert "could not page the on-call" in click.text
    assert ran == [(await incident_in(harness, c)).id for c in (first, second)]


async def test_a_guard_asks_before_resolving_and_resolve_anyway_resolves(
    harness: Harness,
) -> None:
    asked: list[frozenset[str]] = []

    async def metrics_still_bad(request: ChangeRequest) -> None:
        asked.append(request.confirmed)
        raise ConfirmationNeeded(
            "The error rate is still above its threshold.", confirm_label="Resolve anyway"
        )

    harness.bot.services.flows.guard(Change.RESOLVED, "metrics still bad", metrics_still_bad)
    channel = await harness.declare("Checkout errors", user=ALICE)
    for words in ("resolve Rolled back", "status resolved"):
        reply = await harness.driver.command(words, user=ALICE, channel=channel)
        assert "still above its threshold" in reply.text and "Usage" not in reply.text
        assert (await incident_in(harness, channel)).status is Status.INVESTIGATING
    # someone who may not resolve is refused before any guard asks
    refused = await harness.driver.command("resolve", user=BOB, channel=channel)
    assert "Only the incident commander" in refused.text and len(asked) == 2

    [button] = reply.responses[-1]["blocks"][-1]["elements"]
    assert button["text"]["text"] == "Resolve anyway"
    question = await harness.driver.command("resolve Rolled back", user=ALICE, channel=channel)
    [button] = question.responses[-1]["blocks"][-1]["elements"]
    incident = await incident_in(harness, channel)
    assert incident.header_ts is not None
    done = await harness.driver.click(
        CONFIRM_CHANGE_ACTION,
        button["value"],
        user=ALICE,
        channel=channel,
        message_ts=incident.header_ts,
    )
    assert done.status == 200
    resolved = await incident_in(harness, channel)
    assert resolved.status is Status.RESOLVED and resolved.resolution_summary == "Rolled back"
    assert len(asked) == 3  # the confirmed replay skipped the guard
    assert any("Resolved by <@U0ALICE>" in m.text for m in harness.slack.messages(channel))


def test_steps_and_guards_are_named_once_per_change() -> None:
    from bot.incidents.flows import IncidentFlows

    flows = IncidentFlows(incidents=None)  # type: ignore[arg-type]

    async def step(outcome: Outcome) -> None:
        return None

    flows.after(Change.CLOSED, "archive", step)
    with pytest.raises(ValueError, match="already has a step"):
        flows.after(Change.CLOSED, "archive", step)
    with pytest.raises(ValueError, match="no step named"):
        flows.after(Change.CLOSED, "tell", step, before="nothing")
