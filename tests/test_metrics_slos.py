"""SLOs and burn rates on a REAL Prometheus that evaluates Sloth-style and Pyrra-style
recording rules itself, from a rules file, over backfilled data, plus an SLO given in
METRICS_CONFIG; verify-before-resolve and the relapse watch judge by burn rate where an
SLO exists; the postmortem's Impact section states the budget an incident consumed.

Rules are evaluated at wall-clock time and a TSDB refuses results older than its newest
block's end, so this data ends at "now" and the checks run on the real clock (the data's
last minutes stay in the rate windows for the few seconds the module takes)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bot.clock import ManualClock
from bot.incidents.models import Incident, Status
from bot.metrics import MetricsService, PrometheusSource, load_config, render_check
from bot.metrics.incident_checks import record_budget_consumed, still_bad
from bot.metrics.models import Verdict
from bot.metrics.render_discovery import render_fleet_discovery
from bot.metrics.slos import burn_verdict, canonical
from bot.postmortem.analysis import analyze
from bot.postmortem.render import render_markdown
from bot.store.redis_store import RedisStore
from bot.timeline.service import TimelineService
from sandbox.prometheus_scenario import PrometheusServer
from sandbox.scenarios import generate
from sandbox.slack_emulator import SlackEmulator
from sandbox.slo_scenarios import METRICS_CONFIG, RULES, SLOS
from tests.conftest import running_bot

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def slo_prometheus() -> Iterator[PrometheusServer]:
    with PrometheusServer(
        openmetrics=lambda: generate(SLOS, extend=timedelta(0)), rules=RULES
    ) as server:
        # each rule group is evaluated on its own schedule: wait for every kind of record
        for record in (
            "slo:sli_error:ratio_rate5m",
            "slo:objective:ratio",
            "http_requests:burnrate5m",
            "pyrra_objective",
        ):
            server.wait_for_series(record)
        yield server


@pytest.fixture(scope="module")
def config_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("slos") / "metrics.yml"
    path.write_text(METRICS_CONFIG)
    return path


def service_for(prom: PrometheusServer, config_path: Path) -> MetricsService:
    return MetricsService(
        source=PrometheusSource(prom.url, timeout=2.0),
        config=load_config(config_path),
        clock=lambda: datetime.now(UTC),
    )


def test_the_workbook_rule() -> None:
    assert burn_verdict({"1h": 14.4, "5m": 14.4}) is Verdict.CRITICAL
    assert burn_verdict({"1h": 20.0, "5m": 1.0}) is Verdict.OK  # over, and no longer burning
    assert burn_verdict({"6h": 6.0, "30m": 7.0}) is Verdict.CRITICAL
    assert burn_verdict({"1d": 3.0, "2h": 3.5}) is Verdict.HIGH
    assert burn_verdict({"3d": 1.0, "6h": 1.2, "1h": 2.0, "5m": 2.0}) is Verdict.HIGH
    assert burn_verdict({"3d": 0.9, "6h": 0.9}) is Verdict.OK
    # Pyrra scales its windows to the SLO's: seven windows map by position
    scaled = ["5m", "32m", "1h4m", "2h9m", "6h26m", "1d2h", "4d6h"]
    assert canonical(scaled)["1h4m"] == "1h" and canonical(scaled)["4d6h"] == "3d"


async def test_slos_are_found_through_the_rules_and_label_values(
    slo_prometheus: PrometheusServer, config_path: Path
) -> None:
    svc = service_for(slo_prometheus, config_path)
    b = await svc.bindings()
    assert [(x.kind, x.services, x.service_label) for x in b.slos] == [
        ("sloth", ["tidepool-api"], None),
        ("pyrra", ["kelp-router"], "job"),
    ]
    pyrra = b.slos[1]
    assert pyrra.objectives == {"kelp-router-availability": 0.99}  # from its alert rule
    assert pyrra.metrics == ["http_requests:burnrate5m"]
    shown = render_fleet_discovery(await svc.fleet(), svc.config.slos)
    assert "slos      Sloth's recording rules" in shown and "for 1: tidepool-api" in shown
    assert "SLOs from METRICS_CONFIG: reef-ledger (99.5% over 30d)." in shown


async def test_burn_rates_and_the_budget_left(
    slo_prometheus: PrometheusServer, config_path: Path
) -> None:
    svc = service_for(slo_prometheus, config_path)
    report = await svc.check()
    slos = {x.service: x for x in report.slos}
    tide, kelp, reef = slos["tidepool-api"], slos["kelp-router"], slos["reef-ledger"]
    assert (tide.source, round(tide.objective, 6), tide.verdict) == (
        "sloth",
        0.999,
        Verdict.CRITICAL,
    )
    assert tide.burn["5m"] > 40 and 14.4 < tide.burn["1h"] < 20
    assert (kelp.source, round(kelp.objective, 6), kelp.verdict) == ("pyrra", 0.99, Verdict.HIGH)
    assert {round(kelp.burn[w], 1) for w in ("5m", "1h", "6h", "1d", "3d")} == {4.0}
    assert (reef.source, reef.verdict) == ("config", Verdict.OK)
    assert round(reef.burn["1h"], 2) == 0.2 and round(reef.budget_left or 0, 2) == 0.8

    text = render_check(report)
    block = text.split("ERROR BUDGETS:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert block[0].startswith("  - tidepool-api: burns its 99.9% budget at ")
    assert block[0].endswith("[CRITICAL]") and ": page-worthy;" in block[0]
    assert block[1] == (
        "  - kelp-router: burns its 99% budget at 4.0× (5m) / 4.0× (1h) / 4.0× (6h): "
        "ticket-worthy [HIGH]"
    )
    assert block[2] == (
        "  - reef-ledger: burns its 99.5% budget at 0.2× (5m) / 0.2× (1h) / 0.2× (6h): "
        "within budget; 80% of its 30d budget left [OK]"
    )
    # 3 errors/s is HIGH by the absolute band, but reef-ledger is judged by its SLO
    assert "  - reef-ledger: 3.00 errors/sec (0.1% of requests) [HIGH]" in text
    assert report.affected_services == ["tidepool-api", "kelp-router"]
    assert not any(line.startswith("reef-ledger") for line in report.findings(Verdict.HIGH))
    assert report.query_seconds.keys() >= {"slo.sloth", "slo.pyrra_burn", "slo.config.0"}


def incident(services: list[str], declared: datetime) -> Incident:
    return Incident(
        id="INC-20260101-0001",
        title="Payments failing",
        services=services,
        channel_id="C0INC",
        channel_name="inc-20260101-payments",
        declared_by="U0ALICE",
        declared_at=declared,
    )


async def test_verify_and_relapse_judge_by_burn_rate(
    slo_prometheus: PrometheusServer, config_path: Path
) -> None:
    svc = service_for(slo_prometheus, config_path)
    now = datetime.now(UTC)
    # reef-ledger's 3 errors/s alone would hold a resolve; its SLO says it is fine
    assert await still_bad(svc, incident(["reef-ledger"], now)) is None
    bad = await still_bad(svc, incident(["tidepool-api", "reef-ledger"], now))
    assert bad is not None and bad.services == ["tidepool-api", "reef-ledger"]
    assert len(bad.findings) == 1
    assert bad.findings[0].startswith("tidepool-api burns its 99.9% budget at ")


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[RedisStore]:
    r = aioredis.Redis.from_url(redis_url, decode_responses=True)
    yield RedisStore(r)
    await r.aclose()


async def test_the_postmortem_states_the_budget_consumed(
    slo_prometheus: PrometheusServer, config_path: Path, store: RedisStore
) -> None:
    svc = service_for(slo_prometheus, config_path)
    now = datetime.now(UTC)  # after the rules' first evaluation (the fixture waited for it)
    clock = ManualClock(now)
    inc = incident(["tidepool-api", "kelp-router", "reef-ledger", "coral-web"], now)
    inc = inc.model_copy(
        update={
            "declared_at": now - timedelta(minutes=8),
            "impact_started_at": now - timedelta(minutes=10),
            "resolved_at": now,
            "status": Status.RESOLVED,
        }
    )
    uses = await svc.budget_consumed(inc.services, now - timedelta(minutes=10), now)
    used = {u.service: u for u in uses}
    assert set(used) == {"tidepool-api", "kelp-router", "reef-ledger"}  # coral-web: no SLO
    # tidepool-api: ~5% errors for 10 min against 0.1% over 30 days: ~1.2% of the budget
    assert 0.008 < used["tidepool-api"].consumed < 0.015
    # kelp-router: 4% against 1% over Pyrra's 28 days
    assert round(used["kelp-router"].consumed, 4) == round(0.04 / 0.01 * 600 / (28 * 86400), 4)
    assert used["reef-ledger"].consumed < 0.0001

    timeline = TimelineService(store=store, clock=clock)
    text = await record_budget_consumed(svc, timeline, clock, inc)
    assert text is not None and text.startswith("Error budget consumed: tidepool-api: 1.")
    assert "of its 30d 99.9% error budget (" in text and "requests failed over 10 min)" in text
    entries = await store.timeline(inc.id)
    markdown = render_markdown(analyze(inc, entries, library=None, now=now).postmortem)
    impact = markdown.split("## Impact\n", 1)[1].split("\n## ", 1)[0]
    [line] = [x for x in impact.splitlines() if x.startswith("- Error budget consumed: ")]
    assert "tidepool-api: 1." in line and "kelp-router: 0.1% of its 28d 99% error budget" in line
    assert "Metric reading" not in impact  # stated once, as the budget, not as a reading


async def test_resolving_keeps_the_budget_for_the_postmortem(
    slack: SlackEmulator, redis_url: str, slo_prometheus: PrometheusServer, config_path: Path
) -> None:
    async with running_bot(
        slack,
        redis_url,
        prometheus_url=slo_prometheus.url,
        metrics_config=str(config_path),
        snapshot_on_declare=False,
    ) as h:
        channel = await h.declare("Ledger slow services:reef-ledger", user="U0ALICE")
        await h.driver.command("resolve Retried the batch", user="U0ALICE", channel=channel)
        resolved = await h.bot.services.incidents.for_channel(channel)
        assert resolved is not None and resolved.status is Status.RESOLVED  # its SLO is fine
        events = await h.bot.services.store.timeline(resolved.id)
        [budget] = [e.event for e in events if "error_budget" in e.event.data]
        assert budget.text.startswith("Error budget consumed: reef-ledger: <0.1% of its 30d")
        assert "budget_consumed_percent.reef-ledger" in budget.data
