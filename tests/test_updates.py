"""/incident update, cadence, subscribe/unsubscribe and the Follow button, through signed
requests to the real endpoint, the Slack emulator and real Redis."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.clock import ManualClock
from bot.incidents.models import Incident, Severity, Status
from bot.store import keys
from bot.timeline.models import EventKind
from sandbox.slack_emulator import Message, SlackEmulator
from tests.conftest import Harness, running_bot

ALICE, BOB, CHARLIE, DIANA = "U0ALICE", "U0BOB", "U0CHARLIE", "U0DIANA"
DATE = re.compile(r"<!date\^(\d+)\^")


@pytest.fixture
async def h(slack: SlackEmulator, redis_url: str, clock: ManualClock) -> AsyncIterator[Harness]:
    async with running_bot(slack, redis_url, clock=clock) as harness:
        yield harness


def dms(h: Harness, user: str) -> list[Message]:
    ims = [c for c in h.slack.channels() if c.is_im and c.im_user == user]
    return [m for c in ims for m in h.slack.messages(c.id)]


async def incident_of(h: Harness, channel: str) -> Incident:
    incident = await h.bot.services.incidents.for_channel(channel)
    assert incident is not None
    return incident


async def snapshot(h: Harness, incident_id: str) -> tuple[object, ...]:
    """What an update or cadence change would have changed."""
    redis = h.store.redis
    return (
        await h.store.get_incident(incident_id),
        await redis.xlen(keys.timeline(incident_id)),
        await redis.llen(keys.status_updates(incident_id)),  # type: ignore[misc]
        len(h.slack.calls("chat.postMessage")),
        len(h.slack.calls("chat.update")),
    )


async def test_an_update_reaches_channel_thread_announcement_followers_and_timeline(
    h: Harness, clock: ManualClock
) -> None:
    channel = await h.declare("Checkout API returning 500s sev:1", user=ALICE)
    incident = await incident_of(h, channel)
    announcement = h.slack.message(h.incidents_id, incident.announcement_ts or "")
    assert announcement is not None and "declared by" in announcement.text
    follow = [
        e for b in announcement.blocks if b["type"] == "actions" for e in b["elements"]
    ]
    assert [e["action_id"] for e in follow] == ["follow_updates"]
    # Bob follows with the command from anywhere, Charlie with the announcement's button
    reply = await h.driver.command(f"subscribe id:{incident.id}", user=BOB, channel="C0INCIDENTS")
    assert "You follow" in reply.text and reply.ephemeral
    await h.driver.click(
        "follow_updates", incident.id, user=CHARLIE, channel=h.incidents_id,
        message_ts=incident.announcement_ts or "",
    )
    assert await h.bot.services.updates.updates.subscribers(incident.id) == {BOB, CHARLIE}

    clock.advance(timedelta(minutes=10))
    reply = await h.driver.command(
        'update "Failover to the replica is done; error rate falling" status:monitoring next:20m',
        user=ALICE, channel=channel,
    )
    assert "Update #1" in reply.text and "2 follower(s) get it by DM" in reply.text, reply.text
    assert not [m for m in dms(h, BOB) if "Status update #1" in m.text]  # the worker sends
    await h.drain_outbox()

    in_channel = [m for m in h.slack.messages(channel) if "Status update #1" in m.text]
    assert len(in_channel) == 1
    assert "Failover to the replica is done" in in_channel[0].text
    thread = [
        m for m in h.slack.messages(h.incidents_id)
        if m.thread_ts == incident.announcement_ts and m.ts != m.thread_ts
    ]
    assert len(thread) == 1 and "Status update #1" in thread[0].text
    edited = h.slack.message(h.incidents_id, incident.announcement_ts or "")
    assert edited is not None and edited.edited
    line = " ".join(
        e["text"] for b in edited.blocks if b["type"] == "context" for e in b["elements"]
    )
    due = clock() + timedelta(minutes=20)
    assert "*Monitoring*" in line and f"next update by <!date^{int(due.timestamp())}^" in line
    for user in (BOB, CHARLIE):
        got = [m for m in dms(h, user) if "Status update #1" in m.text]
        assert len(got) == 1, user
    assert not [m for m in dms(h, ALICE) if "Status update" in m.text]  # the author

    stored = await h.store.get_incident(incident.id)
    assert stored.status is Status.MONITORING  # through the normal status change
    assert stored.next_update_due == due and stored.last_update_at == clock()
    entries = await h.store.timeline(incident.id)
    kinds = [e.event.kind for e in entries]
    assert EventKind.STATUS in kinds
    [upd] = [e for e in entries if e.event.kind is EventKind.STATUS_UPDATE]
    assert upd.is_key and "Failover to the replica is done" in upd.event.text

    # a retried fan-out of the same update DMs nobody twice
    service = h.bot.services.updates
    assert await service.outbox.queue(stored, "1", "again", about="#1", public_text="-") == 2
    [again] = await h.drain_outbox()
    assert again.sent == [] and again.already == 2
    assert len([m for m in dms(h, BOB) if "Status update #1" in m.text]) == 1


async def test_severity_with_an_update_and_updates_on_several_incidents(h: Harness) -> None:
    first = await h.declare("Payments queue backing up sev:3", user=BOB)
    second = await h.declare("Search latency over 2s sev:2", user=CHARLIE)
    one, two = await incident_of(h, first), await incident_of(h, second)
    await h.driver.command("subscribe", user=DIANA, channel=first)
    await h.driver.command("update Queue drained by half sev:2", user=BOB, channel=first)
    await h.driver.command("update Index rebuilt", user=CHARLIE, channel=second)
    await h.drain_outbox()
    assert (await h.store.get_incident(one.id)).severity is Severity.SEV2
    assert (await h.store.get_incident(two.id)).severity is Severity.SEV2
    got = [m.text for m in dms(h, DIANA) if "Status update" in m.text]
    assert len(got) == 1 and one.id in got[0] and "Queue drained by half" in got[0]
    # unsubscribed: the next update is not sent to Diana
    await h.driver.command("unsubscribe", user=DIANA, channel=first)
    await h.driver.command("update Queue empty", user=BOB, channel=first)
    await h.drain_outbox()
    assert len([m for m in dms(h, DIANA) if "Status update" in m.text]) == 1


async def test_no_text_opens_the_form_and_submitting_it_posts_the_update(
    h: Harness, clock: ManualClock
) -> None:
    channel = await h.declare("Login page blank sev:2", user=ALICE)
    incident = await incident_of(h, channel)
    reply = await h.driver.command("update", user=ALICE, channel=channel)
    assert reply.text == ""
    [view] = [v for v in h.slack.views() if v.view.get("callback_id") == "post_status_update"]
    assert view.view["private_metadata"] == incident.id
    status, _ = await h.driver.submit_view(
        "post_status_update",
        {
            "what_changed": {"value": {"type": "plain_text_input", "value": "CDN purge done"}},
            "impact": {"value": {"type": "plain_text_input", "value": "Some EU users"}},
            "next_steps": {"value": {"type": "plain_text_input", "value": "Watch error rate"}},
            "status": {"value": {"type": "static_select",
                                 "selected_option": {"value": "identified"}}},
            "severity": {"value": {"type": "static_select", "selected_option": {"value": "2"}}},
            "next_update": {"value": {"type": "static_select",
                                      "selected_option": {"value": "cadence"}}},
        },
        user=ALICE,
        private_metadata=incident.id,
    )
    assert status == 200
    [posted] = [m for m in h.slack.messages(channel) if "Status update #1" in m.text]
    assert "Some EU users" in posted.text and "Watch error rate" in posted.text
    stored = await h.store.get_incident(incident.id)
    assert stored.status is Status.IDENTIFIED
    assert stored.next_update_due == clock() + timedelta(minutes=60)  # SEV2 default cadence


async def test_an_empty_form_gets_field_errors_and_changes_nothing(h: Harness) -> None:
    channel = await h.declare("Login page blank sev:2", user=ALICE)
    incident = await incident_of(h, channel)
    before = await snapshot(h, incident.id)
    status, body = await h.driver.submit_view(
        "post_status_update",
        {"what_changed": {"value": {"type": "plain_text_input", "value": "  "}}},
        user=ALICE,
        private_metadata=incident.id,
    )
    assert status == 200 and "what_changed" in body
    assert await snapshot(h, incident.id) == before


@pytest.mark.parametrize(
    ("text", "user", "expected"),
    [
        ("update Fixed next:banana", ALICE, "`banana` is not a duration"),
        ("update Fixed next:2m", ALICE, "between 5m and 24h"),
        ("update Fixed status:sleeping", ALICE, "`status:sleeping` is not a status"),
        ("update Fixed sev:9", ALICE, "`9` is not a severity"),
        ("update sev:1", ALICE, "needs some text"),
        ("update We are on it", DIANA, "Only the incident's roles"),
        ("cadence banana", ALICE, "`banana` is not a duration"),
        ("cadence 15m 30m", ALICE, "Give one cadence"),
        ("cadence 15m", DIANA, "Only the incident's roles"),
        ("subscribe me", BOB, "takes no words"),
    ],
)
async def test_bad_input_is_refused_with_usage_and_changes_nothing(
    h: Harness, text: str, user: str, expected: str
) -> None:
    channel = await h.declare("Checkout API returning 500s sev:1", user=ALICE)
    incident = await incident_of(h, channel)
    before = await snapshot(h, incident.id)
    reply = await h.driver.command(text, user=user, channel=channel)
    assert reply.ephemeral and expected in reply.text, reply.text
    if "Only the" not in expected:
        assert "Usage" in reply.text, reply.text
    assert await snapshot(h, incident.id) == before
    assert await h.bot.services.updates.updates.subscribers(incident.id) == set()


async def test_cadence_and_updates_on_a_closed_incident_are_refused(h: Harness) -> None:
    channel = await h.declare("Checkout API returning 500s sev:1", user=ALICE)
    incident = await incident_of(h, channel)
    await h.driver.command("resolve", user=ALICE, channel=channel)
    await h.driver.command("close", user=ALICE, channel=channel)
    before = await snapshot(h, incident.id)
    for text, expected in (
        ("cadence 15m", "is closed; it has no update cadence"),
        ("update All good", "is closed; it takes no more updates"),
        ("subscribe", "there will be no more updates"),
    ):
        reply = await h.driver.command(text, user=ALICE, channel=channel)
        assert reply.ephemeral and expected in reply.text, reply.text
    assert await snapshot(h, incident.id) == before


async def test_anyone_may_post_updates_when_configured(
    slack: SlackEmulator, redis_url: str
) -> None:
    async with running_bot(slack, redis_url, updates_by_anyone=True) as h:
        channel = await h.declare("Checkout API returning 500s sev:1", user=ALICE)
        reply = await h.driver.command("update Seen from the EU too", user=DIANA, channel=channel)
        assert "Update #1" in reply.text, reply.text


async def test_cadence_command_sets_shows_and_turns_off(h: Harness, clock: ManualClock) -> None:
    channel = await h.declare("Checkout API returning 500s sev:3", user=ALICE)
    incident = await incident_of(h, channel)
    shown = await h.driver.command("cadence", user=BOB, channel=channel)
    assert "cadence of" in shown.text and ": off." in shown.text  # SEV3 has none by default
    reply = await h.driver.command("cadence 15m", user=ALICE, channel=channel)
    assert "every 15m" in reply.text, reply.text
    stored = await h.store.get_incident(incident.id)
    assert stored.update_cadence_minutes == 15
    assert stored.next_update_due == clock() + timedelta(minutes=15)
    assert [e.event.text for e in await h.store.timeline(incident.id)
            if e.event.kind is EventKind.CADENCE] == ["Update cadence every 15m"]
    await h.driver.command("cadence off", user=ALICE, channel=channel)
    stored = await h.store.get_incident(incident.id)
    assert stored.update_cadence_minutes == 0 and stored.next_update_due is None


async def test_resolve_tells_followers_once_and_the_announcement_says_resolved(
    h: Harness,
) -> None:
    channel = await h.declare("Checkout API returning 500s sev:1", user=ALICE)
    incident = await incident_of(h, channel)
    await h.driver.command("subscribe", user=BOB, channel=channel)
    await h.driver.command("resolve Rolled back the deploy", user=ALICE, channel=channel)
    await h.drain_outbox()
    got = [m.text for m in dms(h, BOB) if "is resolved" in m.text]
    assert len(got) == 1 and "Rolled back the deploy" in got[0]
    stored = await h.store.get_incident(incident.id)
    assert stored.next_update_due is None
    # the same resolve delivered again (a retry) reaches nobody twice
    assert await h.bot.services.updates.on_resolved(stored) == 1
    [again] = await h.drain_outbox()
    assert again.sent == [] and again.already == 1
    announcement = h.slack.message(h.incidents_id, incident.announcement_ts or "")
    assert announcement is not None
    line = " ".join(
        e["text"] for b in announcement.blocks if b["type"] == "context" for e in b["elements"]
    )
    assert "*Resolved*" in line
    assert not [b for b in announcement.blocks if b["type"] == "actions"]  # no Follow button


async def test_a_higher_severity_brings_the_next_update_forward(
    h: Harness, clock: ManualClock
) -> None:
    channel = await h.declare("Payments queue backing up sev:2", user=ALICE)
    incident = await incident_of(h, channel)
    clock.advance(timedelta(minutes=10))
    await h.driver.command("update Queue growing; adding consumers", user=ALICE, channel=channel)
    posted = clock()
    assert (await h.store.get_incident(incident.id)).next_update_due == posted + timedelta(
        minutes=60
    )
    clock.advance(timedelta(minutes=5))
    await h.driver.command("severity 1", user=ALICE, channel=channel)
    stored = await h.store.get_incident(incident.id)
    assert stored.next_update_due == posted + timedelta(minutes=30)  # SEV1's cadence
    await h.driver.command("severity 3", user=ALICE, channel=channel)  # a promise stays
    assert (await h.store.get_incident(incident.id)).next_update_due == stored.next_update_due
