"""/metrics from Slack against the real Prometheus over the seed-000 scenario."""

from __future__ import annotations

from typing import Any

from bot.clock import Clock, ManualClock, system_clock
from bot.timeline.models import EventKind
from sandbox.prometheus_scenario import PrometheusServer
from sandbox.slack_emulator import SlackEmulator
from tests.conftest import running_bot
from tests.prometheus_fixture import prometheus_server  # noqa: F401  (fixture)

ALICE = "U0ALICE"


def metrics_bot(
    slack: SlackEmulator, redis_url: str, prometheus_url: str | None, clock: Clock, **more: object
) -> Any:
    return running_bot(slack, redis_url, clock=clock, prometheus_url=prometheus_url, **more)


def at_incident(prometheus: PrometheusServer) -> ManualClock:
    return ManualClock(prometheus.times.now)


async def test_check_in_an_incident_channel_posts_the_seed_report_and_records_it(
    slack: SlackEmulator, redis_url: str, prometheus_server: PrometheusServer
) -> None:
    async with metrics_bot(
        slack, redis_url, prometheus_server.url, at_incident(prometheus_server)
    ) as h:
        channel = await h.declare("Checkout errors", user=ALICE)
        await h.driver.command("check", user=ALICE, channel=channel, command="/metrics")
        [report] = [m.text for m in h.slack.messages(channel) if "ERROR RATES:" in m.text]
        for line in (
            "  - api-server: 12.50 errors/sec (25.0% of requests) [CRITICAL]",
            "  - web-service: 8.30 errors/sec (17.3% of requests) [CRITICAL]",
            "  - api-server: 2800ms P99 [HIGH]",
            "  - web-service: 3100ms P99 [HIGH]",
            "  - Database Connections: 98/100 (98%) [CRITICAL]",
            "  - api-server CPU: 85% [HIGH]",
            "  - web-service Memory: 78% [ELEVATED]",
        ):
            assert line in report
        assert "database connection pool exhaustion" in report.lower()
        incident = await h.bot.services.incidents.for_channel(channel)
        assert incident is not None
        [metrics] = [
            e for e in await h.store.timeline(incident.id) if e.event.kind is EventKind.METRICS
        ]
        assert metrics.event.data["db_pool_percent"] == "98"
        assert metrics.event.data["errors_per_second.api-server"] == "12.50"
        assert "Runbook" in metrics.event.text or "runbook" in metrics.event.text.lower()


async def test_parts_outside_an_incident_are_private_answers(
    slack: SlackEmulator, redis_url: str, prometheus_server: PrometheusServer
) -> None:
    async with metrics_bot(
        slack, redis_url, prometheus_server.url, at_incident(prometheus_server)
    ) as h:
        before = len(h.slack.messages("incidents"))
        reply = await h.driver.command("db", user=ALICE, channel=h.incidents_id, command="/metrics")
        assert reply.ephemeral and "98/100 (98%) [CRITICAL]" in reply.text
        cascade = await h.driver.command(
            "cascade", user=ALICE, channel=h.incidents_id, command="/metrics"
        )
        assert "web-service --> api-server --> database" in cascade.text
        query = await h.driver.command(
            'query sum(db_connections_active{job="x"} or vector(42))',
            user=ALICE,
            channel=h.incidents_id,
            command="/metrics",
        )
        assert "42" in query.text
        assert len(h.slack.messages("incidents")) == before


async def test_mistakes_get_the_usage(
    slack: SlackEmulator, redis_url: str, prometheus_server: PrometheusServer
) -> None:
    async with metrics_bot(
        slack, redis_url, prometheus_server.url, at_incident(prometheus_server)
    ) as h:
        cases = {
            "frobnicate": ("is not a command", "/metrics check"),
            "correlate window:soon": ("not a duration", "/metrics correlate"),
            "query sum(": ("parse error", "/metrics query"),
            "query": ("Give a PromQL expression", "/metrics query"),
        }
        for text, (problem, usage) in cases.items():
            reply = await h.driver.command(
                text, user=ALICE, channel=h.incidents_id, command="/metrics"
            )
            assert reply.ephemeral and problem in reply.text and usage in reply.text, text


async def test_prometheus_down_gives_a_partial_answer(slack: SlackEmulator, redis_url: str) -> None:
    async with metrics_bot(slack, redis_url, "http://127.0.0.1:1", system_clock) as h:
        reply = await h.driver.command(
            "check", user=ALICE, channel=h.incidents_id, command="/metrics"
        )
        assert "could not run" in reply.text.lower()
        assert "Traceback" not in reply.text


async def test_without_prometheus_metrics_says_so_and_declare_still_works(
    slack: SlackEmulator, redis_url: str
) -> None:
    async with metrics_bot(slack, redis_url, None, system_clock, snapshot_on_declare=True) as h:
        reply = await h.driver.command(
            "check", user=ALICE, channel=h.incidents_id, command="/metrics"
        )
        assert "not set up" in reply.text and "PROMETHEUS_URL" in reply.text
        channel = await h.declare("No metrics here", user=ALICE)
        assert await h.bot.services.incidents.for_channel(channel) is not None


async def test_declare_opens_with_a_snapshot(
    slack: SlackEmulator, redis_url: str, prometheus_server: PrometheusServer
) -> None:
    async with metrics_bot(
        slack,
        redis_url,
        prometheus_server.url,
        at_incident(prometheus_server),
        snapshot_on_declare=True,
    ) as h:
        channel = await h.declare("Errors up services:api-server", user=ALICE)
        texts = [m.text for m in h.slack.messages(channel)]
        assert any("98/100 (98%) [CRITICAL]" in t for t in texts)
