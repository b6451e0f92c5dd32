"""Session-scoped real Prometheus serving the seed-000 scenario.

Use from a test module with:  from tests.prometheus_fixture import prometheus_server  # noqa: F401
Missing `prometheus`/`promtool` binaries make the fixture fail (never skip).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.prometheus_scenario import PrometheusServer


@pytest.fixture(scope="session")
def prometheus_server() -> Iterator[PrometheusServer]:
    with PrometheusServer() as server:
        yield server
