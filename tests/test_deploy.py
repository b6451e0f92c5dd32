"""deploy/, docker-compose.yml and the Dockerfile, checked by the tools that read them:
promtool (check and unit-test the rules), the Compose Specification's JSON schema
(tests/fixtures/compose-spec.json, see tests/fixtures/README.md) and the packaging rules."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
PROM = ROOT / "deploy/prometheus"
GRAFANA = ROOT / "deploy/grafana"
BOT_RULES = PROM / "incident-bot.rules.yml"
EXAMPLE_RULES = PROM / "alerts.yml"
DASHBOARD = GRAFANA / "dashboards/incident-bot.json"
METRIC = re.compile(r"\b(incident_bot_[a-z_]+?)(?:_bucket|_count|_sum)?\b")


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool is required (Debian package `prometheus`; `make system-deps`)")
    return subprocess.run(
        [binary, *args], capture_output=True, text=True, check=False, cwd=PROM, timeout=60
    )


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def alert_names(path: Path) -> set[str]:
    return {r["alert"] for g in load_yaml(path)["groups"] for r in g["rules"] if "alert" in r}


def bot_metric_names(text: str) -> set[str]:
    return set(METRIC.findall(text))


def rule_exprs(path: Path) -> str:
    return "\n".join(r["expr"] for g in load_yaml(path)["groups"] for r in g["rules"])


# --- Prometheus rules -----------------------------------------------------------------------


def test_bot_rules_and_config_pass_promtool_check() -> None:
    rules = promtool("check", "rules", BOT_RULES.name, EXAMPLE_RULES.name)
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert "SUCCESS: 9 rules found" in rules.stdout
    config = promtool("check", "config", "prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr
    assert "SUCCESS: 2 rule files found" in config.stdout


def test_bot_rules_fire_on_synthetic_series_and_stay_quiet_otherwise() -> None:
    result = promtool("test", "rules", "incident-bot.rules.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    # every bot alert has at least one test where it fires
    tests = load_yaml(PROM / "incident-bot.rules.test.yml")["tests"]
    fired = {
        case["alertname"]
        for t in tests
        for case in t.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert fired == alert_names(BOT_RULES)


def test_bot_rules_cover_what_the_issue_names() -> None:
    names = alert_names(BOT_RULES)
    assert {
        "IncidentBotDown",
        "IncidentBotSlackApiErrors",
        "IncidentBotSlackRateLimited",
        "IncidentBotReminderScanFailing",
        "IncidentBotReminderScanStale",
        "IncidentBotRemindersLagging",
        "IncidentBotAckLatencyHigh",
        "IncidentBotModelFallbacks",
        "IncidentBotRedisErrors",
    } == names


def test_bot_rules_and_example_rules_stay_apart() -> None:
    bot_text, example_text = BOT_RULES.read_text(), EXAMPLE_RULES.read_text()
    assert "incident_bot_" not in example_text
    assert "EXAMPLE" in example_text.splitlines()[0]
    for seed_metric in ("db_connections", "http_requests_total", "api-server", "web-service"):
        assert seed_metric not in bot_text
    assert not alert_names(BOT_RULES) & alert_names(EXAMPLE_RULES)
    config = load_yaml(PROM / "prometheus.yml")
    assert config["rule_files"] == ["incident-bot.rules.yml", "alerts.yml"]
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    # the bot's own processes are scraped, and the bot's 'up' alert matches their job names
    assert {"incident-bot-web", "incident-bot-worker"} <= set(jobs)
    assert jobs["incident-bot-worker"]["static_configs"][0]["targets"] == ["worker:8081"]


# --- Grafana ----------------------------------------------------------------------------------


def test_dashboard_has_a_panel_for_every_series_the_rules_watch() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    exprs = [t["expr"] for p in panels for t in p["targets"]]
    for expr in exprs:
        assert expr.count("(") == expr.count(")"), expr
    assert all(t["datasource"]["uid"] == "prometheus" for p in panels for t in p["targets"])
    shown = bot_metric_names("\n".join(exprs))
    assert bot_metric_names(rule_exprs(BOT_RULES)) <= shown
    assert any('up{job=~"incident-bot.*"}' in e for e in exprs)
    datasource = load_yaml(GRAFANA / "provisioning/datasources/prometheus.yml")["datasources"][0]
    assert datasource["uid"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090"


def test_compose_provisions_grafana_with_the_dashboard() -> None:
    compose = load_yaml(ROOT / "docker-compose.yml")
    grafana = compose["services"]["grafana"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in grafana["volumes"]}
    assert mounts["/etc/grafana/provisioning"] == "./deploy/grafana/provisioning"
    provider = load_yaml(GRAFANA / "provisioning/dashboards/incident-bot.yml")["providers"][0]
    dashboards_dir = mounts[provider["options"]["path"]]
    assert (ROOT / dashboards_dir / DASHBOARD.name).is_file()


# --- Compose ----------------------------------------------------------------------------------


def compose_schema() -> dict[str, Any]:
    return json.loads((ROOT / "tests/fixtures/compose-spec.json").read_text())  # type: ignore[no-any-return]


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    compose = load_yaml(ROOT / "docker-compose.yml")
    validator = jsonschema.Draft7Validator(compose_schema())
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_the_schema_really_rejects_a_broken_compose_file() -> None:
    compose = load_yaml(ROOT / "docker-compose.yml")
    compose["services"]["worker"]["depends_on"] = {"redis": {"condition": "when_ready"}}
    compose["services"]["web"]["restart_policy"] = "always"  # not a Compose key
    errors = list(jsonschema.Draft7Validator(compose_schema()).iter_errors(compose))
    where = sorted(list(e.path) for e in errors)
    assert where == [["services", "web"], ["services", "worker", "depends_on"]]


def test_compose_references_resolve_in_every_profile() -> None:
    compose = load_yaml(ROOT / "docker-compose.yml")
    services = compose["services"]
    profiles = {p for s in services.values() for p in s.get("profiles", [])}
    # the default stack and every profile (e.g. `scale`) start only services that exist,
    # mount files that exist and use named volumes that are declared
    for profile in [None, *sorted(profiles)]:
        active = {
            name
            for name, s in services.items()
            if not s.get("profiles") or (profile in s.get("profiles", []))
        }
        for name in active:
            service = services[name]
            depends = service.get("depends_on", [])
            assert set(depends) <= active, (profile, name, depends)
            for volume in service.get("volumes", []):
                source = volume.split(":")[0]
                if source.startswith("./"):
                    assert (ROOT / source).exists(), (name, source)
                else:
                    assert source in compose.get("volumes", {}), (name, source)
    assert {"web", "worker", "redis", "prometheus", "grafana"} <= set(services)
    # the image's HEALTHCHECK probes PORT; a worker listens on WORKER_PORT, so every worker
    # (in every profile) must probe that instead
    workers = [n for n, s in services.items() if s.get("command") == ["incident-bot", "worker"]]
    assert "worker" in workers
    for name in workers:
        check = services[name].get("healthcheck", {}).get("test")
        assert check == ["CMD", "incident-bot", "healthcheck", "--worker"], name


# --- Dockerfile -------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_dockerfile_pins_its_base_runs_as_non_root_and_checks_health() -> None:
    steps = dockerfile_instructions()
    base = next(arg for op, arg in steps if op == "FROM")
    # an exact Python patch release (or a digest), never a floating tag
    assert re.fullmatch(r"python:3\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", base), base
    users = [arg for op, arg in steps if op == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    ops = [op for op, _ in steps]
    assert ops.index("USER") < ops.index("CMD")
    health = next(arg for op, arg in steps if op == "HEALTHCHECK")
    assert '"incident-bot", "healthcheck"' in health
    runs = " ".join(arg for op, arg in steps if op == "RUN")
    assert "-r requirements.lock" in runs
    assert "--no-deps ." in runs


def test_every_runtime_dependency_is_pinned_within_the_declared_ranges() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    lock: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not pinned: {line}"
            lock[re.sub(r"[-_.]+", "-", name).lower()] = version
    for spec in pyproject["project"]["dependencies"]:
        req = Requirement(spec)
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        assert name in lock, f"{req.name} is not in requirements.lock"
        assert req.specifier.contains(lock[name]), f"{name}=={lock[name]} outside {req.specifier}"


def test_every_bot_series_the_rules_and_dashboard_use_is_exported() -> None:
    from bot.observability import BotMetrics, WorkerMetrics

    exported: set[str] = set()
    for registry in (BotMetrics().registry, WorkerMetrics().registry):
        for family in registry.collect():
            exported.add(family.name + ("_total" if family.type == "counter" else ""))
    panels = json.loads(DASHBOARD.read_text())["panels"]
    used = bot_metric_names(rule_exprs(BOT_RULES)) | bot_metric_names(
        "\n".join(t["expr"] for p in panels for t in p["targets"])
    )
    assert used <= exported, sorted(used - exported)
    assert len(used) >= 14
