"""The incident's life beyond declare and resolve, through signed requests against the strict
Slack emulator and real Redis: private incidents (declare, form, conversion), reopen, merge,
decline and corrected times — and every refusal answers privately and changes nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis as sync_redis

from bot.actions.reminders import ReminderScanner
from bot.clock import ManualClock
from bot.export import export_postmortem
from bot.incidents.models import Incident, Status
from bot.timeline.models import EventKind
from sandbox.anthropic_standin import AnthropicStandin
from sandbox.slack_emulator import DEFAULT_SCOPES, SlackEmulator
from tests.conftest import Harness, running_bot

ALICE, BOB, CHARLIE, DIANA = "U0ALICE", "U0BOB", "U0CHARLIE", "U0DIANA"
START = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
MUTATING = {
    "conversations.create",
    "conversations.invite",
    "conversations.archive",
    "conversations.rename",
    "conversations.setTopic",
    "chat.postMessage",
    "chat.update",
    "chat.delete",
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def bot(slack: SlackEmulator, redis_url: str, clock: ManualClock) -> AsyncIterator[Harness]:
    async with running_bot(slack, redis_url, clock=clock) as h:
        yield h


def redis_dump(h: Harness) -> dict[str, Any]:
    """Everything Redis holds (for 'nothing changed')."""
    r = sync_redis.Redis.from_url(h.bot.services.settings.redis_url, decode_responses=True)
    out: dict[str, Any] = {}
    for key in sorted(r.keys("*")):
        kind = r.type(key)
        if kind == "string":
            out[key] = r.get(key)
        elif kind == "stream":
            out[key] = [f for _, f in r.xrange(key)]
        elif kind == "zset":
            out[key] = r.zrange(key, 0, -1, withscores=True)
        elif kind == "set":
            out[key] = sorted(r.smembers(key))
        elif kind == "hash":
            out[key] = r.hgetall(key)
        else:
            out[key] = kind
    return out


async def incident_in(h: Harness, channel_id: str) -> Incident:
    incident = await h.bot.services.incidents.for_channel(channel_id)
    assert incident is not None
    return incident


async def refused(h: Harness, text: str, channel: str, *, user: str = ALICE) -> str:
    """Run a command that must be refused: an ephemeral answer, and nothing changes."""
    before = redis_dump(h)
    calls_before = len(h.slack.calls())
    reply = await h.driver.command(text, user=user, channel=channel)
    assert reply.ephemeral and ":warning:" in reply.text, reply.text
    assert redis_dump(h) == before, text
    changed = [  # a call Slack refused changed nothing either
        c.method
        for c in h.slack.calls()[calls_before:]
        if c.method in MUTATING and c.response.get("ok")
    ]
    assert changed == [], (text, changed)
    return reply.text


def reminder_scanner(h: Harness) -> ReminderScanner:
    actions = h.bot.services.actions
    return ReminderScanner(
        actions_store=actions.items,
        store=h.store,
        chat=h.bot.services.chat,
        clock=h.bot.services.clock,
        settings=actions.cfg,
    )


# --- private incidents --------------------------------------------------------------------

SECRET = "zebra-cobalt-7731"
TITLE = "Payroll export readable by contractors"


def leaks(h: Harness, private_channel: str, members: set[str]) -> list[str]:
    """Every Web API call, response_url answer and published view that carries the title or
    the secret outside the private channel, except DMs and ephemerals to members."""
    dm_of = {c.id: c.im_user for c in h.slack.channels() if c.is_im}
    found: list[str] = []
    for call in h.slack.calls():
        text = json.dumps(call.args)
        if TITLE not in text and SECRET not in text:
            continue
        channel = str(call.args.get("channel", call.args.get("channel_id", "")))
        if channel == private_channel:
            continue
        if call.method == "chat.postEphemeral" and call.args.get("user") in members:
            continue
        if channel in dm_of and dm_of[channel] in members:
            continue
        if channel in members:  # chat.postMessage with a user id posts in their DM
            continue
        if call.method == "views.publish" and call.args.get("user_id") in members:
            continue
        found.append(f"{call.method} {text[:200]}")
    for post in h.slack.response_posts():
        blob = json.dumps(post.payload)
        # commands answered in the private channel were typed by its members
        if (TITLE in blob or SECRET in blob) and not (
            post.response_type == "ephemeral"
            and (post.user_id in members or post.channel_id == private_channel)
        ):
            found.append(f"response_url to {post.user_id}: {blob[:200]}")
    return found


async def test_a_private_incident_never_shows_outside_its_channel(
    bot: Harness, clock: ManualClock
) -> None:
    h = bot
    reply = await h.driver.command(
        f"declare {TITLE} sev:2 services:payroll private:yes", user=ALICE, channel=h.incidents_id
    )
    assert "Declared" in reply.text
    [channel] = [c for c in h.slack.channels() if c.name.startswith("inc-")]
    assert channel.is_private and channel.members == {ALICE, "U0BOT"}
    create = [c for c in h.slack.calls() if c.method == "conversations.create"][-1]
    assert create.args["is_private"] in (True, "true", "1")
    incident = await incident_in(h, channel.id)
    assert incident.private and incident.announcement_ts
    announcement = h.slack.message(h.incidents_id, incident.announcement_ts)
    assert announcement is not None
    assert announcement.text == f":lock: *Private incident {incident.id} (SEV2)* — declared."

    await h.driver.message(user=ALICE, channel=channel.id, text=f"the leaked file is {SECRET}")
    await h.driver.command(f"note {SECRET} rotated", user=ALICE, channel=channel.id)
    await h.driver.command(f"role ops <@{BOB}>", user=ALICE, channel=channel.id)
    # CHARLIE owns an item but is not in the channel: his reminder must not carry its text
    await h.driver.command(
        f"action add <@{CHARLIE}> purge {SECRET} copies due:1d", user=ALICE, channel=channel.id
    )
    members = {ALICE, BOB}
    # a public incident that looks alike, so pattern matching has something to show
    public = await h.declare("Payroll export slow sev:3 services:payroll", user=DIANA)

    # what outsiders see: /incident list, App Home, the weekly digest, patterns
    outsider = await h.driver.command("list", user=DIANA, channel=h.incidents_id)
    assert f"Private incident {incident.id} (SEV2)" in outsider.text
    member = await h.driver.command("list", user=BOB, channel=h.incidents_id)
    assert TITLE in member.text
    scanner = reminder_scanner(h)
    assert await scanner.digest()
    digest = h.slack.messages("incidents")[-1].text
    assert f"Private incident {incident.id} (SEV2)" in digest
    await h.driver.command("patterns since:1w", user=DIANA, channel=h.incidents_id)
    # an outsider follows it from the announcement; the update and its fan-out stay private
    await h.driver.click(
        "follow_updates",
        incident.id,
        user=DIANA,
        channel=h.incidents_id,
        message_ts=incident.announcement_ts,
    )
    await h.driver.command(f"update {SECRET} contained next:30m", user=ALICE, channel=channel.id)
    await h.drain_outbox()  # the worker's part: the followers' DMs
    thread = [m for m in h.slack.messages("incidents") if m.thread_ts == incident.announcement_ts]
    assert thread and f"Private incident {incident.id} (SEV2)" in thread[-1].text
    to_diana = [
        c.args["text"]
        for c in h.slack.calls()
        if c.method == "chat.postMessage" and c.args.get("channel") == DIANA
    ]
    assert to_diana and all(SECRET not in t for t in to_diana)
    for user in (ALICE, CHARLIE, DIANA):  # App Home: own items, roles, followed incidents
        await h.driver.event({"type": "app_home_opened", "user": user, "tab": "home"})
    charlie_home = json.dumps(h.slack.published_views()[CHARLIE].view)
    assert f"Private incident {incident.id} (SEV2)" in charlie_home
    diana_home = json.dumps(h.slack.published_views()[DIANA].view)
    assert incident.id in diana_home and TITLE not in diana_home
    assert TITLE in json.dumps(h.slack.published_views()[ALICE].view)
    await h.driver.command("resolve fixed by revoking the share", user=DIANA, channel=public)

    await h.driver.command(f"resolve {SECRET} revoked", user=ALICE, channel=channel.id)
    await h.drain_outbox()
    resolved_note = h.slack.messages("incidents")[-1].text
    assert resolved_note == f":lock: *Private incident {incident.id} (SEV2)* — resolved."
    await h.driver.command("postmortem", user=ALICE, channel=channel.id)
    await h.driver.command("timeline", user=ALICE, channel=channel.id)
    # an overdue reminder to CHARLIE, who is not a member (11:00 in his Tokyo)
    clock.set(datetime(2026, 11, 25, 2, 0, tzinfo=UTC))
    await scanner.scan()
    to_charlie = [
        c
        for c in h.slack.calls()
        if c.method == "chat.postMessage"
        and c.args["channel"]
        in (CHARLIE, *[x.id for x in h.slack.channels() if x.is_im and x.im_user == CHARLIE])
    ]
    assert to_charlie, "CHARLIE got no reminder"
    assert f"Private incident {incident.id} (SEV2)" in json.dumps(to_charlie[-1].args)

    assert leaks(h, channel.id, members) == []
    # and the model was never asked: the draft says why
    pm = await h.bot.services.postmortems.latest(incident.id)
    assert (
        pm is not None
        and not pm.ai_written
        and "PRIVATE_INCIDENTS_USE_AI" in (pm.not_ai_reason or "")
    )


async def test_the_declare_form_has_a_private_checkbox(bot: Harness) -> None:
    await bot.driver.command("declare", user=BOB, channel=bot.incidents_id)
    [view] = bot.slack.views()
    assert "private" in json.dumps(view.view["blocks"])
    status, _ = await bot.driver.submit_view(
        "declare_incident",
        {
            "title": {"value": {"type": "plain_text_input", "value": "Badge reader spoofing"}},
            "severity": {"value": {"type": "static_select", "selected_option": {"value": "2"}}},
            "services": {"value": {"type": "plain_text_input", "value": ""}},
            "description": {"value": {"type": "plain_text_input", "value": ""}},
            "private": {
                "value": {"type": "checkboxes", "selected_options": [{"value": "private"}]}
            },
        },
        user=BOB,
    )
    assert status == 200
    [incident] = await bot.bot.services.incidents.list_open()
    assert incident.private
    channel = bot.slack.channel(incident.channel_id)
    assert channel is not None and channel.is_private
    assert "Badge reader" not in bot.slack.messages("incidents")[-1].text


async def test_make_private_moves_the_incident_one_way(bot: Harness) -> None:
    h = bot
    old = await h.declare(f"{TITLE} sev:2", user=ALICE)
    await h.driver.command(f"role comms <@{BOB}>", user=ALICE, channel=old)
    incident = await incident_in(h, old)
    old_name = incident.channel_name
    assert TITLE in h.slack.message(h.incidents_id, incident.announcement_ts or "").text  # type: ignore[union-attr]

    await refused(h, "private", old, user=BOB)  # only the IC or an admin

    reply = await h.driver.command("private", user=ALICE, channel=old)
    assert "private now" in reply.text and reply.ephemeral
    moved = await h.bot.services.store.get_incident(incident.id)
    assert moved.private and moved.channel_id != old
    assert moved.channel_name == f"{old_name}-private"
    new = h.slack.channel(moved.channel_id)
    assert new is not None and new.is_private and {ALICE, BOB} <= new.members
    public = h.slack.channel(old)
    assert public is not None and public.is_archived
    assert public.name == f"{incident.id.lower()}-moved"
    assert incident.header_ts is not None and h.slack.message(old, incident.header_ts) is None
    assert "now private" in h.slack.messages(old)[-1].text
    announcement = h.slack.message(h.incidents_id, incident.announcement_ts or "")
    assert announcement is not None
    assert announcement.text == f":lock: *Private incident {incident.id} (SEV2)* — declared."
    assert TITLE not in json.dumps(announcement.blocks) and "*Private*" in json.dumps(
        announcement.blocks
    )
    assert moved.header_ts and h.slack.message(new.id, moved.header_ts) is not None
    kinds = [e.event.kind for e in await h.store.timeline(incident.id)]
    assert EventKind.PRIVATE in kinds
    # commands keep working in the new channel; converting again is refused
    text = await refused(h, "private", new.id)
    assert "already private" in text


async def test_make_private_without_the_scope_changes_nothing(bot: Harness) -> None:
    """A workspace that installed the app before groups:write was asked for: a clear answer,
    the incident still public and untouched."""
    channel = await bot.declare(f"{TITLE} sev:2", user=ALICE)
    scopes = set(DEFAULT_SCOPES) - {"groups:write"}
    bot.slack.set_scopes(scopes)
    text = await refused(bot, "private", channel)
    assert "permission" in text and "still public" in text
    incident = await incident_in(bot, channel)
    assert not incident.private and incident.channel_id == channel
    assert not [c for c in bot.slack.channels() if c.is_private and not c.is_im]


# --- reopen ---------------------------------------------------------------------------------


async def test_reopen_counts_both_periods(bot: Harness, clock: ManualClock) -> None:
    h = bot
    channel = await h.declare("Checkout errors sev:2", user=ALICE)
    text = await refused(h, "reopen", channel)
    assert "still open" in text and "only a resolved incident can be reopened" in text
    clock.advance(timedelta(minutes=30))
    await h.driver.command("resolve rolled back", user=ALICE, channel=channel)
    clock.advance(timedelta(minutes=60))
    await refused(h, "reopen errors again", channel, user=BOB)  # only IC or admin
    reply = await h.driver.command("reopen errors are back", user=ALICE, channel=channel)
    assert "investigating again" in reply.text
    incident = await incident_in(h, channel)
    assert incident.status is Status.INVESTIGATING and incident.resolved_at is None
    assert [r.reason for r in incident.reopenings] == ["errors are back"]
    assert "Reopened" in h.slack.messages(channel)[-1].text
    announcement = h.slack.message(h.incidents_id, incident.announcement_ts or "")
    assert announcement is not None and "reopened" in json.dumps(announcement.blocks).lower()
    clock.advance(timedelta(minutes=20))
    await h.driver.command("resolve for real", user=ALICE, channel=channel)
    incident = await incident_in(h, channel)
    ttr = incident.time_to_resolve
    assert ttr is not None and ttr == timedelta(minutes=50)  # 30 + 20, not the quiet hour
    timeline = [e.event for e in await h.store.timeline(incident.id)]
    lifecycle = (EventKind.RESOLVED, EventKind.REOPENED)
    assert [e.kind for e in timeline if e.kind in lifecycle] == [
        EventKind.RESOLVED,
        EventKind.REOPENED,
        EventKind.RESOLVED,
    ]
    await h.driver.command("postmortem", user=ALICE, channel=channel)
    pm = await h.bot.services.postmortems.latest(incident.id)
    md = await h.bot.services.postmortems.markdown(pm)
    assert "## Reopenings and corrections" in md and "errors are back" in md
    assert "**Duration**: 50m 0s" in md


async def test_the_reopen_button_runs_the_same_flow(bot: Harness, clock: ManualClock) -> None:
    """The button other features put under a relapse warning (bot/slack/blocks.reopen_button)."""
    channel = await bot.declare("Cache stampede sev:2", user=ALICE)
    clock.advance(timedelta(minutes=15))
    await bot.driver.command("resolve", user=ALICE, channel=channel)
    incident = await incident_in(bot, channel)
    before = redis_dump(bot)
    denied = await bot.driver.click(
        "reopen_incident", incident.id, user=BOB, channel=channel, message_ts="1.000"
    )
    after = {k: v for k, v in redis_dump(bot).items() if not k.startswith("ib:seen:action:")}
    assert "Only the incident commander" in denied.text and after == before  # click guard aside
    clock.advance(timedelta(minutes=5))
    reply = await bot.driver.click(
        "reopen_incident", incident.id, user=ALICE, channel=channel, message_ts="1.000"
    )
    assert "investigating again" in reply.text
    incident = await incident_in(bot, channel)
    assert incident.status is Status.INVESTIGATING and len(incident.reopenings) == 1
    assert "Reopened by" in bot.slack.messages(channel)[-1].text


async def test_a_status_change_out_of_resolved_is_a_reopening(
    bot: Harness, clock: ManualClock
) -> None:
    channel = await bot.declare("Queue backlog sev:3", user=ALICE)
    clock.advance(timedelta(minutes=10))
    await bot.driver.command("resolve", user=ALICE, channel=channel)
    clock.advance(timedelta(minutes=30))
    await bot.driver.command("status investigating", user=ALICE, channel=channel)
    clock.advance(timedelta(minutes=5))
    await bot.driver.command("resolve", user=ALICE, channel=channel)
    incident = await incident_in(bot, channel)
    assert len(incident.reopenings) == 1
    assert incident.time_to_resolve == timedelta(minutes=15)


# --- merge ----------------------------------------------------------------------------------


async def test_merge_folds_a_duplicate_into_the_target(bot: Harness) -> None:
    h = bot
    target_channel = await h.declare("Login page times out sev:2", user=ALICE)
    dup_channel = await h.declare("Users cannot sign in sev:3", user=BOB)
    await h.driver.command(f"role ops <@{CHARLIE}>", user=BOB, channel=dup_channel)
    await h.driver.message(user=BOB, channel=dup_channel, text="SSO provider returns 502")
    await h.driver.command(
        f"action add <@{CHARLIE}> add SSO health alert due:3d", user=BOB, channel=dup_channel
    )
    target = await incident_in(h, target_channel)
    dup = await incident_in(h, dup_channel)

    text = await refused(h, f"merge {dup.id}", dup_channel, user=BOB)
    assert "into itself" in text and "/incident merge" in text
    assert "no incident" in (await refused(h, "merge INC-20990101-0001", dup_channel, user=BOB))
    await refused(h, "merge", dup_channel, user=BOB)
    await refused(h, f"merge {target.id}", dup_channel, user=ALICE)  # not the dup's IC

    reply = await h.driver.command(f"merge {target.id.lower()}", user=BOB, channel=dup_channel)
    assert f"merged into *{target.id}*" in reply.text, reply.text
    dup = await h.store.get_incident(dup.id)
    target = await h.store.get_incident(target.id)
    assert dup.status is Status.CLOSED and dup.merged_into == target.id
    assert not dup.counts_in_stats and target.merged_from == [dup.id]
    copied = [e.event for e in await h.store.timeline(target.id)]
    assert any(e.text.startswith(f"[from {dup.id}]") and "SSO provider" in e.text for e in copied)
    assert any(e.kind is EventKind.MERGED and "Merged from" in e.text for e in copied)
    [item] = await h.bot.services.actions.list_items("all", user_id="", incident_id=target.id)
    assert item.text == "add SSO health alert"
    assert not await h.bot.services.actions.list_items("all", user_id="", incident_id=dup.id)
    target_members = h.slack.channel(target_channel).members  # type: ignore[union-attr]
    assert {ALICE, BOB, CHARLIE} <= target_members
    assert "duplicate of" in h.slack.messages(dup_channel)[-1].text
    assert h.slack.channel(dup_channel).is_archived  # type: ignore[union-attr]
    dup_announcement = h.slack.message(h.incidents_id, dup.announcement_ts or "")
    assert dup_announcement is not None
    assert f"*Duplicate* of {target.id}" in json.dumps(dup_announcement.blocks)

    # the pair counts once in patterns; a merged incident cannot be merged again
    report = await h.bot.services.patterns.report(since=timedelta(days=30))
    assert report.total == 1


async def test_merge_refuses_closed_or_differently_private_targets(bot: Harness) -> None:
    h = bot
    declined = await h.declare("Disk alarm on db-3 sev:4", user=ALICE)
    await h.driver.command("decline sensor glitch", user=ALICE, channel=declined)
    closed = await incident_in(h, declined)
    secret = await h.declare("Leaked API key sev:2 private:yes", user=ALICE)
    private = await incident_in(h, secret)
    source = await h.declare("Slow search sev:3", user=ALICE)

    assert "declined" in await refused(h, f"merge {closed.id}", source)
    assert "private" in await refused(h, f"merge {private.id}", source)
    src = await incident_in(h, source)
    assert "private" in await refused(h, f"merge {src.id}", secret)


# --- decline --------------------------------------------------------------------------------


async def test_decline_closes_a_false_alarm_that_stays_searchable(
    bot: Harness, clock: ManualClock
) -> None:
    h = bot
    channel = await h.declare("CPU alarm on batch nodes sev:3", user=ALICE)
    await h.driver.command(
        f"action add <@{BOB}> tune the CPU alert due:1d", user=ALICE, channel=channel
    )
    await refused(h, "decline", channel, user=BOB)
    reply = await h.driver.command("decline alert threshold too low", user=ALICE, channel=channel)
    assert "false alarm" in reply.text
    incident = await incident_in(h, channel)
    assert incident.status is Status.CLOSED and incident.is_declined
    assert incident.decline_reason == "alert threshold too low"
    assert incident.time_to_resolve is None and not incident.counts_in_stats
    announcement = h.slack.message(h.incidents_id, incident.announcement_ts or "")
    assert announcement is not None and "*Declined*" in json.dumps(announcement.blocks)
    assert not await h.bot.services.incidents.list_open()
    everything = await h.driver.command("list all", user=CHARLIE, channel=h.incidents_id)
    assert incident.id in everything.text and "declined (false alarm)" in everything.text
    assert "declined" in await refused(h, "decline again", channel)
    assert "closed" in await refused(h, "reopen", channel)
    # reminders leave it alone
    scanner = reminder_scanner(h)
    clock.advance(timedelta(days=3))
    result = await scanner.scan()
    assert result.sent == []
    assert "tune the CPU" not in json.dumps(
        [c.args for c in h.slack.calls() if c.method == "chat.postMessage"][-3:]
    )
    report = await h.bot.services.patterns.report(since=timedelta(days=30))
    assert report.total == 0


# --- corrected times ------------------------------------------------------------------------


async def test_times_are_corrected_in_the_ics_zone_and_audited(
    bot: Harness, clock: ManualClock
) -> None:
    h = bot
    channel = await h.declare("Payments declined sev:1", user=ALICE)  # IC in America/New_York
    clock.advance(timedelta(minutes=40))  # 14:40 UTC = 09:40 in New York
    reply = await h.driver.command(
        "times started:08:45 identified:2026-11-23T14:20:00Z mitigated:09:30",
        user=ALICE,
        channel=channel,
    )
    assert "Corrected" in reply.text, reply.text
    incident = await incident_in(h, channel)
    assert incident.impact_started_at == datetime(2026, 11, 23, 13, 45, tzinfo=UTC)
    assert incident.identified_at == datetime(2026, 11, 23, 14, 20, tzinfo=UTC)
    assert incident.mitigated_at == datetime(2026, 11, 23, 14, 30, tzinfo=UTC)
    assert incident.time_to_detect == timedelta(minutes=15)
    assert incident.time_to_mitigate == timedelta(minutes=45)
    audits = [
        e.event for e in await h.store.timeline(incident.id) if e.event.kind is EventKind.TIMES
    ]
    assert [(a.data["field"], a.actor) for a in audits] == [
        ("started", ALICE),
        ("identified", ALICE),
        ("mitigated", ALICE),
    ]
    assert audits[0].data["old"] == "" and audits[0].data["new"].startswith("2026-11-23T13:45")

    clock.advance(timedelta(minutes=20))
    await h.driver.command("resolve", user=ALICE, channel=channel)
    await h.driver.command("times resolved:09:50", user=ALICE, channel=channel)
    incident = await incident_in(h, channel)
    assert incident.time_to_resolve == timedelta(minutes=65)
    await h.driver.command("postmortem", user=ALICE, channel=channel)
    pm = await h.bot.services.postmortems.latest(incident.id)
    assert pm is not None and pm.durations.ttr_seconds == 65 * 60
    assert pm.durations.ttd_seconds == 15 * 60
    md = await h.bot.services.postmortems.markdown(pm)
    assert "Resolved time corrected by" in md


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("times identified:09:20 mitigated:09:10", "out of order"),
        ("times started:09:30", "after the incident was declared"),
        ("times started:banana", "is not a time"),
        ("times started:25:00", "is not a time"),
        ("times mitigated:2026-11-24T10:00", "in the future"),
        ("times resolved:09:30", "not resolved"),
        ("times", "Give at least one"),
        ("times 09:30", "not understood"),
    ],
)
async def test_bad_times_change_nothing(
    bot: Harness, clock: ManualClock, text: str, problem: str
) -> None:
    channel = await bot.declare("Search is slow sev:3", user=ALICE)
    clock.advance(timedelta(minutes=40))
    answer = await refused(bot, text, channel)
    assert problem in answer and "/incident times" in answer


@pytest.mark.parametrize("use_ai", [False, True])
async def test_the_model_sees_a_private_incident_only_when_allowed(
    slack: SlackEmulator, redis_url: str, clock: ManualClock, use_ai: bool
) -> None:
    with AnthropicStandin() as model:
        model.reset("valid")
        async with running_bot(
            slack,
            redis_url,
            clock=clock,
            anthropic_api_key=model.api_key,
            anthropic_base_url=model.base_url,
            private_incidents_use_ai=use_ai,
        ) as h:
            channel = await h.declare(f"{TITLE} sev:2 private:yes", user=ALICE)
            await h.driver.message(user=ALICE, channel=channel, text=f"found {SECRET}")
            await h.driver.command("summary exec", user=ALICE, channel=channel)
            clock.advance(timedelta(minutes=20))
            await h.driver.command("resolve", user=ALICE, channel=channel)
            await h.driver.command("postmortem", user=ALICE, channel=channel)
            sent = json.dumps([r.body for r in model.requests])
            if use_ai:
                assert model.requests and SECRET in sent
            else:
                assert model.requests == [] and TITLE not in sent
                incident = await incident_in(h, channel)
                pm = await h.bot.services.postmortems.latest(incident.id)
                assert pm is not None and not pm.ai_written
                assert "PRIVATE_INCIDENTS_USE_AI" in (pm.not_ai_reason or "")


async def test_export_omits_a_private_incident_unless_asked(bot: Harness) -> None:
    channel = await bot.declare(f"{TITLE} sev:2 private:yes", user=ALICE)
    incident = await incident_in(bot, channel)
    settings = bot.bot.services.settings
    hidden = await export_postmortem(settings, incident.id)
    assert f"Private incident {incident.id} (SEV2)" in hidden and TITLE not in hidden
    assert "--include-private" in hidden
    shown = await export_postmortem(settings, incident.id, include_private=True)
    assert TITLE in shown
