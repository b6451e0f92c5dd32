"""The one read rule for an incident (bot/incidents/access.py): the rule itself against a
recording membership port (cache, fail closed, admins), and the hole it closes, through
signed requests: `/incident timeline|summary|summary exec id:INC-…` typed in a public channel
by someone outside a private incident's channel answers with its label only."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.errors import ChatError
from bot.incidents.access import IncidentAccess, PrivateIncident
from bot.incidents.models import Incident, Severity
from sandbox.slack_emulator import SlackEmulator
from tests.conftest import Harness, running_bot
from tests.test_lifecycle import redis_dump

ALICE, BOB, CHARLIE, DIANA = "U0ALICE", "U0BOB", "U0CHARLIE", "U0DIANA"
ADMINS = "S0ADMINS"
SECRET = "quartz-heron-5519"
TITLE = f"Customer ledger copied to {SECRET} bucket"


class Members:
    """Who is in which channel, counting lookups; `broken` makes every lookup fail."""

    def __init__(self, channels: dict[str, list[str]]) -> None:
        self.channels = channels
        self.lookups = 0
        self.broken = False

    async def channel_members(self, channel_id: str) -> list[str]:
        self.lookups += 1
        if self.broken:
            raise ChatError("Slack said: ratelimited", code="ratelimited")
        return list(self.channels.get(channel_id, []))


def incident(*, private: bool) -> Incident:
    return Incident(
        id="INC-20261123-001",
        title=TITLE,
        severity=Severity.SEV2,
        channel_id="C0WAR",
        channel_name="inc-war",
        declared_by=ALICE,
        declared_at=datetime(2026, 11, 23, 14, 0, tzinfo=UTC),
        private=private,
    )


async def only_diana(user_id: str) -> bool:
    return user_id == DIANA


class Ticks:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


async def test_members_and_admins_read_a_private_incident_and_nobody_else() -> None:
    members = Members({"C0WAR": [ALICE, BOB]})
    access = IncidentAccess(members=members, is_admin=only_diana)
    private, public = incident(private=True), incident(private=False)
    assert [await access.can_read(private, u) for u in (ALICE, BOB, CHARLIE, DIANA)] == [
        True, True, False, True,
    ]
    assert await access.can_read(private, None) is False  # nobody in particular: the label
    assert await access.can_read(private, "") is False
    for user in (ALICE, CHARLIE, None):
        assert await access.can_read(public, user)  # public means public
    assert await access.title_for(private, CHARLIE) == "Private incident INC-20261123-001 (SEV2)"
    assert await access.title_for(private, BOB) == TITLE
    with pytest.raises(PrivateIncident) as refused:
        await access.require_change(private, CHARLIE)
    assert SECRET not in refused.value.message
    assert "Private incident INC-20261123-001 (SEV2)" in refused.value.message
    assert await access.readable([private], CHARLIE) == {private.id: False}


async def test_membership_is_cached_briefly_and_a_failed_lookup_refuses_without_caching() -> None:
    members, ticks = Members({"C0WAR": [ALICE]}), Ticks()
    access = IncidentAccess(members=members, ttl=30.0, now=ticks)
    private = incident(private=True)
    assert await access.can_read(private, ALICE)
    assert not await access.can_read(private, BOB)
    assert members.lookups == 1  # one lookup for both questions
    members.channels["C0WAR"].append(BOB)
    ticks.t += 29
    assert not await access.can_read(private, BOB)  # still the cached answer
    ticks.t += 2
    assert await access.can_read(private, BOB) and members.lookups == 2
    access.forget("C0WAR")  # someone joined: ask again at once
    members.broken = True
    assert not await access.can_read(private, ALICE)  # Slack failing: fail closed
    assert not await access.can_read(private, ALICE)
    assert members.lookups == 4  # a failure is not remembered
    members.broken = False
    assert await access.can_read(private, ALICE)
    # a public incident costs no lookup at all
    assert await access.can_read(incident(private=False), CHARLIE) and members.lookups == 5


@pytest.fixture
async def bot(slack: SlackEmulator, redis_url: str) -> AsyncIterator[Harness]:
    slack.add_usergroup("incident-admins", [DIANA], group_id=ADMINS)
    async with running_bot(slack, redis_url, admin_usergroup=ADMINS) as h:
        yield h


async def test_reading_a_private_incident_by_id_from_a_public_channel_shows_only_its_label(
    bot: Harness,
) -> None:
    h = bot
    channel = await h.declare(f"{TITLE} sev:2 private:yes", user=ALICE)
    await h.driver.command(f"note {SECRET} keys rotated", user=ALICE, channel=channel)
    await h.driver.command(f"role ops <@{BOB}>", user=ALICE, channel=channel)
    inc = await h.bot.services.incidents.for_channel(channel)
    assert inc is not None and inc.private
    label = f"Private incident {inc.id} (SEV2)"
    reads = [f"timeline id:{inc.id}", f"timeline all id:{inc.id}",
             f"summary id:{inc.id}", f"summary exec id:{inc.id}"]

    before = redis_dump(h)
    calls = len(h.slack.calls())
    for text in reads:  # an outsider, in #incidents
        reply = await h.driver.command(text, user=CHARLIE, channel=h.incidents_id)
        assert reply.ephemeral and label in reply.text, (text, reply.text)
        assert SECRET not in reply.text and inc.channel_id not in reply.text
    assert redis_dump(h) == before
    # what the bot sent anywhere while answering the outsider: nothing with the secret
    assert not [c for c in h.slack.calls()[calls:] if SECRET in json.dumps(c.args)]

    for reader in (ALICE, BOB, DIANA):  # the IC, a member, an admin outside the channel
        reply = await h.driver.command(f"timeline id:{inc.id}", user=reader, channel=h.incidents_id)
        assert SECRET in reply.text and label not in reply.text, (reader, reply.text)
        reply = await h.driver.command(
            f"summary exec id:{inc.id}", user=reader, channel=h.incidents_id
        )
        assert SECRET in reply.text, (reader, reply.text)
