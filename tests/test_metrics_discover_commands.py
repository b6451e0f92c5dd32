"""/metrics discover, check over every service, did-you-mean, and the CLI's
`metrics discover --write`, against real Prometheus servers in other conventions."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import cli
from bot.clock import ManualClock
from bot.metrics import load_config
from sandbox.prometheus_scenario import PrometheusServer
from sandbox.slack_emulator import SlackEmulator
from tests.conftest import running_bot
from tests.prometheus_fixture import micrometer_prometheus, otel_prometheus  # noqa: F401

ALICE = "U0ALICE"


def at_now(prometheus: PrometheusServer) -> ManualClock:
    assert prometheus.times is not None
    return ManualClock(prometheus.times.now)


async def test_discover_and_check_every_service_from_slack(
    slack: SlackEmulator, redis_url: str, otel_prometheus: PrometheusServer
) -> None:
    async with running_bot(
        slack, redis_url, clock=at_now(otel_prometheus), prometheus_url=otel_prometheus.url
    ) as h:
        found = await h.driver.command(
            "discover", user=ALICE, channel=h.incidents_id, command="/metrics"
        )
        assert found.ephemeral
        assert "Service label: job (12 services: audit-trail, basket-api" in found.text
        assert "hikaricp_connections_active against hikaricp_connections_max" in found.text
        assert "unit seconds (from the name), shown in ms" in found.text
        assert "METRICS_CONFIG" in found.text

        every = await h.driver.command(
            "check", user=ALICE, channel=h.incidents_id, command="/metrics"
        )
        assert "  - ledger-svc: 7.00 errors/sec (17.5% of requests) [CRITICAL]" in every.text
        assert every.text.rstrip("`\n").endswith("2 more services OK")

        before = len(h.slack.messages("incidents"))
        wrong = await h.driver.command(
            "check ledger-svx", user=ALICE, channel=h.incidents_id, command="/metrics"
        )
        assert wrong.ephemeral
        assert "did you mean `ledger-svc`" in wrong.text and "/metrics check" in wrong.text
        assert len(h.slack.messages("incidents")) == before

        odd = await h.driver.command(
            "discover now", user=ALICE, channel=h.incidents_id, command="/metrics"
        )
        assert "takes no arguments" in odd.text and "/metrics discover" in odd.text


async def test_in_an_incident_channel_its_services_come_first(
    slack: SlackEmulator, redis_url: str, otel_prometheus: PrometheusServer
) -> None:
    async with running_bot(
        slack, redis_url, clock=at_now(otel_prometheus), prometheus_url=otel_prometheus.url
    ) as h:
        channel = await h.declare("Quotes slow services:quote-engine", user=ALICE)
        await h.driver.command("check", user=ALICE, channel=channel, command="/metrics")
        [report] = [m.text for m in h.slack.messages(channel) if "ERROR RATES:" in m.text]
        rates = [ln for ln in report.splitlines() if "errors/sec" in ln]
        assert (
            rates[0] == "  - quote-engine: 0.02 errors/sec (0.1% of requests) [OK]"
        )  # the incident's service
        assert (
            rates[1] == "  - ledger-svc: 7.00 errors/sec (17.5% of requests) [CRITICAL]"
        )  # then worst first


def test_cli_discover_writes_a_config_that_loads_and_pins(
    micrometer_prometheus: PrometheusServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMETHEUS_URL", micrometer_prometheus.url)
    out = tmp_path / "metrics.yml"
    result = CliRunner().invoke(cli, ["metrics", "discover", "--write", str(out)])
    assert result.exit_code == 0, result.output
    assert "Service label: app (5 services: courier-dispatch" in result.output
    assert "pg_stat_activity_count against pg_settings_max_connections" in result.output
    assert f"wrote {out}" in result.output
    config = load_config(out)
    assert config.service_label == "app"
    assert config.checks.requests is not None
    assert [r.metric for r in config.checks.requests] == ["http_server_requests_seconds_count"]
    assert config.checks.pools is not None and config.checks.pools[0].kind == "postgres_exporter"
    assert out.read_text().startswith("# Metric bindings discovered in")

    monkeypatch.setenv("PROMETHEUS_URL", "http://127.0.0.1:1")
    down = CliRunner().invoke(cli, ["metrics", "discover"])
    assert down.exit_code == 1 and "Prometheus unreachable" in down.output
