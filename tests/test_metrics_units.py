"""Config, runbook citations, scenario shaping, renderers and deploy files (no server)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.metrics import load_config
from bot.metrics.bindings import Bindings, RequestsBinding
from bot.metrics.judging import judge
from bot.metrics.models import InstantSample, QueryResult, QuerySeries, Verdict
from bot.metrics.prometheus import InstantResult, parse_instant, prometheus_error_message
from bot.metrics.promql import requests_queries
from bot.metrics.queries import Outcomes
from bot.metrics.render import render_query
from bot.runbooks import RunbookLibrary, parse_runbook
from sandbox.prometheus_scenario import bucket_fractions, find_binaries

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("metric", "value", "verdict"),
    [
        ("error_rate", 0.10, Verdict.OK),
        ("error_rate", 0.05, Verdict.OK),
        ("error_rate", 1.20, Verdict.ELEVATED),
        ("error_rate", 12.50, Verdict.CRITICAL),
        ("error_rate", 8.30, Verdict.CRITICAL),
        ("latency_p99_ms", 150, Verdict.OK),
        ("latency_p99_ms", 200, Verdict.OK),
        ("latency_p99_ms", 2800, Verdict.HIGH),
        ("latency_p99_ms", 3100, Verdict.HIGH),
        ("db_pool_percent", 45, Verdict.OK),
        ("db_pool_percent", 85, Verdict.HIGH),
        ("db_pool_percent", 98, Verdict.CRITICAL),
        ("cpu_percent", 85, Verdict.HIGH),
        ("cpu_percent", 35, Verdict.OK),
        ("memory_percent", 78, Verdict.ELEVATED),
        ("memory_percent", 50, Verdict.OK),
    ],
)
def test_default_bands_give_the_seed_tags(metric: str, value: float, verdict: Verdict) -> None:
    bands = getattr(load_config().thresholds, metric)
    assert bands.verdict(value) is verdict


def test_config_override_is_deep_merged(tmp_path: Path) -> None:
    path = tmp_path / "metrics.yml"
    path.write_text(
        "pool_size: 200\nthresholds:\n  error_rate:\n    critical: 20\n"
        "services: [checkout]\nprimary_service: checkout\n"
        "dependencies: {checkout: [database]}\n"
    )
    config = load_config(path)
    assert config.pool_size == 200
    assert config.thresholds.error_rate.critical == 20
    assert config.thresholds.error_rate.elevated == 1.0  # kept from the defaults
    assert config.dependency_chain() == ["checkout", "database"]
    assert config.services == ["checkout"]  # pinned: discovery's services are replaced


def test_bad_config_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "metrics.yml"
    path.write_text("services: [a]\nprimary_service: nope\n")
    with pytest.raises(ValidationError, match="primary_service"):
        load_config(path)
    path.write_text("checks:\n  latency: {metric: x_bucket, unit: fortnights}\n")
    with pytest.raises(ValidationError, match="unit"):
        load_config(path)
    path.write_text('services: ["a\\"b"]\nprimary_service: a\n')
    with pytest.raises(ValidationError):
        load_config(path)


def test_defaults_name_no_service_and_queries_aggregate_by_the_service_label() -> None:
    config = load_config()
    assert config.dependency_chain() == []
    assert config.services is None and config.service_label is None
    family = RequestsBinding(
        convention="Micrometer",
        metric="http_server_requests_seconds_count",
        status_label="outcome",
        error_match='="SERVER_ERROR"',
    )
    bindings = Bindings(service_label="app", services=["ledger", "teller"], requests=family)
    assert bindings.requests == [family]  # one mapping (a pin written before) is a list of one
    every = requests_queries(bindings, family, "1m", "10m", None)["error_rate"].promql
    assert every == (
        'sum by (app) (rate(http_server_requests_seconds_count{outcome="SERVER_ERROR"}[1m]))'
    )
    two = requests_queries(bindings, family, "1m", "10m", ["ledger", "teller"])["error_rate"].promql
    assert 'app=~"ledger|teller"' in two
    odd = requests_queries(bindings, family, "1m", "10m", ['we"ird'])["error_rate"].promql
    assert "we" not in odd  # names that need quoting are never put in a selector


def test_runbook_citation_points_at_a_real_heading() -> None:
    library = RunbookLibrary.from_folder(ROOT / "runbooks")
    cite = library.find(["ConnectionPoolTimeoutError", "Traffic Spike"])
    assert cite is not None
    assert cite.file.endswith("runbooks/database-connection-issues.md")
    assert cite.path == (
        "Engineering Runbook: Database Connection Issues",
        "Error: ConnectionPoolTimeoutError",
        "Root Causes",
        "1. Traffic Spike",
    )
    text = Path(cite.file).read_text()
    assert "# Engineering Runbook: Database Connection Issues" in text
    assert "## Error: ConnectionPoolTimeoutError" in text
    assert "### Root Causes" in text
    assert "1. **Traffic Spike**" in text
    assert "MAX_CONNECTIONS" in cite.text
    general = library.find(["ConnectionPoolTimeoutError", "Root Causes"])
    assert general is not None and general.path[-1] == "Root Causes"
    assert "2. **Connection Leak**" in general.text
    assert library.cite(["Root Causes", "4. N+1 query pattern"]) is not None
    assert library.find(["no such words anywhere"]) is None


def test_runbook_parser_ignores_code_fences() -> None:
    book = parse_runbook("# T\n## A\n```\n# not a heading\n1. not an item\n```\n## B\n", "x.md")
    assert [p for p, _ in book.walk()] == [("T",), ("T", "A"), ("T", "B")]


@pytest.mark.parametrize("p99", [150, 160, 200, 450, 600, 1200, 1500, 2800, 3100])
def test_bucket_fractions_put_p99_at_the_target(p99: float) -> None:
    bounds = (100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0)
    fractions = bucket_fractions(p99)
    # histogram_quantile's linear interpolation inside the first bucket reaching 0.99
    i = next(i for i, f in enumerate(fractions) if f >= 0.99)
    lower = 0.0 if i == 0 else bounds[i - 1]
    below = 0.0 if i == 0 else fractions[i - 1]
    got = lower + (bounds[i] - lower) * (0.99 - below) / (fractions[i] - below)
    assert got == pytest.approx(p99)


def test_prometheus_error_message_is_extracted() -> None:
    exc = Exception(
        'HTTP Status Code 400 (b\'{"status":"error","errorType":"bad_data",'
        '"error":"1:5: parse error: unclosed left parenthesis"}\')'
    )
    assert prometheus_error_message(exc) == (400, "1:5: parse error: unclosed left parenthesis")


def test_parse_instant_shapes() -> None:
    assert parse_instant([]).samples == []
    assert parse_instant([1.0, "2"]).result_type == "scalar"
    assert parse_instant([1.0, "hello"]).text == "hello"
    matrix = parse_instant([{"metric": {"a": "b"}, "values": [[1, "1"], [2, "5"]]}])
    assert matrix.result_type == "matrix" and matrix.samples[0].value == 5.0


def test_render_query_formats_labels() -> None:
    from datetime import UTC, datetime

    result = QueryResult(
        promql="up",
        at=datetime(2026, 1, 1, tzinfo=UTC),
        result_type="vector",
        series=[QuerySeries(labels={"__name__": "up", "service": "api"}, value="1")],
        total=1,
        truncated=False,
    )
    assert render_query(result).splitlines()[1] == 'up{service="api"} => 1'


def test_alert_rules_pass_promtool() -> None:
    _, promtool = find_binaries()
    rules = subprocess.run(
        [promtool, "check", "rules", str(ROOT / "deploy/prometheus/alerts.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert "SUCCESS: 3 rules found" in rules.stdout
    config = subprocess.run(
        [promtool, "check", "config", str(ROOT / "deploy/prometheus/prometheus.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert config.returncode == 0, config.stdout + config.stderr
    text = (ROOT / "deploy/prometheus/alerts.yml").read_text()
    names = ("DatabaseConnectionPoolHigh", "DatabaseConnectionPoolCritical", "APIErrorRateHigh")
    for name in names:
        assert f"alert: {name}" in text


def _outcomes(rows: dict[str, dict[str, float]]) -> Outcomes:
    out = Outcomes()
    for name, values in rows.items():
        samples = [
            InstantSample(labels={"job": s}, value=v, timestamp=0.0) for s, v in values.items()
        ]
        out.results[name] = InstantResult(result_type="vector", samples=samples)
        out.seconds[name] = 0.0
    return out


def test_error_verdict_is_the_worse_of_rate_and_ratio(tmp_path: Path) -> None:
    family = RequestsBinding(
        convention="Prometheus client",
        metric="http_requests_total",
        status_label="code",
        error_match='=~"5.."',
    )
    b = Bindings(service_label="job", services=["busy", "quiet", "idle"], requests=family)
    out = _outcomes(
        {
            "error_rate.0": {"busy": 6.0, "quiet": 0.5, "idle": 0.0},
            "request_rate.0": {"busy": 100_000.0, "quiet": 4.0, "idle": 0.0},
        }
    )
    j = judge(("errors",), b, b.services, False, out, load_config())
    got = {e.service: (e.verdict, e.share) for e in j.errors or []}
    assert got == {
        "busy": (Verdict.CRITICAL, " (<0.1% of requests)"),  # 6 errors/s is CRITICAL alone
        "quiet": (Verdict.CRITICAL, " (12.5% of requests)"),  # 0.5/s is OK, 12.5% is not
        "idle": (Verdict.OK, ""),  # no requests: no ratio
    }
    path = tmp_path / "metrics.yml"
    path.write_text("thresholds:\n  error_ratio_percent: {elevated: 20, high: 30, critical: 40}\n")
    j = judge(("errors",), b, b.services, False, out, load_config(path))
    assert [e.verdict for e in j.errors or []] == [Verdict.CRITICAL, Verdict.OK, Verdict.OK]
