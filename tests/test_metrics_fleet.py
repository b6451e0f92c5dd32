"""A real fleet: one Prometheus speaking three conventions at once (client defaults,
Micrometer with the JVM's own CPU and heap gauges, OpenTelemetry with cAdvisor), and two
Prometheus servers of which one is stopped mid-test. Service names appear nowhere in
bot/ or commands/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.incidents.models import Incident
from bot.metrics import (
    MetricsService,
    MetricsUsageError,
    PrometheusSource,
    load_config,
    render_check,
)
from bot.metrics.incident_checks import incident_services, still_bad
from bot.metrics.models import Verdict
from bot.metrics.prometheus import InstantResult
from bot.metrics.promql import resource_queries
from bot.metrics.render_discovery import render_fleet_discovery
from bot.runbooks import RunbookLibrary
from sandbox.fleet_scenarios import ANNEX, GIB, HEAP_MAX, MIXED
from sandbox.prometheus_scenario import PrometheusServer
from sandbox.scenarios import generate

ROOT = Path(__file__).resolve().parents[1]
PRODUCT_CODE = [*ROOT.joinpath("bot").rglob("*.py"), *ROOT.joinpath("commands").rglob("*.py")]


@pytest.fixture(scope="module")
def mixed_prometheus() -> Iterator[PrometheusServer]:
    with PrometheusServer(openmetrics=lambda: generate(MIXED)) as server:
        yield server


def service_for(prom: PrometheusServer) -> MetricsService:
    times = prom.times
    assert times is not None
    return MetricsService(
        source=PrometheusSource(prom.url, timeout=2.0),
        config=load_config(),
        clock=lambda: times.now,
        runbooks=RunbookLibrary.from_folder(ROOT / "runbooks"),
    )


def test_fleet_service_names_appear_nowhere_in_product_code() -> None:
    names = {s.name for s in (*MIXED.services, *ANNEX.services)}
    for path in PRODUCT_CODE:
        text = path.read_text(encoding="utf-8")
        assert not [n for n in names if n in text], path


async def test_three_conventions_in_one_prometheus(mixed_prometheus: PrometheusServer) -> None:
    svc = service_for(mixed_prometheus)
    b = await svc.bindings()
    by_convention = {r.convention: (r.service_label, r.services) for r in b.requests}
    assert by_convention == {
        "OpenTelemetry": ("job", ["lumen-search", "orbit-cart"]),
        "Micrometer": ("app", ["quill-billing", "vault-teller"]),
        "Prometheus client": ("service", ["relay-pulse", "sprocket-gw"]),
    }
    assert [lat.service_label for lat in b.latency] == ["job", "app", "service"]
    assert b.missing == {}

    report = await svc.check()
    text = render_check(report, all_resources=True)
    for line in MIXED.expected.values():
        assert line in text, (line, text)
    assert report.services[:3] == ["vault-teller", "orbit-cart", "sprocket-gw"]
    errors = {e.service: e for e in report.errors or []}
    assert errors["vault-teller"].verdict is Verdict.CRITICAL  # Micrometer's status 503
    assert errors["sprocket-gw"].verdict is Verdict.HIGH  # the client's code="500"
    assert errors["orbit-cart"].verdict is Verdict.OK  # OpenTelemetry's 500s, few
    p99 = {x.service: round(x.p99_ms or 0) for x in report.latency or []}
    assert p99 == {
        "vault-teller": 3000,
        "orbit-cart": 2600,
        "sprocket-gw": 140,
        "relay-pulse": 110,
        "quill-billing": 210,
        "lumen-search": 120,
    }
    assert not report.failures and not report.not_found
    # one query per family and reading, aggregated by the family's label, never per service
    assert all(" by (" in q for q in (await _promql(svc)))


async def _promql(svc: MetricsService) -> list[str]:
    from bot.metrics.models import PARTS
    from bot.metrics.queries import plan_queries

    b = await svc.bindings()
    plan = plan_queries(PARTS, b, None, svc.config)
    assert not any(s in q.promql for q in plan.values() for s in b.services)
    return [q.promql for q in plan.values()]


async def test_a_micrometer_fleet_has_cpu_and_heap(mixed_prometheus: PrometheusServer) -> None:
    svc = service_for(mixed_prometheus)
    b = await svc.bindings()
    cpu = {s: r.source for r in b.cpu for s in r.services or []}
    memory = {s: r.source for r in b.memory for s in r.services or []}
    assert cpu["vault-teller"] == cpu["quill-billing"] == "Micrometer process_cpu_usage"
    assert memory["vault-teller"] == "Micrometer JVM heap"
    assert cpu["orbit-cart"] == "cAdvisor + kube-state-metrics"
    assert memory["sprocket-gw"] == "process metrics (no limit known)"
    shown = render_fleet_discovery(await svc.fleet())
    assert 'jvm_memory_used_bytes{area="heap"} against jvm_memory_max_bytes{area="heap"}' in shown
    assert "process_cpu_usage by app (Micrometer process_cpu_usage)" in shown

    report = await svc.resources()
    readings = {(r.service, r.kind): r for r in report.resources or []}
    # the busier of two instances; heap summed over G1's pools against the one defined max
    assert round(readings[("vault-teller", "cpu")].percent or 0) == 82
    assert round(readings[("vault-teller", "memory")].percent or 0) == 90
    assert readings[("vault-teller", "memory")].verdict is Verdict.HIGH
    assert round(readings[("quill-billing", "memory")].percent or 0) == 40
    # a max of -1 (eden, survivor, metaspace) is undefined and left out of the sum
    heap = next(r for r in b.memory if r.source == "Micrometer JVM heap")
    limit = resource_queries(heap, "1m")["limit"].promql
    result = await svc.runner().source.instant(limit, mixed_prometheus.times.now)  # type: ignore[union-attr]
    assert {s.labels["app"]: s.value for s in result.samples} == {
        "vault-teller": 2 * HEAP_MAX,
        "quill-billing": 2 * HEAP_MAX,
    }
    assert HEAP_MAX == GIB


class InFlight:
    """Wraps sources and records how many queries were in flight at once."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0

    def wrap(self, inner: PrometheusSource) -> Any:
        counter = self

        class Counted:
            async def instant(self, promql: str, at: datetime | None = None) -> InstantResult:
                counter.now += 1
                counter.most = max(counter.most, counter.now)
                try:
                    return await inner.instant(promql, at)
                finally:
                    counter.now -= 1

            def __getattr__(self, name: str) -> Any:
                return getattr(inner, name)

        return Counted()


