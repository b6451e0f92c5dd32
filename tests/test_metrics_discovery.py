"""Discovery against REAL backfilled Prometheus servers in three conventions (seed 000;
OpenTelemetry + HikariCP + cAdvisor/kube-state-metrics; Micrometer + postgres_exporter +
process metrics), with service names that appear nowhere in bot/ or commands/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.metrics import (
    MetricsService,
    MetricsUsageError,
    PrometheusSource,
    load_config,
    render_cascade,
    render_check,
    render_correlation,
)
from bot.metrics.discovery import Discovery, bindings_yaml_data
from bot.metrics.matching import choose_service_label
from bot.metrics.models import Verdict
from bot.metrics.prometheus import InstantResult
from bot.runbooks import RunbookLibrary
from sandbox.prometheus_scenario import PrometheusServer, ScenarioTimes, scenario_times
from sandbox.scenarios import MICROMETER, OTEL, metadata_exposition, openmetrics_for
from tests.prometheus_fixture import (  # noqa: F401
    micrometer_prometheus,
    otel_prometheus,
    prometheus_server,
)

ROOT = Path(__file__).resolve().parents[1]
PRODUCT_CODE = [*ROOT.joinpath("bot").rglob("*.py"), *ROOT.joinpath("bot").rglob("*.yml")]
PRODUCT_CODE += list(ROOT.joinpath("commands").rglob("*.py"))


class CountingSource:
    """The real source, counting what is asked of it."""

    def __init__(self, inner: PrometheusSource) -> None:
        self.inner = inner
        self.instants: list[str] = []
        self.catalog_calls = 0

    async def instant(self, promql: str, at: datetime | None = None) -> InstantResult:
        self.instants.append(promql)
        return await self.inner.instant(promql, at)

    async def range(self, promql: str, start: datetime, end: datetime, step: timedelta) -> Any:
        return await self.inner.range(promql, start, end, step)

    def __getattr__(self, name: str) -> Any:
        fn = getattr(self.inner, name)

        async def counted(*args: Any) -> Any:
            self.catalog_calls += 1
            return await fn(*args)

        return counted


def service_for(prom: PrometheusServer, config_path: Path | None = None) -> MetricsService:
    times = prom.times
    assert times is not None
    return MetricsService(
        source=PrometheusSource(prom.url, timeout=2.0),
        config=load_config(config_path),
        clock=lambda: times.now,
        runbooks=RunbookLibrary.from_folder(ROOT / "runbooks"),
    )


def test_scenario_service_names_appear_nowhere_in_product_code() -> None:
    names = [s.name for s in (*OTEL.services, *MICROMETER.services)]
    for path in PRODUCT_CODE:
        text = path.read_text(encoding="utf-8")
        for name in names:
            assert name not in text, f"{name} in {path}"


async def test_seed_convention_is_found_and_the_report_is_unchanged(
    prometheus_server: PrometheusServer,
) -> None:
    svc = service_for(prometheus_server)
    b = await svc.bindings()
    assert b.service_label == "service"
    assert b.services == ["api-server", "web-service"]
    assert [r.metric for r in b.requests] == ["http_requests_total"]
    assert b.requests[0].error_selector == 'status=~"5.."'
    assert [lat.metric for lat in b.latency] == ["http_request_duration_milliseconds_bucket"]
    assert (b.latency[0].unit, b.latency[0].unit_from) == ("milliseconds", "name")
    assert [p.kind for p in b.pools] == ["db_connections gauges"]
    assert [c.usage for c in b.cpu] == ["container_cpu_usage_ratio"]
    assert [u.key_label for u in b.up] == ["service"]
    assert b.missing == {}


async def test_otel_hikari_cadvisor_world(otel_prometheus: PrometheusServer) -> None:
    svc = service_for(otel_prometheus)
    b = await svc.bindings()
    assert b.service_label == "job"  # OTel's Prometheus exporter puts service.name there
    assert len(b.services) == 12
    assert [r.convention for r in b.requests] == ["OpenTelemetry"]
    assert b.requests[0].error_selector == 'http_response_status_code=~"5.."'
    assert [lat.unit for lat in b.latency] == ["seconds"]
    assert [p.kind for p in b.pools] == ["HikariCP"] and b.pools[0].service_label == "job"
    assert [c.source for c in b.cpu] == ["cAdvisor + kube-state-metrics"]
    assert b.cpu[0].key_label == "container"  # containers are named after the services
    assert [m.limit for m in b.memory] == ["kube_pod_container_resource_limits"]

    report = await svc.check()
    text = render_check(report)
    for line in OTEL.expected.values():
        assert line in text, (line, text)
    assert report.services[:2] == ["ledger-svc", "basket-api"]  # worst first
    assert text.rstrip().endswith("2 more services OK")
    # ten services shown: two quiet ones are left out of every list
    shown = [ln for ln in text.splitlines() if "errors/sec (" in ln and ln.endswith("[OK]")]
    assert len(shown) == 8
    assert report.likely_cause is not None
    assert "ledger-svc HikariPool-1 at 100%" in report.likely_cause.evidence[0]
    assert "Likely cause: database connection pool exhaustion." in text

    cascade = await svc.cascade()
    assert [n.name for n in cascade.chain] == ["basket-api", "ledger-svc", "database"]
    assert cascade.origin == "database"
    assert "Then: ledger-svc → basket-api" in render_cascade(cascade)

    times = otel_prometheus.times
    assert times is not None
    corr = await svc.correlate(window=timedelta(minutes=2), end=times.ramp_end)
    assert corr.service == "ledger-svc"  # the service in trouble, no primary_service needed
    table = render_correlation(corr)
    assert "120s    7.00         20/20 (100%)      2400ms [INCIDENT]" in table, table
    assert not corr.failures

    one = await svc.check("basket-api")
    assert one.services == ["basket-api"]
    assert [p.name for p in one.pools] == []  # the pools belong to other services


async def test_micrometer_postgres_process_world(micrometer_prometheus: PrometheusServer) -> None:
    svc = service_for(micrometer_prometheus)
    b = await svc.bindings()
    # every series shares job="kubernetes-pods": the pod label `app` tells services apart
    assert b.service_label == "app"
    assert b.services == sorted(s.name for s in MICROMETER.services)
    assert [r.convention for r in b.requests] == ["Micrometer"]
    assert [(p.kind, p.pool_label) for p in b.pools] == [("postgres_exporter", "server")]
    assert [c.usage for c in b.cpu] == ["process_cpu_seconds_total"]
    assert [m.limit for m in b.memory] == [None]
    report = await svc.check()
    text = render_check(report)
    for line in MICROMETER.expected.values():
        assert line in text, (line, text)
    assert report.services[:2] == ["invoice-hub", "courier-dispatch"]
    assert "more services" not in text  # five services: all shown
    cascade = await svc.cascade()
    assert [n.name for n in cascade.chain] == ["courier-dispatch", "invoice-hub", "database"]
    healthy = await svc.check(at=micrometer_prometheus.times.healthy_at)  # type: ignore[union-attr]
    assert healthy.affected_services == []
    assert "  - Database Connections: 90/200 (45%) [OK]" in render_check(healthy)


async def test_one_query_per_check_however_many_services(
    otel_prometheus: PrometheusServer,
) -> None:
    times = otel_prometheus.times
    assert times is not None
    source = CountingSource(PrometheusSource(otel_prometheus.url))
    svc = MetricsService(source=source, config=load_config(), clock=lambda: times.now)
    await svc.check()
    every = list(source.instants)
    source.instants.clear()
    await svc.check("ledger-svc")
    assert len(every) == len(source.instants) <= 12
    assert all(" by (" in q for q in every)  # aggregated by the service label, never per service
    assert not any("ledger-svc" in q for q in every)


async def test_discovery_is_cached_and_refreshed_on_demand(
    otel_prometheus: PrometheusServer,
) -> None:
    times = otel_prometheus.times
    assert times is not None
    source = CountingSource(PrometheusSource(otel_prometheus.url))
    svc = MetricsService(source=source, config=load_config(), clock=lambda: times.now)
    first = await svc.bindings()
    cold = source.catalog_calls
    assert cold >= 3
    again = await svc.bindings()
    assert again is first and source.catalog_calls == cold
    await svc.check()
    assert source.catalog_calls == cold
    fresh = await svc.bindings(refresh=True)
    assert source.catalog_calls == 2 * cold and fresh.services == first.services
    expired = MetricsService(
        source=source, config=load_config(), clock=lambda: times.now, discovery_ttl=timedelta(0)
    )
    await expired.bindings()
    await expired.bindings()
    assert source.catalog_calls == 4 * cold


async def test_unknown_service_gets_did_you_mean(otel_prometheus: PrometheusServer) -> None:
    svc = service_for(otel_prometheus)
    with pytest.raises(MetricsUsageError, match="did you mean `ledger-svc`"):
        await svc.check("ledger-svx")
    with pytest.raises(MetricsUsageError, match="unknown service 'zzz'"):
        await svc.check("zzz")
    assert (await svc.check("LEDGER-SVC")).services == ["ledger-svc"]


async def test_written_yaml_pins_everything_and_wins(
    otel_prometheus: PrometheusServer, tmp_path: Path
) -> None:
    times = otel_prometheus.times
    assert times is not None
    found = await service_for(otel_prometheus).bindings()
    path = tmp_path / "metrics.yml"
    path.write_text(yaml.safe_dump(bindings_yaml_data(found), sort_keys=False))
    source = CountingSource(PrometheusSource(otel_prometheus.url))
    pinned = MetricsService(source=source, config=load_config(path), clock=lambda: times.now)
    b = await pinned.bindings()
    assert source.catalog_calls == 0  # everything pinned: Prometheus is not asked
    assert b.services == found.services and b.requests == found.requests
    assert set(b.pinned) >= {"services", "requests", "latency", "db", "cpu", "memory", "up"}
    assert "  - ledger-svc: 7.00 errors/sec (17.5% of requests) [CRITICAL]" in render_check(
        await pinned.check()
    )

    # a partial pin: only two services and a stricter label; discovery fills in the rest
    path.write_text("services: [ledger-svc, quote-engine]\n")
    partial = service_for(otel_prometheus, path)
    report = await partial.check()
    assert report.services == ["ledger-svc", "quote-engine"]
    assert (await partial.bindings()).latency


@pytest.fixture(scope="module")
def unrelated_prometheus() -> Iterator[PrometheusServer]:
    def only_node_metrics() -> tuple[str, ScenarioTimes]:
        times = scenario_times()
        start = int(times.start.timestamp())
        lines = ["# TYPE node_load1 gauge"]
        lines += [f'node_load1{{instance="box:9100"}} 0.5 {start + 30 * i}' for i in range(160)]
        return "\n".join([*lines, "# EOF"]) + "\n", times

    with PrometheusServer(openmetrics=only_node_metrics) as server:
        yield server


async def test_a_prometheus_without_known_metrics_gets_plain_answers(
    unrelated_prometheus: PrometheusServer,
) -> None:
    svc = service_for(unrelated_prometheus)
    b = await svc.bindings()
    assert b.services == [] and b.service_label is None
    report = await svc.check()
    text = render_check(report)
    assert "no request counter found (looked for http_server_request_duration_seconds_count" in text
    assert (
        "  - Database Connections: no database pool metrics found (looked for "
        "hikaricp_connections_*, pg_stat_activity_count" in text
    )
    assert "Traceback" not in text and "None" not in text.replace("AFFECTED SERVICES: None", "")
    with pytest.raises(MetricsUsageError, match="no services were found"):
        await svc.check("anything")
    with pytest.raises(MetricsUsageError, match="no services found to correlate"):
        await svc.correlate()


def test_service_label_choice() -> None:
    shared_job = {"kubernetes-pods"}
    assert choose_service_label([("job", shared_job), ("app", {"a", "b"})]) == "app"
    assert choose_service_label([("service", {"a", "b"}), ("app", {"c", "d"})]) == "service"
    assert choose_service_label([("service", set()), ("job", {"solo"})]) == "job"
    assert choose_service_label([("service", set())]) is None


class FakeCatalog:
    """A catalog with Micrometer's outcome-only tags and a `5xx` status-class family."""

    def __init__(self, names: dict[str, dict[str, list[str]]]) -> None:
        self.names = names

    async def metric_names(self, start: datetime, end: datetime) -> list[str]:
        return list(self.names)

    async def metadata(self) -> dict[str, list[dict[str, str]]]:
        return {"rpc_latency_bucket": [{"type": "histogram", "unit": "", "help": ""}]}

    async def label_names(self, match: str, start: datetime, end: datetime) -> list[str]:
        return list(self.names.get(match, {}))

    async def label_values(
        self, label: str, match: str, start: datetime, end: datetime
    ) -> list[str]:
        return self.names.get(match, {}).get(label, [])

    async def rules(self) -> list[dict[str, Any]]:
        return []


