"""/incident through signed requests to the real HTTP endpoint, against the strict Slack
emulator and real Redis: what Slack received and what Redis holds."""

from __future__ import annotations

import json
import time

import pytest
import redis as sync_redis

from bot.incidents.models import Role, Severity, Status
from bot.store import keys
from sandbox import slack_requests as sr
from tests.conftest import SIGNING_SECRET, Harness

ALICE, BOB, CHARLIE = "U0ALICE", "U0BOB", "U0CHARLIE"


def redis_keys(harness: Harness) -> list[str]:
    url = harness.bot.services.settings.redis_url
    return sorted(k.decode() for k in sync_redis.Redis.from_url(url).keys("*"))


async def incident_of(harness: Harness, channel_id: str):  # type: ignore[no-untyped-def]
    incident = await harness.bot.services.incidents.for_channel(channel_id)
    assert incident is not None
    return incident


async def test_declare_opens_a_whole_incident(harness: Harness) -> None:
    reply = await harness.driver.command(
        "declare Checkout API returning 500s sev:2 services:api-server,web-service tags:db",
        user=ALICE,
        channel=harness.incidents_id,
    )
    assert reply.status == 200
    assert reply.ephemeral and "You are IC" in reply.text
    [name] = [c.name for c in harness.slack.channels() if c.name.startswith("inc-")]
    assert name.endswith("-checkout-api-returning-500s")
    channel = harness.slack.channel_by_name(name)
    assert ALICE in channel.members
    assert (
        "SEV2" in channel.topic
        and "Investigating" in channel.topic
        and f"<@{ALICE}>" in channel.topic
    )

    incident = await incident_of(harness, channel.id)
    assert incident.severity is Severity.SEV2
    assert incident.services == ["api-server", "web-service"] and incident.tags == ["db"]
    assert incident.roles == {Role.IC: ALICE}
    assert incident.header_ts is not None

    header = harness.slack.message(channel.id, incident.header_ts)
    assert header is not None
    header_text = json.dumps(header.blocks)
    assert "Checkout API returning 500s" in header_text and "SEV2" in header_text
    assert "take_role_ops" in header_text and "resolve_incident" in header_text

    announcement = harness.slack.messages("incidents")[-1]
    assert f"<#{channel.id}>" in announcement.text and "SEV2" in announcement.text

    events = await harness.store.timeline(incident.id)
    assert [e.event.kind.value for e in events] == ["declared"]
    # no more Web API calls than the goal: create, invite, topic, header, announce (+auth)
    posting = [c.method for c in harness.slack.calls() if c.method != "auth.test"]
    assert len(posting) <= 8, posting


async def test_declare_records_when_impact_started(harness: Harness) -> None:
    channel = await harness.declare("Slow checkout started:45m", user=ALICE)
    incident = await incident_of(harness, channel)
    assert incident.title == "Slow checkout"
    assert incident.impact_started_at is not None
    ttd = incident.time_to_detect
    assert ttd is not None and 44 * 60 <= ttd.total_seconds() <= 46 * 60
    bad = await harness.driver.command(
        "declare Slow started:soon", user=ALICE, channel=harness.incidents_id
    )
    assert "not a duration" in bad.text and "[started:30m]" in bad.text


async def test_declare_with_a_taken_name_gets_a_suffix(harness: Harness) -> None:
    first = await harness.declare("Search is slow", user=ALICE)
    second = await harness.declare("Search is slow", user=BOB)
    a, b = harness.slack.channel(first).name, harness.slack.channel(second).name
    assert b == a + "-2"


