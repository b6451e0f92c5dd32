"""The status page's pure parts: uptime the way Statuspage counts it, the components
file (and `incident-bot status-page suggest` against a real Prometheus), the public-words
check and the drafted wording."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import cli
from bot.incidents.models import Incident, Severity
from bot.statuspage.components import ComponentsError, load_components
from bot.statuspage.models import ComponentStatus, PublicIncident, PublicStatus, PublicUpdate
from bot.statuspage.uptime import component_uptime, format_percent
from bot.statuspage.wording import PublicContext, default_statuses, draft_title, public_problems
from sandbox.prometheus_scenario import PrometheusServer
from tests.prometheus_fixture import micrometer_prometheus  # noqa: F401

NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
MAJOR, PARTIAL, DEGRADED = ComponentStatus.MAJOR, ComponentStatus.PARTIAL, ComponentStatus.DEGRADED


def published(start: datetime, *steps: tuple[int, ComponentStatus], resolved: int | None = None,
              name: str = "Checkout", public_id: str = "abcdefabcdef") -> PublicIncident:
    """A public incident on `name`: (minutes after start, status) per update."""
    updates = [PublicUpdate(id=f"u{i}", status="investigating", body="…",
                            at=start + timedelta(minutes=m), components={name: s})
               for i, (m, s) in enumerate(steps)]
    end = None if resolved is None else start + timedelta(minutes=resolved)
    if end is not None:
        updates.append(PublicUpdate(id="done", status="resolved", body="…", at=end,
                                    components={name: ComponentStatus.OPERATIONAL}))
    return PublicIncident(id=public_id, incident_id="INC-1", name="x",
                          status=PublicStatus.RESOLVED if end else PublicStatus.INVESTIGATING,
                          components={name: steps[-1][1]}, created_at=start, updated_at=start,
                          started_at=start, resolved_at=end, updates=updates)


def test_a_major_outage_counts_fully_a_partial_one_at_30_percent() -> None:
    day = NOW.replace(hour=10)
    up = component_uptime("Checkout", [published(day, (0, MAJOR), resolved=60)], NOW)
    assert len(up.days) == 90 and up.days[-1].day == NOW.date()
    assert up.days[-1].down_minutes == pytest.approx(60)
    assert up.days[-1].level == "major"
    assert up.percent == pytest.approx(100 * (1 - 60 / (90 * 1440)))
    partial = component_uptime("Checkout", [published(day, (0, PARTIAL), resolved=100)], NOW)
    assert partial.days[-1].down_minutes == pytest.approx(30)
    degraded = component_uptime("Checkout", [published(day, (0, DEGRADED), resolved=600)], NOW)
    assert degraded.percent == 100.0 and degraded.days[-1].level == "operational"
    assert degraded.days[-1].incidents == ["x"]


def test_status_changes_overlaps_and_midnight() -> None:
    evening = (NOW - timedelta(days=1)).replace(hour=23)
    steps = published(evening, (0, PARTIAL), (30, MAJOR), resolved=90)  # 30 m partial, 60 major
    other = published(evening + timedelta(minutes=40), (0, MAJOR), resolved=20,
                      public_id="bbbbbbbbbbbb")  # inside the first
    up = component_uptime("Checkout", [steps, other], NOW)
    yesterday, today = up.days[-2], up.days[-1]
    assert yesterday.down_minutes == pytest.approx(0.3 * 30 + 30)  # 23:00-23:30, 23:30-24:00
    assert today.down_minutes == pytest.approx(30)  # 00:00-00:30 major, the overlap once
    assert component_uptime("Search", [steps], NOW).percent == 100.0


def test_an_ongoing_outage_counts_until_now_and_the_percent_never_rounds_up() -> None:
    up = component_uptime("Checkout", [published(NOW - timedelta(minutes=5), (0, MAJOR))], NOW)
    assert up.days[-1].down_minutes == pytest.approx(5)
    assert format_percent(99.99999) == "99.99%"


def test_the_components_file_is_checked_at_start(tmp_path: Path) -> None:
    path = tmp_path / "c.yml"
    path.write_text("components:\n  - name: Checkout\n    services: [Checkout-API]\n"
                    "  - name: checkout\n")
    with pytest.raises(ComponentsError, match="listed twice"):
        load_components(str(path))
    path.write_text("components:\n  - name: Checkout\n    colour: red\n")
    with pytest.raises(ComponentsError, match=r"components\.0\.colour"):
        load_components(str(path))
    with pytest.raises(ComponentsError, match="cannot read"):
        load_components(str(tmp_path / "missing.yml"))
    path.write_text("components:\n  - name: Web App\n    services: [Web-API]\n")
    loaded = load_components(str(path))
    assert loaded.find("web-app") is not None and loaded.components[0].services == ["web-api"]


def test_public_words_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "c.yml"
    path.write_text("components:\n  - name: Checkout\n    services: [checkout-api]\n"
                    "  - name: Ledger\n    services: [ledger]\n    internal: true\n")
    components = load_components(str(path))
    incident = Incident(id="INC-20261123-0001", title="Card vault exposed", channel_id="C1",
                        channel_name="inc-20261123-card-vault", declared_by="U1",
                        declared_at=NOW, services=["checkout-api", "ledger"], private=True,
                        severity=Severity.SEV1)
    ctx = PublicContext(incident, components, people={"alice", "alice anders"})
    assert public_problems("Checkout is slow for some customers.", ctx) == []
    for text, why in [
        ("Alice is on it", "names someone"), ("The Ledger is behind", "internal service"),
        ("10.0.3.4 is down", "host"), ("api.internal failed", "host"),
        ("see INC-20261123-0001", "incident id"), ("the card vault again", "private incident"),
        ("in #inc-20261123-card-vault", "channel"),
    ]:
        assert any(why in p for p in public_problems(text, ctx)), text
    assert default_statuses(incident, components) == {"Checkout": MAJOR}  # Ledger is internal
    assert draft_title({"Checkout": DEGRADED, "Search": PARTIAL}) == \
        "Checkout and Search partially unavailable"


def test_suggest_writes_a_components_file_from_discovery(
    micrometer_prometheus: PrometheusServer,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PROMETHEUS_URL", micrometer_prometheus.url)
    out = tmp_path / "components.yml"
    result = CliRunner().invoke(cli, ["status-page", "suggest", "--write", str(out)])
    assert result.exit_code == 0, result.output
    loaded = load_components(str(out))
    assert len(loaded.components) == 5
    assert all(c.services and c.name[0].isupper() for c in loaded.components)
    assert "courier-dispatch" in {s for c in loaded.components for s in c.services}
