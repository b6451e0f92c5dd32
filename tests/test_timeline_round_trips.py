"""What Slack is acknowledged for costs one round trip to Redis: a message, an edit, a
delete, a pin, a :pushpin: and a channel change are each stored by one script (the dedup
check, the append, the index or the event's marker together), sent in one pipeline after the
search index's script for its words, and Slack's retry of any of them is dropped by that
same script. Counted on the bot's own Redis client, through the real
HTTP endpoint with signed requests; structural, not a timing (speed is bench/'s)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from redis.asyncio.connection import AbstractConnection

from bot.timeline.models import EventKind
from tests.conftest import Harness

ALICE, BOB = "U0ALICE", "U0BOB"


def one_script(sent: list[str]) -> bool:
    """One write to Redis: the one script that stores the event, after the search index's
    script for its words (when it has words) in the same write."""
    return sent in (["EVAL"], ["pipeline:EVAL,EVAL"])


def command_names(packed: Any) -> list[str]:
    """The names of the commands in one write to Redis (RESP arrays of bulk strings)."""
    data = packed if isinstance(packed, bytes | bytearray | memoryview) else b"".join(
        bytes(chunk) for chunk in packed)
    data, names, at = bytes(data), [], 0
    while at < len(data):
        end = data.index(b"\r\n", at)
        count, at = int(data[at + 1:end]), end + 2  # *N
        for i in range(count):
            end = data.index(b"\r\n", at)
            size, at = int(data[at + 1:end]), end + 2  # $len
            if i == 0:
                names.append(data[at:at + size].decode().upper())
            at += size + 2
    return names


@pytest.fixture
def round_trips(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every write the bot's store makes to its Redis from now on, on any of its connections
    (the pool's and the script batch's own): a command's name, or `pipeline:` and the
    commands sent together in that one write."""
    sent: list[str] = []
    kwargs = harness.store.db.client.connection_pool.connection_kwargs
    server = (kwargs.get("host"), kwargs.get("port"), kwargs.get("db", 0))
    send = AbstractConnection.send_packed_command

    async def counted_send(self: Any, command: Any, check_health: bool = True) -> None:
        if (getattr(self, "host", None), getattr(self, "port", None), self.db) == server:
            names = command_names(command)
            sent.append(names[0] if len(names) == 1 else "pipeline:" + ",".join(names))
        await send(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counted_send)
    yield sent


async def test_each_acknowledged_timeline_event_is_one_script_and_its_retry_changes_nothing(
    harness: Harness, round_trips: list[str]
) -> None:
    channel = await harness.declare(user=ALICE)
    ts = await harness.driver.message(user=BOB, channel=channel, text="DB failover started")
    d = harness.driver
    edit = {"type": "message", "subtype": "message_changed", "channel": channel,
            "message": {"type": "message", "user": BOB, "text": "DB failover done", "ts": ts,
                        "edited": {"user": BOB, "ts": ts}},
            "previous_message": {"type": "message", "user": BOB, "text": "DB failover started",
                                 "ts": ts}, "event_ts": "1795770000.000900"}
    pin = {"type": "pin_added", "user": ALICE, "channel_id": channel,
           "item": {"type": "message", "channel": channel, "message": {"ts": ts}},
           "event_ts": "1795770000.001000"}
    topic = {"type": "message", "subtype": "channel_topic", "channel": channel, "user": ALICE,
             "topic": "failover", "ts": "1795770000.001100", "event_ts": "1795770000.001100"}
    for event, event_id in ((edit, "Ev0EDIT1"), (pin, "Ev0PIN1"), (topic, "Ev0TOPIC1")):
        round_trips.clear()
        assert await d.event(event, event_id=event_id) == 200
        assert one_script(round_trips), (event_id, round_trips)
        round_trips.clear()
        assert await d.event(event, event_id=event_id, retry_num=1) == 200
        assert one_script(round_trips), (event_id, round_trips)
    round_trips.clear()
    assert await d.event({"type": "message", "channel": channel, "user": BOB, "ts": ts,
                          "text": "DB failover started", "event_ts": ts},
                         event_id="Ev0MSG1", retry_num=1) == 200
    assert one_script(round_trips), round_trips

    incident_id = await harness.store.incident_id_for_channel(channel)
    assert incident_id is not None
    kinds = [e.kind for _, e in await harness.store.events(incident_id)]
    assert kinds.count(EventKind.MESSAGE) == 1
    assert kinds.count(EventKind.MESSAGE_EDITED) == 1
    assert kinds.count(EventKind.KEY_MARKED) == 1
    assert kinds.count(EventKind.SYSTEM) == 1
    [entry] = [e for e in await harness.store.timeline(incident_id)
               if e.event.kind is EventKind.MESSAGE]
    assert entry.event.text == "DB failover done" and entry.edited and entry.event.key