async def test_declare_without_text_opens_the_modal(harness: Harness) -> None:
    await harness.driver.command("declare", user=ALICE, channel=harness.incidents_id)
    [view] = harness.slack.views()
    assert view.view["callback_id"] == "declare_incident"
    status, _ = await harness.driver.submit_view(
        "declare_incident",
        {
            "title": {"value": {"type": "plain_text_input", "value": "Login failures"}},
            "severity": {"value": {"type": "static_select", "selected_option": {"value": "1"}}},
            "services": {"value": {"type": "plain_text_input", "value": "auth"}},
            "description": {"value": {"type": "plain_text_input", "value": "SSO down"}},
        },
        user=BOB,
    )
    assert status == 200
    [incident] = await harness.bot.services.incidents.list_open()
    assert incident.title == "Login failures" and incident.severity is Severity.SEV1
    assert incident.services == ["auth"] and incident.roles[Role.IC] == BOB


@pytest.mark.parametrize(
    ("text", "problem", "usage"),
    [
        ("frobnicate", "is not a command", "/incident declare"),
        ("declare sev:2", "needs a title", "declare <title>"),
        ("declare Outage sev:7", "not a severity", "declare <title>"),
        ("declare Outage services:bad!name", "not a valid name", "declare <title>"),
    ],
)
async def test_bad_declare_changes_nothing(
    harness: Harness, text: str, problem: str, usage: str
) -> None:
    reply = await harness.driver.command(text, user=ALICE, channel=harness.incidents_id)
    assert reply.ephemeral and problem in reply.text and usage in reply.text
    assert not [c for c in harness.slack.channels() if c.name.startswith("inc-")]
    assert not [c for c in harness.slack.calls() if c.method == "conversations.create"]
    assert redis_keys(harness) == []


async def test_channel_creation_failure_records_nothing(harness: Harness) -> None:
    harness.slack.fail("conversations.create", error="restricted_action")
    reply = await harness.driver.command(
        "declare Payments down", user=ALICE, channel=harness.incidents_id
    )
    assert "could not create the incident channel" in reply.text.lower()
    assert "restricted_action" in reply.text
    assert redis_keys(harness) == []


async def test_roles_are_assigned_announced_and_shown(harness: Harness) -> None:
    channel = await harness.declare(user=ALICE)
    reply = await harness.driver.command(f"role ops <@{BOB}|bob>", user=ALICE, channel=channel)
    assert "is now Ops Lead" in reply.text
    assert BOB in harness.slack.channel(channel).members
    dms = [
        m
        for c in harness.slack.channels()
        if c.id.startswith("D")
        for m in harness.slack.messages(c.id)
    ]
    assert any("Ops Lead" in m.text and "investigation" in m.text for m in dms)

    roles = await harness.driver.command("roles", user=CHARLIE, channel=channel)
    assert f"Incident Commander: <@{ALICE}>" in roles.text
    assert f"Ops Lead: <@{BOB}>" in roles.text and "Comms Lead: _unassigned_" in roles.text

    # IC handoff by the IC is recorded with who had it before
    await harness.driver.command(f"role ic <@{CHARLIE}>", user=ALICE, channel=channel)
    incident = await incident_of(harness, channel)
    assert incident.roles[Role.IC] == CHARLIE
    texts = [e.event.text for e in await harness.store.timeline(incident.id)]
    assert any(f"Incident Commander: <@{CHARLIE}> (from <@{ALICE}>)" in t for t in texts)
    assert f"<@{CHARLIE}>" in harness.slack.channel(channel).topic


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("role boss <@U0BOB>", "is not a role"),
        ("role ops bob", "not a user mention"),
        ("role ops <@U0NOBODY>", "not a user in this workspace"),
        ("role ops", "Say which role"),
    ],
)
async def test_bad_role_changes_nothing(harness: Harness, text: str, problem: str) -> None:
    channel = await harness.declare(user=ALICE)
    before = await harness.store.events((await incident_of(harness, channel)).id)
    reply = await harness.driver.command(text, user=ALICE, channel=channel)
    assert problem in reply.text and "/incident role ic|ops|comms" in reply.text
    incident = await incident_of(harness, channel)
    assert incident.roles == {Role.IC: ALICE}
    assert len(await harness.store.events(incident.id)) == len(before)


