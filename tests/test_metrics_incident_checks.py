"""Verify before resolve, impact start from the metrics and the relapse watch, through the
real bot (signed requests, the emulator, Redis) against a real Prometheus in the
OpenTelemetry + HikariCP world, with the scenario's clock moved by hand."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.clock import ManualClock
from bot.incidents.models import Incident, Status
from bot.metrics.install import build_relapse_watcher
from bot.slack.blocks import (
    CONFIRM_CHANGE_ACTION,
    IMPACT_START_ACTION,
    REOPEN_ACTION,
    text_blocks,
)
from sandbox.prometheus_scenario import PrometheusServer
from sandbox.slack_emulator import SlackEmulator
from tests.conftest import Harness, running_bot
from tests.prometheus_fixture import micrometer_prometheus, otel_prometheus  # noqa: F401

ALICE = "U0ALICE"


async def incident_in(h: Harness, channel: str) -> Incident:
    incident = await h.bot.services.incidents.for_channel(channel)
    assert incident is not None
    return incident


def buttons(h: Harness, channel: str, action_id: str) -> list[tuple[str, str]]:
    """(message ts, button value) of every message in `channel` with that button."""
    found: list[tuple[str, str]] = []
    for m in h.slack.messages(channel):
        for block in m.blocks:
            for el in block.get("elements", []) if block.get("type") == "actions" else []:
                if el.get("action_id") == action_id:
                    found.append((m.ts, el["value"]))
    return found


async def test_resolve_is_held_while_the_metrics_are_bad_by_every_route(
    slack: SlackEmulator, redis_url: str, otel_prometheus: PrometheusServer
) -> None:
    times = otel_prometheus.times
    assert times is not None
    clock = ManualClock(times.incident_at)
    async with running_bot(slack, redis_url, clock=clock, prometheus_url=otel_prometheus.url) as h:
        channel = await h.declare("Ledger failing services:ledger-svc", user=ALICE)
        for words in ("resolve Pool resized", "status resolved"):
            reply = await h.driver.command(words, user=ALICE, channel=channel)
            assert "The metrics of INC-" in reply.text and "are still bad" in reply.text
            assert "ledger-svc 5xx at 7.00/s (17.5% of requests) [CRITICAL]" in reply.text
            assert "ledger-svc P99 2400ms [HIGH]" in reply.text
            assert "ledger-svc DB pool 100% [CRITICAL]" in reply.text
            assert (await incident_in(h, channel)).status is Status.INVESTIGATING
        [button] = reply.responses[-1]["blocks"][-1]["elements"]
        assert button["text"]["text"] == "Resolve anyway"
        incident = await incident_in(h, channel)
        assert incident.header_ts is not None
        await h.driver.click(
            CONFIRM_CHANGE_ACTION,
            button["value"],
            user=ALICE,
            channel=channel,
            message_ts=incident.header_ts,
        )
        assert (await incident_in(h, channel)).status is Status.RESOLVED

        # an incident whose services are healthy resolves straight away
        quiet = await h.declare("Quotes odd services:quote-engine", user=ALICE)
        done = await h.driver.command("resolve False alarm", user=ALICE, channel=quiet)
        assert "still bad" not in done.text
        assert (await incident_in(h, quiet)).status is Status.RESOLVED


async def test_a_dead_prometheus_never_blocks_a_resolve(
    slack: SlackEmulator, redis_url: str
) -> None:
    async with running_bot(slack, redis_url, prometheus_url="http://127.0.0.1:1") as h:
        channel = await h.declare("Ledger failing services:ledger-svc", user=ALICE)
        reply = await h.driver.command("resolve Fixed", user=ALICE, channel=channel)
        assert "Traceback" not in reply.text
        assert (await incident_in(h, channel)).status is Status.RESOLVED


async def test_impact_start_is_offered_and_recorded(
    slack: SlackEmulator, redis_url: str, micrometer_prometheus: PrometheusServer
) -> None:
    times = micrometer_prometheus.times
    assert times is not None
    clock = ManualClock(times.incident_at)
    async with running_bot(
        slack, redis_url, clock=clock, prometheus_url=micrometer_prometheus.url
    ) as h:
        channel = await h.declare("Invoices failing services:invoice-hub", user=ALICE)
        [(ts, value)] = buttons(h, channel, IMPACT_START_ACTION)
        offer = json.loads(value)
        # invoice-hub's 5xx crossed HIGH (2.5/s) at the ramp's 90 s row
        crossed = times.ramp_start + timedelta(seconds=90)
        assert offer["at"] == crossed.isoformat() and offer["service"] == "invoice-hub"
        text = next(m.text for m in h.slack.messages(channel) if m.ts == ts)
        assert "invoice-hub first crossed HIGH at <!date^" in text
        assert "4 min before the declaration" in text  # 3.5 min, declared at incident_at
        await h.driver.command("check", user=ALICE, channel=channel, command="/metrics")
        assert len(buttons(h, channel, IMPACT_START_ACTION)) == 1  # offered once, not per check
        await h.driver.click(IMPACT_START_ACTION, value, user=ALICE, channel=channel, message_ts=ts)
        incident = await incident_in(h, channel)
        assert incident.impact_started_at == crossed
        assert incident.started_at == crossed  # TTD, TTM and TTR count from it now
        # asked again (a check in the channel), nothing earlier is found: no new offer
        await h.driver.command("check", user=ALICE, channel=channel, command="/metrics")
        assert len(buttons(h, channel, IMPACT_START_ACTION)) == 1
        # a healthy service's incident gets no offer
        quiet = await h.declare("Rota slow services:rota-planner", user=ALICE)
        assert buttons(h, quiet, IMPACT_START_ACTION) == []


async def test_declare_says_what_it_read_in_one_message_right_after_the_header(
    slack: SlackEmulator, redis_url: str, micrometer_prometheus: PrometheusServer
) -> None:
    """Similar past incidents, the metrics snapshot and the impact-start offer are read
    beside declare's first Slack calls and posted together, in that order, after the header
    (one round trip after it, instead of one each)."""
    times = micrometer_prometheus.times
    assert times is not None
    clock = ManualClock(times.healthy_at)  # an earlier incident of the service, then this one
    async with running_bot(
        slack, redis_url, clock=clock, prometheus_url=micrometer_prometheus.url,
        snapshot_on_declare=True,
    ) as h:
        earlier = await h.declare("Invoices failing services:invoice-hub", user=ALICE)
        await h.driver.command("resolve Fixed the retries", user=ALICE, channel=earlier)
        clock.set(times.incident_at)
        channel = await h.declare("Invoices failing again services:invoice-hub", user=ALICE)
        header, said = h.slack.messages(channel)  # nothing else in the channel
        assert header.ts == (await incident_in(h, channel)).header_ts
        sections = [
            str(b["text"]["text"]) for b in said.blocks if b["type"] == "section"
        ]
        similar = next(i for i, t in enumerate(sections) if "similar past incident" in t)
        snapshot = next(i for i, t in enumerate(sections) if t.startswith("```"))
        offer = next(i for i, t in enumerate(sections) if "first crossed HIGH" in t)
        assert similar < snapshot < offer
        assert said.blocks[-1]["elements"][0]["action_id"] == IMPACT_START_ACTION
        assert sum(1 for b in said.blocks if b["type"] == "divider") == 2
        # posted once the header was answered, never beside it
        posts = [c for c in slack.calls("chat.postMessage") if c.args.get("channel") == channel]
        assert [c.args.get("text") == said.text for c in posts] == [False, True]
        assert posts[1].arrived >= posts[0].answered
        events = [e for _, e in await h.store.events((await incident_in(h, channel)).id)]
        assert any(e.kind.value == "metrics" for e in events)  # the snapshot's readings


async def test_relapse_is_posted_once_and_reopen_reopens(
    slack: SlackEmulator, redis_url: str, otel_prometheus: PrometheusServer
) -> None:
    times = otel_prometheus.times
    assert times is not None
    clock = ManualClock(times.healthy_at)
    async with running_bot(slack, redis_url, clock=clock, prometheus_url=otel_prometheus.url) as h:
        channel = await h.declare("Ledger blip services:ledger-svc", user=ALICE)
        await h.driver.command("resolve Blip", user=ALICE, channel=channel)
        assert (await incident_in(h, channel)).status is Status.RESOLVED
        settings = h.bot.services.settings
        chat = h.bot.services.chat
        watchers = [
            build_relapse_watcher(settings, store=h.store, chat=chat, clock=clock)
            for _ in range(2)  # two worker replicas (or one worker, restarted)
        ]
        assert watchers[0] is not None and watchers[1] is not None
        assert await watchers[0].scan() == []  # still healthy: nothing to say
        incidents_before = len(h.slack.messages("incidents"))

        clock.set(times.incident_at)  # 10 minutes after the resolve, ledger-svc is back
        posted = [await w.scan() for w in (*watchers, *watchers)]  # type: ignore[union-attr]
        incident = await incident_in(h, channel)
        assert posted == [[incident.id], [], [], []]
        relapses = buttons(h, channel, REOPEN_ACTION)
        assert len(relapses) == 1
        text = next(m.text for m in h.slack.messages(channel) if m.ts == relapses[0][0])
        assert f"Relapse on {incident.id}" in text
        assert (
            "ledger-svc 5xx at 7.00/s (17.5% of requests) [CRITICAL]" in text
            and "back 10 min after" in text
        )
        announced = h.slack.messages("incidents")[incidents_before:]
        assert [m.text for m in announced] == [text]

        ts, value = relapses[0]
        await h.driver.click(REOPEN_ACTION, value, user=ALICE, channel=channel, message_ts=ts)
        assert (await incident_in(h, channel)).status is Status.INVESTIGATING
        assert await h.store.relapse.watched(clock()) == []


async def test_a_private_incidents_relapse_is_its_label_in_the_incidents_channel(
    slack: SlackEmulator, redis_url: str, otel_prometheus: PrometheusServer
) -> None:
    times = otel_prometheus.times
    assert times is not None
    clock = ManualClock(times.healthy_at)
    async with running_bot(
        slack, redis_url, clock=clock, prometheus_url=otel_prometheus.url
    ) as h:
        channel = await h.declare(
            "Ledger keys leaked services:ledger-svc sev:2 private:yes", user=ALICE
        )
        await h.driver.command("resolve rotated", user=ALICE, channel=channel)
        incident = await incident_in(h, channel)
        watcher = build_relapse_watcher(
            h.bot.services.settings, store=h.store, chat=h.bot.services.chat, clock=clock
        )
        assert watcher is not None
        before = len(h.slack.messages("incidents"))
        clock.set(times.incident_at)
        assert await watcher.scan() == [incident.id]
        inside = next(m.text for m in h.slack.messages(channel) if "Relapse" in m.text)
        assert "Ledger keys leaked" in inside and "ledger-svc 5xx" in inside
        [outside] = [m.text for m in h.slack.messages("incidents")[before:]]
        assert outside == (
            f":rotating_light: Relapse on :lock: Private incident {incident.id} (SEV2): its "
            "metrics are bad again, 10 min after it was resolved."
        )


async def test_the_watch_ends_after_relapse_watch(
    slack: SlackEmulator, redis_url: str, otel_prometheus: PrometheusServer
) -> None:
    times = otel_prometheus.times
    assert times is not None
    clock = ManualClock(times.healthy_at)
    async with running_bot(
        slack,
        redis_url,
        clock=clock,
        prometheus_url=otel_prometheus.url,
        relapse_watch=timedelta(minutes=5),
    ) as h:
        channel = await h.declare("Ledger blip services:ledger-svc", user=ALICE)
        await h.driver.command("resolve Blip", user=ALICE, channel=channel)
        watcher = build_relapse_watcher(
            h.bot.services.settings, store=h.store, chat=h.bot.services.chat, clock=clock
        )
        assert watcher is not None
        clock.set(times.incident_at)  # 10 min later: past the 5-minute watch
        assert await watcher.scan() == []
        assert buttons(h, channel, REOPEN_ACTION) == []


def test_a_long_report_is_cut_into_sections_slack_accepts() -> None:
    lines = [f"svc-{n:03d}  {n * 1.5:8.2f} errors/sec [HIGH]" + " " * 8 for n in range(180)]
    blocks = text_blocks("```\n" + "\n".join(lines) + "\n```")
    texts = [str(b["text"]["text"]) for b in blocks]
    assert len(texts) > 1 and all(len(t) <= 3000 for t in texts)
    assert all(t.startswith("```\n") and t.endswith("\n```") for t in texts)
    assert [line for t in texts for line in t[4:-4].split("\n")] == lines
    assert text_blocks("short words") == [
        {"type": "section", "text": {"type": "mrkdwn", "text": "short words"}}
    ]
