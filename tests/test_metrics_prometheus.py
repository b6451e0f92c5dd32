"""Metric checks against a REAL prometheus over the backfilled seed-000 scenario."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.metrics import (
    MetricsQueryError,
    MetricsService,
    MetricsUnavailable,
    MetricsUsageError,
    PrometheusSource,
    load_config,
    render_cascade,
    render_check,
    render_correlation,
    render_query,
)
from bot.metrics.config import MetricsConfig
from bot.metrics.models import RangeSeries
from bot.metrics.prometheus import InstantResult
from bot.runbooks import RunbookLibrary
from sandbox.prometheus_scenario import PrometheusServer, ScenarioTimes, free_port
from tests.prometheus_fixture import prometheus_server  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]

INCIDENT = """\
AFFECTED SERVICES:
  - api-server
  - web-service

ERROR RATES:
  - api-server: 12.50 errors/sec (25.0% of requests) [CRITICAL]
  - web-service: 8.30 errors/sec (17.3% of requests) [CRITICAL]

LATENCY METRICS:
  - api-server: 2800ms P99 [HIGH]
  - web-service: 3100ms P99 [HIGH]

RESOURCE UTILIZATION:
  - Database Connections: 98/100 (98%) [CRITICAL]
  - Database Connections Waiting: 37
  - api-server CPU: 85% [HIGH]
  - web-service Memory: 78% [ELEVATED]
"""

HEALTHY = """\
AFFECTED SERVICES: None
ERROR RATES:
  - api-server: 0.10 errors/sec (0.5% of requests) [OK]
  - web-service: 0.05 errors/sec (0.2% of requests) [OK]

LATENCY METRICS:
  - api-server: 150ms P99 [OK]
  - web-service: 200ms P99 [OK]

RESOURCE UTILIZATION:
  - Database Connections: 45/100 (45%) [OK]
  - api-server CPU: 35%
  - api-server Memory: 50%
"""

TABLE = """\
Time    Errors/sec    DB Connections    Latency P99
----    ----------    --------------    -----------
0s      0.10         45/100 (45%)      150ms
30s     0.12         52/100 (52%)      160ms
60s     1.20         75/100 (75%)      450ms
90s     6.50         92/100 (92%)      1200ms
120s    12.50        98/100 (98%)      2800ms [INCIDENT]
"""

DIAGRAM = """\
web-service --> api-server --> database
     |              |
     v              v