async def test_channel_scoped_command_outside_an_incident(harness: Harness) -> None:
    reply = await harness.driver.command("severity 1", user=ALICE, channel=harness.incidents_id)
    assert "not an incident channel" in reply.text and "/incident severity" in reply.text
    other = await harness.declare(user=ALICE)
    incident = await incident_of(harness, other)
    reply = await harness.driver.command(
        f"severity 1 id:{incident.id}", user=ALICE, channel=harness.incidents_id
    )
    assert (await incident_of(harness, other)).severity is Severity.SEV1


async def test_severity_status_and_resolution_keep_topic_header_and_times(
    harness: Harness,
) -> None:
    channel = await harness.declare(user=ALICE)
    await harness.driver.command("severity sev1", user=ALICE, channel=channel)
    await harness.driver.command("status identified", user=BOB, channel=channel)
    await harness.driver.command("status monitoring", user=BOB, channel=channel)
    incident = await incident_of(harness, channel)
    assert incident.severity is Severity.SEV1 and incident.status is Status.MONITORING
    assert incident.identified_at is not None and incident.mitigated_at is not None
    topic = harness.slack.channel(channel).topic
    assert topic.startswith("SEV1 | Monitoring")
    header = harness.slack.message(channel, incident.header_ts or "")
    assert header is not None
    assert "SEV1" in json.dumps(header.blocks) and "Monitoring" in json.dumps(header.blocks)

    refused = await harness.driver.command("resolve", user=BOB, channel=channel)
    assert "Only the incident commander" in refused.text
    assert (await incident_of(harness, channel)).status is Status.MONITORING

    await harness.driver.command("resolve Rolled back v2.3.4", user=ALICE, channel=channel)
    incident = await incident_of(harness, channel)
    assert incident.status is Status.RESOLVED and incident.resolved_at is not None
    assert incident.resolution_summary == "Rolled back v2.3.4"
    assert incident.time_to_resolve is not None
    assert "Resolved" in harness.slack.channel(channel).topic
    kinds = [e.event.kind.value for e in await harness.store.timeline(incident.id)]
    # the pattern service adds the root-cause category as a note on resolve
    assert kinds == ["declared", "severity", "status", "status", "resolved", "note"]
    listed = await harness.driver.command("list", user=BOB, channel=harness.incidents_id)
    assert "No open incidents" in listed.text

    early = await harness.driver.command("close", user=BOB, channel=channel)
    assert "Only the incident commander" in early.text
    await harness.driver.command("close", user=ALICE, channel=channel)
    assert (await incident_of(harness, channel)).status is Status.CLOSED


async def test_close_before_resolve_is_refused(harness: Harness) -> None:
    channel = await harness.declare(user=ALICE)
    reply = await harness.driver.command("close", user=ALICE, channel=channel)
    assert "resolve it before closing" in reply.text
    assert (await incident_of(harness, channel)).status is Status.INVESTIGATING


async def test_services_tags_and_list(harness: Harness) -> None:
    channel = await harness.declare(user=ALICE)
    await harness.driver.command("services api-server,db", user=ALICE, channel=channel)
    await harness.driver.command("tags n+1", user=ALICE, channel=channel)
    bad = await harness.driver.command("tags", user=ALICE, channel=channel)
    assert "/incident tags x,y" in bad.text
    incident = await incident_of(harness, channel)
    assert incident.services == ["api-server", "db"] and incident.tags == ["n+1"]
    listed = await harness.driver.command("list", user=BOB, channel=harness.incidents_id)
    assert incident.id in listed.text and "<!date^" in listed.text


