"""Every payload of the real-Slack corpus (tests/fixtures/slack/, each file naming its source)
is sent signed to the real /slack/events endpoint, and — every test runs twice — as a Socket
Mode envelope over a real WebSocket (the emulator's Socket Mode stand-in) to the bot's Socket
Mode handler. Slack gets its 200 (or the documented answer) and the bot does what the
payload means; the same expectations hold over both transports.

A person's words are recorded (plain, thread broadcast, file share, /me, forwarded and
shared messages with their text marked); a channel's changes become system events; joins,
bot posts and unfurls are not words and are not recorded; what the bot does not act on is
acknowledged and changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from bot.errors import ChatError
from bot.timeline.models import EventKind, TimelineEvent
from tests.conftest import Harness
from tests.slack_corpus import TRANSPORTS, Wire, fixture_names, load

ALICE, BOB, CHARLIE = "U0ALICE", "U0BOB", "U0CHARLIE"


@dataclass
class WarRoom:
    harness: Harness
    wire: Wire
    channel: str
    incident_id: str

    async def events(self) -> list[TimelineEvent]:
        return [e for _, e in await self.harness.store.events(self.incident_id)]

    async def said(self, user: str, text: str, ts: str) -> None:
        """A message the person posted earlier (what an edit or a delete refers to)."""
        event = {"type": "message", "channel": self.channel, "user": user, "text": text,
                 "ts": ts, "event_ts": ts, "channel_type": "channel"}
        assert await self.harness.driver.event(event) == 200

    async def send(self, name: str) -> list[TimelineEvent]:
        """Send one corpus payload; returns the timeline events it added."""
        before = len(await self.events())
        outcome = await self.wire.send_fixture(name, channel=self.channel)
        assert outcome.acknowledged, (name, outcome)
        return (await self.events())[before:]


@pytest.fixture(params=TRANSPORTS)
async def room(request: pytest.FixtureRequest, harness: Harness) -> AsyncIterator[WarRoom]:
    """An incident declared by Bob, and a wire of the parametrized transport."""
    channel = await harness.declare("Corpus replay sev:2", user=BOB)
    incident = await harness.bot.services.incidents.for_channel(channel)
    assert incident is not None
    wire = await Wire(harness, request.param).open()
    try:
        yield WarRoom(harness, wire, channel, incident.id)
    finally:
        await wire.close()


def test_every_fixture_names_its_public_source() -> None:
    names = fixture_names()
    assert len(names) >= 45
    for name in names:
        fixture = load(name)
        if "url" in fixture.source:  # an example printed in Slack's API docs
            assert fixture.source["url"].startswith("https://docs.slack.dev/"), name
        else:
            assert fixture.source["repo"].count("/") == 1, name
            assert len(fixture.source["commit"]) == 40 and fixture.source["path"], name
        assert fixture.transport in ("events", "command", "interactive", "envelope"), name


WORDS = {
    # fixture: (who said it, every piece of what is recorded)
    "message": (ALICE, ["Hi there! Thanks for sharing the info!"]),
    "message_thread_broadcast": (ALICE, ["Hi there!"]),
    "message_file_share": (ALICE, ["Hi there!", "[files: file.png]"]),
    "message_me": (ALICE, ["hey"]),
    "message_forwarded": (ALICE, ["↪ forwarded from lev: 123"]),
    "message_shared_with_comment": (
        ALICE, ["hello check that out!", "↪ forwarded from lev: this will be shared with a message"]
    ),
    "message_shared_without_comment": (ALICE, ["↪ forwarded from jadel: blahblahblahblahblah"]),
    "envelope_message": (BOB, ["<@U0ALICE> Hi here!"]),
    "docs_message": (ALICE, ["Hello world"]),
}


@pytest.mark.parametrize("name", sorted(WORDS))
async def test_a_persons_words_are_recorded(room: WarRoom, name: str) -> None:
    user, pieces = WORDS[name]
    added = await room.send(name)
    assert [(e.kind, e.actor) for e in added] == [(EventKind.MESSAGE, user)], added
    for piece in pieces:
        assert piece in added[0].text, (piece, added[0].text)
    assert await room.send(name) == []  # the same message again: stored once


NOT_WORDS = [
    "message_bot_profile",  # another app's bot, even with a `user` field
    "message_bot_message",
    "message_channel_join",
    "message_channel_join_captured",
    "message_channel_posting_permissions",
    "reaction_added",  # :heart_eyes: is not a key-event mark
    "pin_added_empty_item",  # Slack has sent a pin with no item
    "docs_channel_topic_without_channel",  # the docs' example names no channel
]


@pytest.mark.parametrize("name", NOT_WORDS)
async def test_what_is_not_a_persons_words_is_not_recorded(room: WarRoom, name: str) -> None:
    assert await room.send(name) == []


SYSTEM = {
    "message_channel_topic": (ALICE, "set the channel topic: Non-work banter and water cooler"),
    "message_group_topic": (ALICE, "set the channel topic: topic!"),
    "message_channel_name": (
        "USLACKBOT",
        "renamed the channel from #private-test-1618886315905-2 to "
        "#private-test-1618886315905-2-5430",
    ),
    "message_channel_archive": ("USLACKBOT", "archived the channel"),
    "message_channel_unarchive": (ALICE, "unarchived the channel"),
    "message_channel_convert_to_public": (ALICE, "made the channel public"),
}


@pytest.mark.parametrize("name", sorted(SYSTEM))
async def test_channel_changes_are_system_events(room: WarRoom, name: str) -> None:
    actor, text = SYSTEM[name]
    added = await room.send(name)
    assert [(e.kind, e.actor) for e in added] == [(EventKind.SYSTEM, actor)], added
    assert added[0].text.startswith(text)
    timeline = await room.harness.driver.command("timeline all", user=BOB, channel=room.channel)
    assert f"_<@{actor}> {text}" in timeline.text  # told, not quoted as the person's words


async def test_an_edit_is_recorded_as_an_edit(room: WarRoom) -> None:
    await room.said(ALICE, "original message", "1665102338.901939")
    added = await room.send("message_changed")  # its message has no ts: previous_message's
    assert [(e.kind, e.text, e.message_ts) for e in added] == [
        (EventKind.MESSAGE_EDITED, "updated message", "1665102338.901939")
    ]
    await room.said(ALICE, "test", "1626342128.008700")
    added = await room.send("message_changed_thread_reply")
    assert [(e.kind, e.actor, e.text) for e in added] == [
        (EventKind.MESSAGE_EDITED, ALICE, "updated message")
    ]
    await room.said(ALICE, "Hello", "1355517523.000005")
    added = await room.send("docs_message_changed")  # no previous_message: `edited` says so
    assert [(e.kind, e.text) for e in added] == [(EventKind.MESSAGE_EDITED, "Hello, world!")]


async def test_an_unfurl_is_not_an_edit(room: WarRoom) -> None:
    link = "<https://jadeapptesting.slack.com/archives/C0WARROOM/p1663966292304369>"
    await room.said(ALICE, link.replace("C0WARROOM", room.channel), "1663969333.524439")
    assert await room.send("message_changed_unfurl") == []


@pytest.mark.parametrize(
    ("name", "ts"),
    [
        ("message_deleted", "1665368619.804829"),
        ("message_changed_tombstone", "1626774922.004400"),  # a thread parent deleted
        ("message_changed_tombstone_no_previous", "1626775604.004900"),  # previous: []
    ],
)
async def test_deletes_are_recorded_as_deletes(room: WarRoom, name: str, ts: str) -> None:
    await room.said(ALICE, "soon gone", ts)
    added = await room.send(name)
    assert [(e.kind, e.message_ts) for e in added] == [(EventKind.MESSAGE_DELETED, ts)]
    assert not [e for e in added if e.kind is EventKind.MESSAGE_EDITED]


ACKNOWLEDGED_ONLY = [
    "app_rate_limited",
    "channel_rename",
    "channel_archive",
    "channel_unarchive",
    "view_closed",
    "view_submission",  # a modal the bot did not open
    "shortcut",
    "message_action",
    "block_actions",  # a button the bot did not post
    "envelope_shortcut",
    "envelope_app_mention",  # not subscribed to; acknowledged if it comes
]


@pytest.mark.parametrize("name", ACKNOWLEDGED_ONLY)
async def test_what_the_bot_does_not_act_on_is_acknowledged(room: WarRoom, name: str) -> None:
    incident_before = await room.harness.store.get_incident(room.incident_id)
    calls_before = len(room.harness.slack.calls())
    outcome = await room.wire.send_fixture(name, channel=room.channel)
    assert outcome.acknowledged and not outcome.payload, outcome
    assert await room.harness.store.get_incident(room.incident_id) == incident_before
    assert room.harness.slack.calls()[calls_before:] == []
    assert room.harness.bot.services.chat.access_lost is None


async def test_an_options_request_gets_an_empty_list(room: WarRoom) -> None:
    outcome = await room.wire.send_fixture("block_suggestion", channel=room.channel)
    assert outcome.acknowledged and outcome.payload == {"options": []}


async def test_url_verification_echoes_the_challenge(harness: Harness) -> None:
    """HTTP only: Slack verifies a Request URL; Socket Mode has none."""
    wire = Wire(harness, "http")
    outcome = await wire.send_fixture("url_verification", channel="C0NONE")
    assert outcome.payload == {"challenge": load("url_verification").body["challenge"]}


@pytest.mark.parametrize("name", ["app_uninstalled", "tokens_revoked"])
async def test_losing_the_workspace_stops_posting(room: WarRoom, name: str) -> None:
    await room.send(name)
    chat = room.harness.bot.services.chat
    assert chat.access_lost is not None and name in chat.access_lost
    calls_before = len(room.harness.slack.calls())
    with pytest.raises(ChatError, match="Slack access is gone"):
        await chat.post(room.channel, "anyone there?")
    assert room.harness.slack.calls()[calls_before:] == []


async def test_someone_joining_gets_the_catch_up(room: WarRoom) -> None:
    await room.harness.bot.services.chat.invite(room.channel, [ALICE])  # someone pulls her in
    await room.send("member_joined_channel")  # Alice joins Bob's war room
    welcomes = [e for e in room.harness.slack.ephemerals(room.channel) if e["user"] == ALICE]
    assert len(welcomes) == 1 and "Welcome to the war room" in welcomes[0]["text"]


async def test_opening_app_home_publishes_it(room: WarRoom) -> None:
    await room.send("app_home_opened")
    assert ALICE in room.harness.slack.published_views()


async def test_a_real_socket_mode_command_envelope_gets_the_help(room: WarRoom) -> None:
    """python-slack-sdk's slash command envelope, as /incident with no text."""
    outcome = await room.wire.send_fixture("envelope_slash_command", channel=room.channel)
    assert outcome.acknowledged
    shown = (outcome.payload or {}).get("text", "") + "".join(
        str(r.get("text", "")) for r in room.harness.slack.responses()
    )
    assert "/incident declare" in shown


