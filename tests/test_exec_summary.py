"""`/incident summary exec` through signed requests: the record's facts without a model, the
same facts reworded by the model (the Anthropic stand-in), and inventions kept out."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest

from bot.clock import ManualClock
from sandbox.anthropic_standin import INVENTED, AnthropicStandin
from sandbox.slack_emulator import SlackEmulator
from tests.conftest import Harness, running_bot

ALICE, BOB = "U0ALICE", "U0BOB"
DATES = re.compile(r"<!date\^\d+\^[^>]*>")


@pytest.fixture(scope="module")
def standin() -> Iterator[AnthropicStandin]:
    with AnthropicStandin() as s:
        yield s


def form(what: str, impact: str, next_steps: str) -> dict[str, dict[str, object]]:
    def text(value: str) -> dict[str, object]:
        return {"value": {"type": "plain_text_input", "value": value}}

    return {
        "what_changed": text(what),
        "impact": text(impact),
        "next_steps": text(next_steps),
        "next_update": {"value": {"type": "static_select",
                                  "selected_option": {"value": "30m"}}},
    }


async def run_incident(h: Harness, clock: ManualClock, *, services: str = "checkout") -> str:
    """A SEV1 with an update from the form; returns its channel."""
    channel = await h.declare(f"Checkout failing for card payments sev:1 services:{services}",
                              user=ALICE)
    incident = await h.bot.services.incidents.for_channel(channel)
    assert incident is not None
    clock.advance(timedelta(minutes=12))
    await h.driver.submit_view(
        "post_status_update",
        form("The payment provider's outage is confirmed",
             "Card payments fail; other payment methods work",
             "Switch card payments to the backup provider"),
        user=ALICE,
        private_metadata=incident.id,
    )
    clock.advance(timedelta(minutes=5))
    return channel


@pytest.fixture
async def plain(slack: SlackEmulator, redis_url: str, clock: ManualClock) -> AsyncIterator[Harness]:
    async with running_bot(slack, redis_url, clock=clock) as h:
        yield h


async def test_without_a_model_the_record_answers_every_question(
    plain: Harness, clock: ManualClock
) -> None:
    channel = await run_incident(plain, clock)
    incident = await plain.bot.services.incidents.for_channel(channel)
    assert incident is not None
    reply = await plain.driver.command("summary exec", user=BOB, channel=channel)
    text = reply.text
    assert reply.ephemeral
    assert "*What is affected:* Customers are seriously affected (checkout)." in text
    assert "Card payments fail; other payment methods work" in text
    assert f"*Since:* <!date^{int(incident.declared_at.timestamp())}^" in text
    assert "17m 0s so far" in text
    assert "*Current status:* We are still finding out what is wrong." in text
    assert "*What is being done:* Switch card payments to the backup provider" in text
    assert "no Comms lead yet" in text and "no Ops lead yet" in text
    due = incident.declared_at + timedelta(minutes=12 + 30)
    assert f"*Next update:* by <!date^{int(due.timestamp())}^" in text
    assert "Written from the incident record" in text and "no model is configured" in text
    catch_up = await plain.driver.command("summary", user=BOB, channel=channel)
    assert "Executive summary" not in catch_up.text and "Executive summary" in text


async def test_exec_summary_of_a_resolved_incident_with_roles_filled(
    plain: Harness, clock: ManualClock
) -> None:
    channel = await plain.declare("Search results stale sev:3 services:search,indexer",
                                  user=BOB)
    await plain.driver.command(f"role comms <@{ALICE}>", user=BOB, channel=channel)
    await plain.driver.command(f"role ops <@{ALICE}>", user=BOB, channel=channel)
    await plain.driver.command("note Reindex started from the last snapshot", user=BOB,
                               channel=channel)
    clock.advance(timedelta(hours=1, minutes=5))
    await plain.driver.command("resolve Reindexed", user=BOB, channel=channel)
    text = (await plain.driver.command("summary exec", user=ALICE, channel=channel)).text
    assert "Some customers see a minor problem (search, indexer)." in text
    assert "resolved" in text and "after 1h 5m" in text
    assert "*Current status:* It is resolved." in text
    assert "Reindex started from the last snapshot" in text
    assert "Nothing is needed from you right now." in text
    assert "*Next update:* none: it is resolved" in text


async def test_bad_words_are_refused_with_usage(plain: Harness, clock: ManualClock) -> None:
    channel = await run_incident(plain, clock)
    reply = await plain.driver.command("summary banana", user=BOB, channel=channel)
    assert reply.ephemeral and "is not understood" in reply.text and "Usage" in reply.text
    outside = await plain.driver.command("summary exec", user=BOB, channel="C0INCIDENTS")
    assert "not an incident channel" in outside.text


async def test_the_model_rewords_the_same_facts_and_inventions_never_reach_slack(
    slack: SlackEmulator, redis_url: str, clock: ManualClock, standin: AnthropicStandin
) -> None:
    async with running_bot(
        slack, redis_url, clock=clock, anthropic_api_key=standin.api_key,
        anthropic_base_url=standin.base_url,
    ) as h:
        channel = await run_incident(h, clock)
        standin.reset("faithful")
        worded = (await h.driver.command("summary exec", user=BOB, channel=channel)).text
        assert "worded by" in worded and "In plain words: Customers are seriously" in worded
        assert "The team's next step: Switch card payments" in worded
        [request] = [r for r in standin.requests
                     if (r.body.get("tools") or [{}])[0].get("name") == "write_exec_summary"]
        assert "Card payments fail" in request.prompt and "<!date" not in request.prompt

        standin.reset("invent_all")
        checked = (await h.driver.command("summary exec", user=BOB, channel=channel)).text
        for invented in INVENTED["invent_all"]:
            assert invented not in checked, invented
        assert "Kept the record's words" in checked
        assert "*What is affected:* Customers are seriously affected (checkout)." in checked
        # times come from the record in every version
        assert DATES.findall(checked) == DATES.findall(worded)

        standin.reset("overloaded")
        fallback = (await h.driver.command("summary exec", user=BOB, channel=channel)).text
        assert "Not reworded by a model" in fallback
        assert DATES.findall(fallback) == DATES.findall(worded)