async def test_timeline_keeps_messages_edits_deletes_and_key_events(harness: Harness) -> None:
    channel = await harness.declare(user=ALICE)
    d = harness.driver
    ts1 = await d.message(user=BOB, channel=channel, text="Error rate climbing 1% → 5%")
    ts2 = await d.message(user=ALICE, channel=channel, text="Pool is at 100%")
    ts3 = await d.message(user=CHARLIE, channel=channel, text="oops wrong channel")
    await d.event(
        {
            "type": "message",
            "subtype": "message_changed",
            "channel": channel,
            "message": {
                "type": "message",
                "user": BOB,
                "ts": ts1,
                "text": "Error rate climbing 1% → 10%",
            },
            "event_ts": ts1,
        }
    )
    await d.event(
        {
            "type": "message",
            "subtype": "message_deleted",
            "channel": channel,
            "deleted_ts": ts3,
            "event_ts": ts3,
        }
    )
    await d.event(
        {
            "type": "pin_added",
            "user": ALICE,
            "channel_id": channel,
            "item": {
                "type": "message",
                "channel": channel,
                "message": {"ts": ts2, "text": "Pool is at 100%"},
            },
        }
    )
    await d.event(
        {
            "type": "reaction_added",
            "user": BOB,
            "reaction": "pushpin",
            "item": {"type": "message", "channel": channel, "ts": ts1},
        }
    )
    await d.command("note Decision: roll back v2.3.4", user=ALICE, channel=channel)

    key = await d.command("timeline", user=BOB, channel=channel)
    assert "Pool is at 100%" in key.text and "10%" in key.text and "_(edited)_" in key.text
    assert "Decision: roll back" in key.text and "<!date^" in key.text
    assert "oops wrong channel" not in key.text

    everything = await d.command("timeline all", user=BOB, channel=channel)
    assert "oops" not in everything.text and "Error rate climbing" in everything.text
    # an unknown page is a usage error, not a crash
    bad = await d.command("timeline page:9", user=BOB, channel=channel)
    assert "no page 9" in bad.text and "/incident timeline" in bad.text


async def test_timeline_is_paged(harness: Harness) -> None:
    channel = await harness.declare(user=ALICE)
    for i in range(30):
        await harness.driver.message(user=BOB, channel=channel, text=f"step {i}")
    first = await harness.driver.command("timeline all", user=BOB, channel=channel)
    assert "page 1/2" in first.text and "page:2" in first.text
    second = await harness.driver.command("timeline all page:2", user=BOB, channel=channel)
    assert "step 29" in second.text and "step 0" not in second.text


async def test_retried_event_is_recorded_once(harness: Harness) -> None:
    channel = await harness.declare(user=ALICE)
    ts = harness.slack.post_as_user(channel, BOB, "DB failover started")
    event = {
        "type": "message",
        "channel": channel,
        "user": BOB,
        "text": "DB failover started",
        "ts": ts,
        "event_ts": ts,
    }
    assert await harness.driver.event(event, event_id="Ev0RETRY1") == 200
    assert await harness.driver.event(event, event_id="Ev0RETRY1", retry_num=1) == 200
    assert await harness.driver.event(event, event_id="Ev0RETRY2", retry_num=2) == 200
    incident = await incident_of(harness, channel)
    messages = [
        e for e in await harness.store.timeline(incident.id) if e.event.kind.value == "message"
    ]
    assert [m.event.text for m in messages] == ["DB failover started"]


async def test_messages_outside_incident_channels_are_not_stored(harness: Harness) -> None:
    await harness.driver.message(user=BOB, channel=harness.incidents_id, text="lunch?")
    assert redis_keys(harness) == [keys.seen_event(k) for k in []] or all(
        k.startswith("ib:seen:") for k in redis_keys(harness)
    )


async def test_bot_markup_in_user_text_is_neutralised(harness: Harness) -> None:
    channel = await harness.declare("<!channel> everything is down <@U0BOB>", user=ALICE)
    announcement = harness.slack.messages("incidents")[-1].text
    assert "<!channel>" not in announcement and "&lt;!channel&gt;" in announcement
    await harness.driver.message(user=BOB, channel=channel, text="<!here> look")
    reply = await harness.driver.command("timeline all", user=BOB, channel=channel)
    assert "<!here>" not in reply.text


