"""Discovery and checks on a REAL VictoriaMetrics (Debian's single-node binary) loaded
through its import API with the mixed fleet: the same services, conventions, readings
and verdicts as on Prometheus. It has no metadata, so units come from the names' suffixes,
and /metrics discover says so."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.metrics import MetricsService, PrometheusSource, load_config, render_check
from bot.metrics.render_discovery import render_fleet_discovery
from sandbox.fleet_scenarios import MIXED
from sandbox.scenarios import generate
from sandbox.victoria_metrics import VictoriaMetricsServer


@pytest.fixture(scope="module")
def victoria() -> Iterator[VictoriaMetricsServer]:
    with VictoriaMetricsServer(openmetrics=lambda: generate(MIXED)) as server:
        yield server


def service_for(vm: VictoriaMetricsServer) -> MetricsService:
    times = vm.times
    assert times is not None
    return MetricsService(
        source=PrometheusSource(vm.url, timeout=2.0), config=load_config(), clock=lambda: times.now
    )


async def test_a_mixed_fleet_on_victoria_metrics(victoria: VictoriaMetricsServer) -> None:
    svc = service_for(victoria)
    b = await svc.bindings()
    assert [(r.convention, r.service_label) for r in b.requests] == [
        ("OpenTelemetry", "job"),
        ("Micrometer", "app"),
        ("Prometheus client", "service"),
    ]
    assert {lat.unit_from for lat in b.latency} == {"name"}  # no metadata: the suffix
    assert b.missing == {}
    shown = render_fleet_discovery(await svc.fleet())
    assert "Note: no metadata (/api/v1/metadata is empty): units from the names' suffixes." in shown

    report = await svc.check()
    text = render_check(report, all_resources=True)
    for line in MIXED.expected.values():
        assert line in text, (line, text)
    assert report.services[:3] == ["vault-teller", "orbit-cart", "sprocket-gw"]
    assert report.likely_cause is not None and not report.failures

    one = await svc.check("orbit-cart")
    assert [round(x.p99_ms or 0) for x in one.latency or []] == [2600]
    healthy = await svc.check(at=victoria.times.healthy_at)  # type: ignore[union-attr]
    assert healthy.affected_services == []