async def test_a_real_slash_command_body_gets_the_usage(room: WarRoom) -> None:
    """bolt-python's slash command body, as /incident: "Hi" is no subcommand."""
    outcome = await room.wire.send_fixture("slash_command", channel=room.channel)
    assert outcome.acknowledged and outcome.payload is not None
    assert outcome.payload.get("response_type") == "ephemeral"
    assert "Hi" in outcome.payload["text"] and "/incident" in outcome.payload["text"]
    assert len(await room.harness.bot.services.incidents.list_open()) == 1


def test_every_fixture_is_exercised() -> None:
    used = set(WORDS) | set(NOT_WORDS) | set(SYSTEM) | set(ACKNOWLEDGED_ONLY) | {
        "message_changed", "message_changed_thread_reply", "message_changed_unfurl",
        "message_deleted", "message_changed_tombstone", "message_changed_tombstone_no_previous",
        "block_suggestion", "url_verification", "app_uninstalled", "tokens_revoked",
        "member_joined_channel", "app_home_opened", "slash_command", "envelope_slash_command",
        "docs_message_changed",
    }
    assert set(fixture_names()) == used


async def test_slack_answering_token_revoked_stops_posting(harness: Harness) -> None:
    """Another process got the uninstall event: this one learns it from Slack's answer."""
    chat = harness.bot.services.chat
    harness.slack.revoke_token()
    with pytest.raises(ChatError, match="token_revoked"):
        await chat.post(harness.incidents_id, "first try")
    assert chat.access_lost is not None and "token_revoked" in chat.access_lost
    calls_before = len(harness.slack.calls())
    with pytest.raises(ChatError, match="Slack access is gone"):
        await chat.post(harness.incidents_id, "second try")
    assert len(harness.slack.calls()) == calls_before