async def test_two_servers_one_stopped_mid_test(mixed_prometheus: PrometheusServer) -> None:
    times = mixed_prometheus.times
    assert times is not None
    with PrometheusServer(openmetrics=lambda: generate(ANNEX, now=times.now)) as annex:
        flight = InFlight()
        svc = MetricsService(
            sources={
                "eu": flight.wrap(PrometheusSource(mixed_prometheus.url, timeout=2.0)),
                "us": flight.wrap(PrometheusSource(annex.url, timeout=2.0)),
            },
            config=load_config(),
            clock=lambda: times.now,
        )
        fleet = await svc.fleet()
        assert "orbit-cart@eu" in fleet.services and "orbit-cart@us" in fleet.services
        assert "harbor-dns" in fleet.services and "vault-teller" in fleet.services
        report = await svc.check()
        assert report.unreachable == {} and not report.failures
        assert {"orbit-cart@eu", "orbit-cart@us", "harbor-dns"} <= set(report.services)
        plans = len(report.query_seconds)
        assert flight.most == plans  # every query of both servers was in flight at once
        text = render_check(report)
        assert "  - orbit-cart@eu: 2600ms P99 [HIGH]" in text
        assert "  - orbit-cart@us: 150ms P99 [OK]" in render_check(await svc.latency())
        one = await svc.check("orbit-cart@us")
        assert one.services == ["orbit-cart@us"]
        with pytest.raises(MetricsUsageError, match="on several servers: `orbit-cart@eu` or"):
            await svc.check("orbit-cart")
        named = Incident(
            id="INC-1",
            title="Carts slow",
            services=["Orbit-Cart", "harbor-dns"],
            channel_id="C1",
            channel_name="inc-1",
            declared_by="U1",
            declared_at=times.now,
        )
        both = ["orbit-cart@eu", "orbit-cart@us", "harbor-dns"]
        assert await incident_services(svc, named) == both
        bad = await still_bad(svc, named)
        assert bad is not None
        assert bad.findings == ["orbit-cart@eu P99 2600ms [HIGH]", "orbit-cart@eu CPU 90% [HIGH]"]
        assert "harbor-dns" in render_check(await svc.check("harbor-dns"))
        annex.stop()  # mid-test: the us server goes away

        report = await svc.check()
        assert set(report.unreachable) == {"us"}
        assert "Prometheus unreachable" in report.unreachable["us"]
        assert "harbor-dns" not in report.services and "orbit-cart@us" not in report.services
        assert "vault-teller" in report.services
        text = render_check(report)
        assert "  - vault-teller: 6.00 errors/sec (15.0% of requests) [CRITICAL]" in text
        assert "  - us: Prometheus unreachable at" in text
        assert "Partial report" in text

        fresh = MetricsService(
            sources={
                "eu": PrometheusSource(mixed_prometheus.url, timeout=2.0),
                "us": PrometheusSource(annex.url, timeout=2.0),
            },
            config=load_config(),
            clock=lambda: times.now,
        )
        fleet = await fresh.fleet()
        assert fleet.down.keys() == {"us"} and "harbor-dns" not in fleet.services
        assert "orbit-cart" in fleet.services  # no longer on two servers: its plain name
        shown = render_fleet_discovery(fleet)
        assert "Prometheus us could not be asked: Prometheus unreachable" in shown
        assert "Prometheus eu:\nService labels: job, app, service" in shown
        report = await fresh.check()
        assert set(report.unreachable) == {"us"} and "vault-teller" in report.services