Error: 8.3/s   Error: 12.5/s   Connections: 98/100
Latency: 3.1s  Latency: 2.8s
"""


def _service(
    url: str, times: ScenarioTimes, config: MetricsConfig | None = None
) -> MetricsService:
    return MetricsService(
        source=PrometheusSource(url, timeout=2.0),
        config=config or load_config(),
        clock=lambda: times.now,
        runbooks=RunbookLibrary.from_folder(ROOT / "runbooks"),
    )


@pytest.fixture
def svc(prometheus_server: PrometheusServer) -> MetricsService:
    assert prometheus_server.times is not None
    return _service(prometheus_server.url, prometheus_server.times)


@pytest.fixture
def times(prometheus_server: PrometheusServer) -> ScenarioTimes:
    assert prometheus_server.times is not None
    return prometheus_server.times


async def test_incident_report_prints_the_seed_numbers_and_tags(
    svc: MetricsService, times: ScenarioTimes
) -> None:
    report = await svc.check(at=times.incident_at)
    text = render_check(report)
    assert text.startswith(INCIDENT), text
    assert report.complete
    assert report.affected_services == ["api-server", "web-service"]
    assert report.likely_cause is not None
    assert report.likely_cause.name == "database connection pool exhaustion"
    assert "Likely cause: database connection pool exhaustion." in text
    assert (
        "Runbook: Database Connection Issues → Error: ConnectionPoolTimeoutError → "
        "Root Causes → 1. Traffic Spike" in text
    )


async def test_check_at_now_sees_the_incident(svc: MetricsService) -> None:
    # No explicit time: the service's clock (scenario "now", incident state) is used.
    text = render_check(await svc.check())
    assert text.startswith(INCIDENT), text


async def test_healthy_report_prints_the_healthy_table(
    svc: MetricsService, times: ScenarioTimes
) -> None:
    report = await svc.check(at=times.healthy_at)
    text = render_check(report)
    assert text.startswith(HEALTHY), text
    assert report.likely_cause is None
    assert "ASSESSMENT: All checked services are within thresholds" in text


async def test_single_parts_and_service_filter(svc: MetricsService, times: ScenarioTimes) -> None:
    errors = render_check(await svc.errors(service="web-service", at=times.incident_at))
    assert errors == "ERROR RATES:\n  - web-service: 8.30 errors/sec (17.3% of requests) [CRITICAL]"
    db = render_check(await svc.db(at=times.incident_at))
    assert db.splitlines()[1] == "  - Database Connections: 98/100 (98%) [CRITICAL]"
    health = render_check(await svc.health(at=times.incident_at))
    assert health == "SERVICE HEALTH:\n  - api-server: up [OK]\n  - web-service: up [OK]"
    resources = render_check(await svc.resources(at=times.incident_at))
    assert "  - web-service CPU: 55%" in resources
    latency = render_check(await svc.latency(service="api-server", at=times.healthy_at))
    assert latency == "LATENCY METRICS:\n  - api-server: 150ms P99 [OK]"
    with pytest.raises(MetricsUsageError, match="unknown service"):
        await svc.check(service="nope")


async def test_correlation_table_matches_the_seed(
    svc: MetricsService, times: ScenarioTimes
) -> None:
    corr = await svc.correlate(
        window=timedelta(minutes=2), step=timedelta(seconds=30), end=times.ramp_end
    )
    text = render_correlation(corr)
    assert TABLE in text, text
    assert corr.turning_point is not None
    assert corr.turning_point.at == times.ramp_end
    assert not corr.failures


async def test_correlation_rejects_bad_window_and_step(svc: MetricsService) -> None:
    with pytest.raises(MetricsUsageError):
        await svc.correlate(window=timedelta(0), step=timedelta(seconds=30))
    with pytest.raises(MetricsUsageError):
        await svc.correlate(window=timedelta(minutes=1), step=timedelta(minutes=5))
    with pytest.raises(MetricsUsageError):
        await svc.correlate(window=timedelta(days=1), step=timedelta(seconds=1))


async def test_cascade_starts_at_the_database(svc: MetricsService, times: ScenarioTimes) -> None:
    cascade = await svc.cascade(at=times.incident_at)
    assert [n.name for n in cascade.chain] == ["web-service", "api-server", "database"]
    assert cascade.origin == "database"
    text = render_cascade(cascade)
    assert text.startswith(DIAGRAM), text
    assert "Failure starts at: database [CRITICAL]" in text
    assert "Then: api-server → web-service" in text

    healthy = await svc.cascade(at=times.healthy_at)
    assert healthy.origin is None


async def test_query_bad_promql_gives_prometheus_message(svc: MetricsService) -> None:
    with pytest.raises(MetricsQueryError) as err:
        await svc.query("sum(rate(http_requests_total[1m])")
    assert "parse error" in err.value.message
    assert "sum(rate" in err.value.promql


async def test_query_is_bounded_and_formatted(
    prometheus_server: PrometheusServer,
    times: ScenarioTimes,
) -> None:
    config = load_config().model_copy(
        update={"prometheus": load_config().prometheus.model_copy(update={"max_series": 5})}
    )
    svc = _service(prometheus_server.url, times, config)
    result = await svc.query('{__name__=~"http_request_duration_milliseconds_bucket"}')
    assert result.total == 14 and result.truncated and len(result.series) == 5
    text = render_query(result)
    assert "… 9 more not shown (showing 5 of 14)" in text
    scalar = await svc.query("1 + 1")
    assert scalar.result_type == "scalar" and scalar.series[0].value == "2"
    p99 = await svc.query(
        'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_milliseconds_bucket'
        '{service="api-server"}[1m])))'
    )
    assert p99.series[0].value == "2800"


async def test_prometheus_down_gives_a_partial_report(times: ScenarioTimes) -> None:
    svc = _service(f"http://127.0.0.1:{free_port()}", times)
    report = await svc.check()
    assert report.failures.keys() == {"health", "errors", "latency", "db", "resources"}
    text = render_check(report)
    assert "COULD NOT RUN:" in text
    assert "  - errors: Prometheus unreachable at http://127.0.0.1:" in text
    assert "Partial report: could not run health, errors, latency, db, resources" in text
    corr = await svc.correlate()
    assert set(corr.failures) == {"error_rate", "db_active", "latency_p99"}
    with pytest.raises(MetricsUnavailable):
        await svc.query("up")


class _SlowLatency:
    """Real source, but every histogram query hangs longer than the timeout."""

    def __init__(self, inner: PrometheusSource) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:  # discovery's catalog calls go straight through
        return getattr(self.inner, name)

    async def instant(self, promql: str, at: datetime | None = None) -> InstantResult:
        if "histogram_quantile" in promql:
            await asyncio.sleep(5)
        return await self.inner.instant(promql, at)

    async def range(
        self, promql: str, start: datetime, end: datetime, step: timedelta
    ) -> list[RangeSeries]:
        return await self.inner.range(promql, start, end, step)


async def test_slow_query_times_out_and_the_rest_is_shown(
    prometheus_server: PrometheusServer,
    times: ScenarioTimes,
) -> None:
    base = load_config()
    config = base.model_copy(
        update={"prometheus": base.prometheus.model_copy(update={"query_timeout_seconds": 0.3})}
    )
    svc = MetricsService(
        source=_SlowLatency(PrometheusSource(prometheus_server.url)),
        config=config,
        clock=lambda: times.incident_at,
    )
    report = await svc.check()
    assert report.failures == {"latency": "timeout after 0.3s"}
    text = render_check(report)
    assert "LATENCY METRICS:\n  - could not run: timeout after 0.3s" in text
    assert "  - api-server: 12.50 errors/sec (25.0% of requests) [CRITICAL]" in text
    assert "  - Database Connections: 98/100 (98%) [CRITICAL]" in text
    # Without latency the pool-exhaustion signature cannot be confirmed.
    assert report.likely_cause is None
    assert "Partial report: could not run latency" in text


def test_scenario_times_are_consistent(times: ScenarioTimes) -> None:
    assert times.start < times.healthy_at < times.ramp_start < times.ramp_end
    assert times.ramp_end < times.incident_at < times.now < times.end
    assert times.now.tzinfo is UTC or times.now.utcoffset() == timedelta(0)