async def test_every_fixture_has_the_same_outcome_over_http_and_socket_mode(
    harness: Harness,
) -> None:
    """Side by side, the whole corpus: each payload goes once over HTTP and once over the
    socket, each time into a fresh war room, and what Slack got back, what the timeline
    gained and which Web API methods the bot called must be the same."""
    wires = {t: await Wire(harness, t).open() for t in TRANSPORTS}
    results: dict[str, dict[str, object]] = {}
    try:
        for name in fixture_names():
            if name == "url_verification":  # HTTP only
                continue
            seen: dict[str, object] = {}
            for transport, wire in wires.items():
                channel = await harness.declare(f"Parity {name} {transport}", user=BOB)
                incident = await harness.bot.services.incidents.for_channel(channel)
                assert incident is not None
                before = len(await harness.store.events(incident.id))
                calls = len(harness.slack.calls())
                outcome = await wire.send_fixture(name, channel=channel)
                added = (await harness.store.events(incident.id))[before:]
                seen[transport] = (
                    outcome.acknowledged,
                    outcome.payload,
                    [(e.kind, e.actor, e.text) for _, e in added],
                    sorted({c.method for c in harness.slack.calls()[calls:]}),
                )
                await harness.bot.services.chat.access.restore()  # uninstall fixtures: undo
            results[name] = seen
    finally:
        for wire in wires.values():
            await wire.close()
    different = {n: s for n, s in results.items() if s["http"] != s["socket"]}
    assert different == {}
    assert len(results) == len(fixture_names()) - 1