def test_prometheus_urls_names_each_server(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.metrics.install import build_metrics
    from bot.settings import SettingsError, load_settings

    monkeypatch.setenv("PROMETHEUS_URLS", "eu=http://prom-eu:9090, us=https://prom-us/")
    settings = load_settings()
    svc = build_metrics(settings, clock=lambda: datetime(2026, 1, 1))
    assert svc is not None and list(svc.sources) == ["eu", "us"]
    for bad, named in (
        ("eu=http://a:9090,eu=http://b:9090", "'eu' is named twice"),
        ("http://a:9090", "is not name=URL"),
        ("eu=ftp://a", "eu: 'ftp://a' is not an http(s) URL"),
    ):
        monkeypatch.setenv("PROMETHEUS_URLS", bad)
        with pytest.raises(SettingsError, match="PROMETHEUS_URLS") as caught:
            load_settings()
        assert named in str(caught.value) and "\n" not in str(caught.value)
    monkeypatch.setenv("PROMETHEUS_URLS", "eu=http://a:9090")
    monkeypatch.setenv("PROMETHEUS_URL", "http://b:9090")
    with pytest.raises(SettingsError, match="PROMETHEUS_URLS is invalid: set it or PROMETHEUS_URL"):
        load_settings()
    monkeypatch.delenv("PROMETHEUS_URLS")
    one = build_metrics(load_settings(), clock=lambda: datetime(2026, 1, 1))
    assert one is not None and list(one.sources) == [""]


def test_cli_discovers_every_server(
    mixed_prometheus: PrometheusServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from bot.cli import cli
    from sandbox.prometheus_scenario import free_port

    down = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("PROMETHEUS_URLS", f"eu={mixed_prometheus.url},us={down}")
    result = CliRunner().invoke(cli, ["metrics", "discover"])
    assert result.exit_code == 0, result.output
    assert "Prometheus eu:\nService labels: job, app, service (6 services" in result.output
    assert f"Prometheus us could not be asked: Prometheus unreachable at {down}" in result.output
    refused = CliRunner().invoke(cli, ["metrics", "discover", "--write", "x.yml"])
    assert refused.exit_code == 2 and "--write pins one server's bindings" in refused.output