async def test_help_is_generated_from_the_registry(harness: Harness) -> None:
    reply = await harness.driver.command("help", user=ALICE, channel=harness.incidents_id)
    for usage in (
        "declare <title>",
        "role ic|ops|comms <@user>",
        "timeline [all]",
        "resolve [summary]",
        "action",
        "postmortem",
    ):
        assert usage in reply.text


async def test_header_buttons_take_roles_once(harness: Harness) -> None:
    channel = await harness.declare(user=ALICE)
    incident = await incident_of(harness, channel)
    for _ in range(2):  # a double click
        await harness.driver.click(
            "take_role_ops",
            incident.id,
            user=BOB,
            channel=channel,
            message_ts=incident.header_ts or "",
        )
    incident = await incident_of(harness, channel)
    assert incident.roles[Role.OPS] == BOB
    roles = [e for e in await harness.store.timeline(incident.id) if e.event.kind.value == "role"]
    assert len(roles) == 1


async def test_forged_and_stale_signatures_are_rejected(harness: Harness) -> None:
    body = sr.slash_command(
        "/incident",
        "declare Forged",
        ALICE,
        harness.incidents_id,
        harness.slack.new_response_url(),
        "trig-x",
    )
    forged = sr.signed_headers("not-the-secret", body)
    status, _ = await harness.driver.post_raw(body, forged)
    assert status == 401
    stale = sr.signed_headers(SIGNING_SECRET, body, timestamp=int(time.time()) - 6 * 60)
    status, _ = await harness.driver.post_raw(body, stale)
    assert status == 401
    assert not [c for c in harness.slack.calls() if c.method == "conversations.create"]


async def test_redis_down_gives_a_clear_try_again(harness: Harness) -> None:
    services = harness.bot.services
    good = services.store.redis
    from bot.store.redis_store import connect

    services.store.redis = connect("redis://127.0.0.1:1/0")  # nothing listens there
    try:
        reply = await harness.driver.command(
            "declare Outage", user=ALICE, channel=harness.incidents_id
        )
    finally:
        await services.store.redis.aclose()
        services.store.redis = good
    assert "Redis" in reply.text and "Try again" in reply.text
    assert not [c for c in harness.slack.calls() if c.method == "conversations.create"]


async def test_rate_limited_declare_still_completes(harness: Harness) -> None:
    harness.slack.fail("chat.postMessage", error="ratelimited", retry_after=1, times=1)
    harness.slack.fail("conversations.setTopic", error="ratelimited", retry_after=1, times=1)
    channel = await harness.declare(user=ALICE)
    incident = await incident_of(harness, channel)
    assert incident.header_ts is not None
    assert "SEV" in harness.slack.channel(channel).topic
    assert any(f"<#{channel}>" in m.text for m in harness.slack.messages("incidents"))


async def test_someone_joining_gets_a_private_catch_up(harness: Harness) -> None:
    channel = await harness.declare("Checkout API returning 500s", user=ALICE)
    await harness.driver.command("note Rolled back v2.3.4", user=ALICE, channel=channel)
    await harness.bot.services.chat.invite(channel, [CHARLIE])  # someone pulls Charlie in
    await harness.driver.event(
        {
            "type": "member_joined_channel",
            "user": CHARLIE,
            "channel": channel,
            "channel_type": "C",
            "event_ts": "1700000000.000500",
        }
    )
    [catch_up] = [e for e in harness.slack.ephemerals(channel) if e.get("user") == CHARLIE]
    assert "Welcome to the war room" in catch_up["text"]
    assert "Checkout API returning 500s" in catch_up["text"]
    assert "Rolled back v2.3.4" in catch_up["text"] and f"<@{ALICE}>" in catch_up["text"]
