"""The "Resolve anyway" button carries a reference, never the change: a resolve summary of
3,000 characters (Slack caps a button value at 2,000, and the emulator refuses more) is
asked, confirmed and resolved whole; the reference is claimed once, and an expired, reused,
foreign or unknown one is answered privately and changes nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from bot.errors import ConfirmationNeeded
from bot.incidents.confirmations import CONFIRMATION_TTL
from bot.incidents.flows import Change, ChangeRequest
from bot.incidents.models import Incident, Status
from bot.slack.blocks import CONFIRM_CHANGE_ACTION
from bot.store import keys
from sandbox.driver import Reply
from sandbox.slack_emulator import SlackEmulator
from tests.conftest import Harness, running_bot

ALICE, BOB = "U0ALICE", "U0BOB"
CHANGING = ("chat.postMessage", "chat.update", "conversations.setTopic", "conversations.archive")


@pytest.fixture
async def h(slack: SlackEmulator, redis_url: str) -> AsyncIterator[Harness]:
    async with running_bot(slack, redis_url) as harness:

        async def metrics_still_bad(request: ChangeRequest) -> None:
            raise ConfirmationNeeded(
                "The error rate is still above its threshold.", confirm_label="Resolve anyway"
            )

        harness.bot.services.flows.guard(Change.RESOLVED, "metrics still bad", metrics_still_bad)
        yield harness


async def incident_in(h: Harness, channel: str) -> Incident:
    incident = await h.bot.services.incidents.for_channel(channel)
    assert incident is not None
    return incident


def the_button(reply: Reply) -> dict[str, Any]:
    [question] = [r for r in reply.responses if r.get("blocks")]
    [button] = question["blocks"][-1]["elements"]
    assert button["action_id"] == CONFIRM_CHANGE_ACTION and button["text"]["text"] == (
        "Resolve anyway"
    )
    return dict(button)


async def click(h: Harness, value: str, channel: str, *, user: str = ALICE, n: int = 0) -> Reply:
    """Each click from a message of its own (a double click within seconds is dropped)."""
    return await h.driver.click(
        CONFIRM_CHANGE_ACTION, value, user=user, channel=channel, message_ts=f"1700000000.{n:06d}"
    )


def changing_calls(h: Harness, since: int) -> list[str]:
    return [c.method for c in h.slack.calls()[since:] if c.method in CHANGING]


async def test_a_3000_character_summary_is_confirmed_through_a_reference(h: Harness) -> None:
    channel = await h.declare("Checkout errors sev:2", user=ALICE)
    summary = ("Rolled back v2.3.4 and drained the pool. " * 80)[:3000].strip()
    assert len(summary) > 2000
    question = await h.driver.command(f"resolve {summary}", user=ALICE, channel=channel)
    assert "still above its threshold" in question.text
    button = the_button(question)  # the emulator refuses a value over 2,000 characters
    assert len(button["value"]) <= 64 and summary[:40] not in button["value"]
    kept = keys.pending_change(button["value"])
    ttl_ms = await h.store.redis.pttl(kept)
    assert CONFIRMATION_TTL - timedelta(minutes=1) < timedelta(milliseconds=ttl_ms)
    assert timedelta(milliseconds=ttl_ms) <= CONFIRMATION_TTL
    assert (await incident_in(h, channel)).status is Status.INVESTIGATING

    done = await click(h, button["value"], channel)
    assert done.status == 200 and "Done" in done.text, done.text
    resolved = await incident_in(h, channel)
    assert resolved.status is Status.RESOLVED and resolved.resolution_summary == summary

    # the same button again: claimed already, told so, nothing changes
    calls = len(h.slack.calls())
    again = await click(h, button["value"], channel, n=1)
    assert "already used" in again.text and again.responses[-1]["response_type"] == "ephemeral"
    assert await incident_in(h, channel) == resolved
    assert changing_calls(h, calls) == []


async def test_an_expired_foreign_or_unknown_button_changes_nothing(h: Harness) -> None:
    channel = await h.declare("Search latency sev:2", user=ALICE)
    first = the_button(await h.driver.command("resolve Index rebuilt", user=ALICE, channel=channel))
    second = the_button(await h.driver.command("resolve Cache warmed", user=ALICE, channel=channel))
    before = await incident_in(h, channel)
    calls = len(h.slack.calls())

    await h.store.redis.delete(keys.pending_change(first["value"]))  # as Redis expires it
    expired = await click(h, first["value"], channel)
    assert "expired" in expired.text and "run the command again" in expired.text
    foreign = await click(h, second["value"], channel, user=BOB, n=1)
    assert f"asked of <@{ALICE}>" in foreign.text
    legacy = json.dumps({"change": "resolved", "incident": before.id, "arguments": {}})
    unknown = await click(h, legacy, channel, n=2)
    assert "not one I can use" in unknown.text
    assert await incident_in(h, channel) == before
    assert changing_calls(h, calls) == []

    # the question Bob could not answer is still Alice's to confirm
    mine = await click(h, second["value"], channel, n=3)
    assert "Done" in mine.text, mine.text
    resolved = await incident_in(h, channel)
    assert resolved.status is Status.RESOLVED and resolved.resolution_summary == "Cache warmed"
