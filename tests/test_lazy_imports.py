"""Heavy libraries load on first use, not when a process starts: `serve`, `socket` and
`worker` are each started in a subprocess the way `incident-bot <kind>` starts them
(tests/import_probe.py), with every optional feature that uses one of them configured
(Prometheus, the model, the status page, publishing, trackers, the web app with sign-in),
and once ready none of matplotlib, pandas, numpy, prometheus-api-client, anthropic, jinja2
or aiohttp-jinja2 is in sys.modules, nor requests (Prometheus's HTTP), markdown-it
(publishing, postmortem pages) or aiosmtplib (the status page's mail). The features' own
code is loaded (so they really were installed).

A feature that needs one of these imports it inside the function that uses it (see
bot/metrics/chart.py). This test is structural, not a timing: the idle RSS it saves is
measured by bench/bench_memory.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sandbox.slack_emulator import SlackEmulator
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, free_port

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("matplotlib", "pandas", "numpy", "prometheus_api_client", "requests", "anthropic",
         "jinja2", "aiohttp_jinja2", "markdown_it", "aiosmtplib")
APP_TOKEN = "xapp-1-A0APP-lazy-imports"
# modules of the features configured below: loaded at start, so the features are installed
FEATURE_MODULES = ("bot.metrics.service", "bot.postmortem.llm", "bot.statuspage.service",
                   "bot.publishing.confluence", "bot.web.pages")
COMPONENTS = "components:\n  - name: Checkout\n    services: [checkout]\n"


def everything_on(slack: SlackEmulator, redis_url: str, tmp_path: Path) -> dict[str, str]:
    components = tmp_path / "components.yml"
    components.write_text(COMPONENTS)
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens: no call may be made at start
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "REDIS_URL": redis_url,
        "PORT": str(free_port()),
        "WORKER_PORT": str(free_port()),
        "PROMETHEUS_URL": dead,
        "ANTHROPIC_API_KEY": "sk-ant-lazy-imports",
        "ANTHROPIC_BASE_URL": dead,
        "STATUS_PAGE_COMPONENTS": str(components),
        "CONFLUENCE_URL": dead,
        "CONFLUENCE_EMAIL": "bot@example.com",
        "CONFLUENCE_API_TOKEN": "confluence-token",
        "CONFLUENCE_SPACE_ID": "123",
        "JIRA_URL": dead,
        "JIRA_EMAIL": "bot@example.com",
        "JIRA_API_TOKEN": "jira-token",
        "JIRA_PROJECT": "OPS",
        "ALERTMANAGER_TOKEN": "am-token",
        "SLACK_CLIENT_ID": "1234.5678",
        "SLACK_CLIENT_SECRET": "client-secret-lazy",
        "WEB_BASE_URL": "http://127.0.0.1:9",
        "WEB_SESSION_SECRET": "s" * 40,
    }


def loaded_modules(kind: str, env: dict[str, str]) -> set[str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("SLACK_", "REDIS_", "ANTHROPIC_", "PROMETHEUS_"))}
    done = subprocess.run(
        [sys.executable, "-m", "tests.import_probe", kind], env={**clean, **env}, cwd=ROOT,
        capture_output=True, text=True, timeout=60,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert done.returncode == 0 and lines, f"{kind} never got ready:\n{done.stderr[-3000:]}"
    report = json.loads(lines[-1])
    assert report["ready"] is True
    return set(report["modules"])


@pytest.mark.parametrize("kind", ["serve", "socket", "worker"])
def test_a_started_process_has_not_imported_the_heavy_libraries(
    kind: str, slack: SlackEmulator, redis_url: str, tmp_path: Path
) -> None:
    env = everything_on(slack, redis_url, tmp_path)
    if kind == "socket":
        slack.add_app_token(APP_TOKEN)
        env["SLACK_APP_TOKEN"] = APP_TOKEN
    modules = loaded_modules(kind, env)
    for _ in range(200):  # the stand-in sees the socket of the ended process close
        if not slack.socket_mode.connections:
            break
        time.sleep(0.05)
    assert not slack.socket_mode.connections
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert heavy == [], f"`{kind}` imported at start: {', '.join(heavy[:20])}"
    assert set(FEATURE_MODULES) <= modules, sorted(set(FEATURE_MODULES) - modules)
