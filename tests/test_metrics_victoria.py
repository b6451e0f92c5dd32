"""Discovery and checks on a REAL VictoriaMetrics (Debian's single-node binary) loaded
through its import API with the mixed fleet: the same services, conventions, readings
and verdicts as on Prometheus. It has no metadata, so units come from the names' suffixes,
and /metrics discover says so."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.metrics import MetricsService, PrometheusSource, load_config, render_check
from bot.metrics.models import Verdict
from bot.metrics.render_discovery import render_fleet_discovery
from sandbox.fleet_scenarios import ANNEX, MIXED
from sandbox.prometheus_scenario import PrometheusServer, ScenarioTimes
from sandbox.scenarios import generate
from sandbox.victoria_metrics import VictoriaMetricsServer

# What a vmalert running Sloth's rules would have written back: VictoriaMetrics has no
# rules API, so these SLOs are found through label values alone.
SLOTH_RATIOS = {"5m": 0.15, "30m": 0.10, "1h": 0.08, "2h": 0.05, "6h": 0.03, "1d": 0.01}
SLOTH_RATIOS |= {"3d": 0.004, "30d": 0.002}


def mixed_with_recorded_slo() -> tuple[str, ScenarioTimes]:
    text, times = generate(MIXED)
    ids = (
        'sloth_id="vault-teller-availability",sloth_service="vault-teller",sloth_slo="availability"'
    )
    stamps = range(int(times.ramp_start.timestamp()), int(times.end.timestamp()), 30)
    lines = [f"slo:objective:ratio{{{ids}}} 0.995 {t}" for t in stamps]
    for w, v in SLOTH_RATIOS.items():
        lines += [
            f'slo:sli_error:ratio_rate{w}{{{ids},sloth_window="{w}"}} {v} {t}' for t in stamps
        ]
    return text.replace("# EOF\n", "\n".join(lines) + "\n# EOF\n"), times


@pytest.fixture(scope="module")
def victoria() -> Iterator[VictoriaMetricsServer]:
    with VictoriaMetricsServer(openmetrics=mixed_with_recorded_slo) as server:
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

    [slo] = report.slos  # Sloth's, found through label values: no rules API here
    assert (slo.service, slo.source, slo.verdict) == ("vault-teller", "sloth", Verdict.CRITICAL)
    assert round(slo.burn["1h"]) == 16 and round(slo.budget_left or 0, 2) == 0.6
    assert "  - vault-teller: burns its 99.5% budget at 30.0× (5m) / 16.0× (1h)" in text

    one = await svc.check("orbit-cart")
    assert [round(x.p99_ms or 0) for x in one.latency or []] == [2600]
    healthy = await svc.check(at=victoria.times.healthy_at)  # type: ignore[union-attr]
    assert healthy.affected_services == []


async def test_a_fleet_of_victoria_metrics_and_prometheus(victoria: VictoriaMetricsServer) -> None:
    """Issue 29's "done when" in one fleet: a VictoriaMetrics and a Prometheus read as one,
    each service in its own convention, a name on both shown with its server."""
    times = victoria.times
    assert times is not None
    with PrometheusServer(openmetrics=lambda: generate(ANNEX, now=times.now)) as annex:
        svc = MetricsService(
            sources={
                "vm": PrometheusSource(victoria.url, timeout=2.0),
                "edge": PrometheusSource(annex.url, timeout=2.0),
            },
            config=load_config(),
            clock=lambda: times.now,
        )
        report = await svc.check()
        assert {"orbit-cart@vm", "orbit-cart@edge", "harbor-dns", "vault-teller"} <= set(
            report.services
        )
        assert report.services[0] == "vault-teller" and not report.failures
        text = render_check(report, all_resources=True)
        assert "  - orbit-cart@vm: 2600ms P99 [HIGH]" in text
        assert "  - orbit-cart@edge CPU: 10% of one core" in text
        assert "  - vault-teller Memory: 90% [HIGH]" in text
        assert [x.service for x in report.slos] == ["vault-teller"]
