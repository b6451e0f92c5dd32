"""A whole incident on a 3-master Redis Cluster the tests start (REDIS_CLUSTER=true, REDIS_URL
naming one node): declare → roles → timeline → action item → resolve → postmortem →
patterns, then the reminder worker on the same cluster. Incidents land in different slots
(different masters); nothing may fail with CROSSSLOT or MOVED."""

from __future__ import annotations

from datetime import UTC, datetime

from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot

from bot.clock import ManualClock
from bot.store import keys
from bot.wiring import build_scanner
from sandbox.slack_emulator import SlackEmulator
from tests.conftest import make_settings, running_bot

ALICE, BOB, CHARLIE = "U0ALICE", "U0BOB", "U0CHARLIE"


def dms_to(slack: SlackEmulator, user: str) -> str:
    chans = [c for c in slack.channels() if c.is_im and c.im_user == user]
    return "\n".join(m.text for c in chans for m in slack.messages(c.id))


MONDAY = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # the bot's clock: the suite runs any day


async def test_a_whole_incident_on_a_redis_cluster(slack: SlackEmulator, cluster_url: str) -> None:
    clock = ManualClock(MONDAY)
    async with running_bot(slack, cluster_url, clock=clock, redis_cluster=True) as h:
        store = h.store
        assert isinstance(store.db.client, RedisCluster)
        d = h.driver

        first = await h.declare("Users list slow N+1 query services:api sev:2", user=ALICE)
        reply = await d.command(f"role ops <@{BOB}|bob>", user=ALICE, channel=first)
        assert "ops" in reply.text.lower()
        said = await d.message(user=BOB, channel=first, text="db pool at 100%, rolling back")
        reply = await d.command(
            f"action add <@{CHARLIE}> Add query count lint rule due:1d priority:P1",
            user=ALICE, channel=first,
        )
        assert "AI-0001" in reply.text
        await d.command("resolve rolled back the ORM upgrade", user=ALICE, channel=first)
        await d.command("postmortem", user=ALICE, channel=first)

        incident_id = await store.incident_id_for_channel(first)
        assert incident_id is not None
        incident = await store.get_incident(incident_id)
        assert incident.status.value == "resolved"
        assert incident.roles.get("ops") == BOB  # type: ignore[call-overload]
        assert await store.has_message(incident_id, said)
        texts = [e.event.text for e in await store.timeline(incident_id)]
        assert "db pool at 100%, rolling back" in texts
        item = await store.actions.get("AI-0001")
        assert item.owner == CHARLIE and item.incident_id == incident_id
        assert await store.postmortems.latest(incident_id) is not None
        uploaded = [f.name for f in slack.uploaded_files() if f.completed]
        assert any(name.startswith(f"postmortem-{incident_id}") for name in uploaded)

        second = await h.declare("Org dashboard N+1 query services:api sev:3", user=BOB)
        await d.command("resolve fixed the N+1", user=BOB, channel=second)
        second_id = await store.incident_id_for_channel(second)
        assert second_id is not None
        assert key_slot(keys.incident(incident_id).encode()) != key_slot(
            keys.incident(second_id).encode()
        )
        reply = await d.command(
            "patterns service:api since:6m", user="U0DIANA", channel=h.incidents_id
        )
        assert "*2* incidents" in reply.text
        assert await h.bot.services.incidents.list_open() == []

        # the worker on the same cluster: the overdue reminder goes out once
        clock.set(datetime(2026, 11, 26, 1, 0, tzinfo=UTC))  # Thursday 10:00 in Tokyo
        scanner = build_scanner(
            make_settings(slack, cluster_url, redis_cluster=True), clock=clock
        )
        try:
            first_scan = await scanner.scan()
            again = await scanner.scan()
        finally:
            await scanner.store.aclose()
        assert [i for i, _ in first_scan.sent] == ["AI-0001"]
        assert again.sent == []
        assert "AI-0001" in dms_to(slack, CHARLIE)