@pytest.mark.parametrize(
    ("family", "labels", "selector"),
    [
        (
            "http_server_requests_seconds_count",
            {"application": ["teller"], "outcome": ["SUCCESS", "SERVER_ERROR"]},
            'outcome="SERVER_ERROR"',
        ),
        ("http_requests_total", {"service": ["teller"], "code": ["2xx", "5xx"]}, 'code=~"5.."'),
        ("http_requests_total", {"service": ["teller"], "status": ["200", "503"]}, 'status=~"5.."'),
    ],
)
async def test_status_as_outcome_class_or_code(
    family: str, labels: dict[str, list[str]], selector: str
) -> None:
    times = scenario_times()
    discovery = Discovery(
        source=FakeCatalog({family: labels}), config=load_config(), clock=lambda: times.now
    )
    b = await discovery.bindings()
    assert [r.error_selector for r in b.requests] == [selector]
    assert b.missing["latency"].startswith("no latency histogram by ")
    assert b.missing["db"].startswith("no database pool metrics found (looked for hikaricp")


async def test_class_status_values_match_on_a_real_prometheus(
    prometheus_server: PrometheusServer,
) -> None:
    # `=~"5.."` (what discovery uses for codes and classes) matches "5xx" in PromQL too
    svc = service_for(prometheus_server)
    result = await svc.query(
        'label_replace(label_replace(vector(1), "code", "5xx", "", ""), "m", "yes", "code", "5..")'
    )
    assert result.series[0].labels == {"code": "5xx", "m": "yes"}


def test_verdict_helpers_rank_services() -> None:
    assert Verdict.CRITICAL.at_least(Verdict.HIGH) and not Verdict.OK.at_least(Verdict.ELEVATED)


@pytest.fixture(scope="module")
def scraped_otel_prometheus() -> Iterator[PrometheusServer]:
    with PrometheusServer(
        openmetrics=openmetrics_for("otel"), scrape_metadata=metadata_exposition(OTEL)
    ) as server:
        yield server


async def test_units_come_from_metadata_when_prometheus_has_it(
    scraped_otel_prometheus: PrometheusServer, otel_prometheus: PrometheusServer
) -> None:
    b = await service_for(scraped_otel_prometheus).bindings()
    assert [(lat.unit, lat.unit_from) for lat in b.latency] == [("seconds", "metadata")]
    # a backfilled TSDB has none: the name's suffix says the same
    backfilled = await service_for(otel_prometheus).bindings()
    assert [lat.unit_from for lat in backfilled.latency] == ["name"]
    report = await service_for(scraped_otel_prometheus).check()
    assert "  - ledger-svc: 2400ms P99 [HIGH]" in render_check(report)
