"""Session-scoped real Prometheus servers: the seed-000 scenario and the scenarios of
sandbox/scenarios.py (OpenTelemetry + HikariCP + cAdvisor/kube-state-metrics; Micrometer +
postgres_exporter + process metrics).

Use from a test module with:  from tests.prometheus_fixture import prometheus_server  # noqa: F401
Missing `prometheus`/`promtool` binaries make the fixtures fail (never skip).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.prometheus_scenario import PrometheusServer
from sandbox.scenarios import openmetrics_for


@pytest.fixture(scope="session")
def prometheus_server() -> Iterator[PrometheusServer]:
    with PrometheusServer() as server:
        yield server


@pytest.fixture(scope="session")
def otel_prometheus() -> Iterator[PrometheusServer]:
    with PrometheusServer(openmetrics=openmetrics_for("otel")) as server:
        yield server


@pytest.fixture(scope="session")
def micrometer_prometheus() -> Iterator[PrometheusServer]:
    with PrometheusServer(openmetrics=openmetrics_for("micrometer")) as server:
        yield server
