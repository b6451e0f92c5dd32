"""The correlation chart: a PNG drawn with matplotlib (Agg) and uploaded through
files.getUploadURLExternal + the upload + files.completeUploadExternal to the strict
emulator; when the upload fails, the text report is still there."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from bot.metrics import MetricsService, PrometheusSource, load_config
from bot.metrics.chart import correlation_png
from sandbox.prometheus_scenario import PrometheusServer
from sandbox.slack_emulator import SlackEmulator
from tests.conftest import running_bot
from tests.prometheus_fixture import otel_prometheus  # noqa: F401

ALICE = "U0ALICE"
PNG = b"\x89PNG\r\n\x1a\n"


async def test_correlate_and_a_troubled_check_upload_a_chart(
    slack: SlackEmulator, redis_url: str, otel_prometheus: PrometheusServer
) -> None:
    times = otel_prometheus.times
    assert times is not None
    async with running_bot(
        slack, redis_url, clock=ManualClock(times.now), prometheus_url=otel_prometheus.url
    ) as h:
        channel = await h.declare("Ledger failing services:ledger-svc", user=ALICE)
        reply = await h.driver.command(
            "correlate window:5m", user=ALICE, channel=channel, command="/metrics"
        )
        assert "Error Rate vs Database Connections: ledger-svc" in reply.text
        [chart] = h.slack.uploaded_files()
        assert chart.completed and chart.channel == channel
        assert chart.name.startswith("metrics-ledger-svc-") and chart.name.endswith(".png")
        assert chart.content.startswith(PNG) and len(chart.content) == chart.length
        methods = [c.method for c in h.slack.calls()]
        assert methods.index("files.getUploadURLExternal") < methods.index(
            "files.completeUploadExternal"
        )
        shared = h.slack.messages(channel)[-1]
        assert shared.files[0]["mimetype"] == "image/png"

        await h.driver.command("check", user=ALICE, channel=channel, command="/metrics")
        assert len(h.slack.uploaded_files()) == 2  # a check that finds trouble charts it too
        texts = [m.text for m in h.slack.messages(channel)]
        assert any(
            "  - ledger-svc: 7.00 errors/sec (17.5% of requests) [CRITICAL]" in t for t in texts
        )


async def test_a_failed_upload_still_leaves_the_text(
    slack: SlackEmulator, redis_url: str, otel_prometheus: PrometheusServer
) -> None:
    times = otel_prometheus.times
    assert times is not None
    async with running_bot(
        slack, redis_url, clock=ManualClock(times.now), prometheus_url=otel_prometheus.url
    ) as h:
        channel = await h.declare("Ledger failing services:ledger-svc", user=ALICE)
        slack.fail("files.getUploadURLExternal", error="not_allowed", times=None)
        reply = await h.driver.command("correlate", user=ALICE, channel=channel, command="/metrics")
        assert "Error Rate vs Database Connections: ledger-svc" in reply.text
        assert "The chart could not be posted" in reply.text
        assert "Traceback" not in reply.text
        assert h.slack.uploaded_files() == []


async def test_the_chart_is_a_png_of_the_window(otel_prometheus: PrometheusServer) -> None:
    times = otel_prometheus.times
    assert times is not None
    svc = MetricsService(
        source=PrometheusSource(otel_prometheus.url),
        config=load_config(),
        clock=lambda: times.now,
    )
    corr = await svc.correlate(window=timedelta(minutes=4), end=times.ramp_end)
    png = correlation_png(corr)
    assert png.startswith(PNG)
    width = int.from_bytes(png[16:20], "big")
    height = int.from_bytes(png[20:24], "big")
    assert width > 500 and height > 400  # three panels, readable in Slack
