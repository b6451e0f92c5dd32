"""The bot's own /metrics, log hygiene (request ids, no secrets) and `check-config`."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator

import aiohttp
import pytest
import structlog
from typer.testing import CliRunner

from bot.cli import cli
from bot.health import check_everything
from bot.observability import REDACTED, install_logging
from sandbox.slack_emulator import SlackEmulator
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, Harness, make_settings

ALICE = "U0ALICE"


async def scrape(h: Harness) -> str:
    async with aiohttp.ClientSession() as session, session.get(f"{h.url}/metrics") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        return await resp.text()


def sample(text: str, metric: str, /, **labels: str) -> float:
    """The value of one sample in the exposition text (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(metric):
            continue
        series, _, value = line.rpartition(" ")
        found = dict(re.findall(r'(\w+)="([^"]*)"', series))
        if series.split("{")[0] == metric and all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return 0.0


async def test_metrics_count_commands_latency_errors_and_open_incidents(harness: Harness) -> None:
    before = await scrape(harness)
    assert sample(before, "incident_bot_open_incidents") == 0
    assert sample(before, "incident_bot_commands_total") == 0

    await harness.driver.command("help", user=ALICE, channel=harness.incidents_id)
    await harness.declare("Checkout down sev:2", user=ALICE)
    # refused: not an incident channel
    await harness.driver.command("status monitoring", user=ALICE, channel=harness.incidents_id)
    # Slack fails a call: counted by method and error
    harness.slack.fail("conversations.create", "restricted_action")
    await harness.driver.command("declare Other thing", user=ALICE, channel=harness.incidents_id)
    # one 429, retried after Retry-After by the SDK: counted, the call still succeeds
    harness.slack.fail("conversations.setTopic", "ratelimited", retry_after=0)
    channel = await harness.declare("Search slow", user=ALICE)
    await harness.driver.command("frobnicate", user=ALICE, channel=harness.incidents_id)
    await harness.driver.command("resolve", user="U0BOB", channel=channel)
    await harness.driver.command("action list", user=ALICE, channel=channel)
    incident = await harness.bot.services.incidents.for_channel(channel)
    assert incident is not None and incident.header_ts is not None
    await harness.driver.click(
        "resolve_incident", incident.id, user=ALICE, channel=channel,
        message_ts=incident.header_ts,
    )

    text = await scrape(harness)
    assert sample(
        text, "incident_bot_commands_total", kind="command", name="/incident help", outcome="ok"
    ) == 1
    assert sample(
        text, "incident_bot_commands_total", kind="command", name="/incident declare", outcome="ok"
    ) == 2
    # the Slack failure is explained to the user: a refusal, not a crash
    assert sample(
        text,
        "incident_bot_commands_total",
        kind="command",
        name="/incident declare",
        outcome="refused",
    ) == 1
    # what was typed was wrong: outside an incident channel, or no such subcommand
    assert sample(
        text,
        "incident_bot_commands_total",
        kind="command",
        name="/incident status",
        outcome="usage_error",
    ) == 1
    assert sample(
        text,
        "incident_bot_commands_total",
        kind="command",
        name="/incident unknown",
        outcome="usage_error",
    ) == 1
    # not the IC: denied; the header's Resolve button by the IC: an action, ok
    assert sample(
        text, "incident_bot_commands_total", kind="command", name="/incident resolve",
        outcome="denied",
    ) == 1
    assert sample(
        text, "incident_bot_commands_total", kind="action", name="resolve_incident", outcome="ok"
    ) == 1
    assert sample(
        text, "incident_bot_commands_total", kind="command", name="/incident action list",
        outcome="ok",
    ) == 1
    assert sample(text, "incident_bot_ack_latency_seconds_count") == 9
    assert sample(text, "incident_bot_ack_latency_seconds_bucket", le="3.0") == 9
    assert sample(
        text,
        "incident_bot_slack_api_errors_total",
        method="conversations.create",
        error="restricted_action",
    ) == 1
    assert sample(
        text, "incident_bot_slack_rate_limited_total", method="conversations.setTopic"
    ) == 1
    assert sample(text, "incident_bot_open_incidents") == 1


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    saved = structlog.get_config()
    out = io.StringIO()
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    try:
        yield out
    finally:
        structlog.configure(**saved)


async def test_logs_carry_request_ids_and_never_secrets(
    harness: Harness, log_output: io.StringIO
) -> None:
    install_logging([BOT_TOKEN, SIGNING_SECRET, "sk-ant-api03-secret"])
    log = structlog.get_logger("test")
    await harness.driver.command("help", user=ALICE, channel=harness.incidents_id)
    await harness.driver.command("status monitoring", user=ALICE, channel=harness.incidents_id)
    log.info(
        "oops_logged_a_secret",
        token=BOT_TOKEN,
        header=f"Bearer {BOT_TOKEN}",
        nested={"secret": SIGNING_SECRET, "list": ["xapp-1-A0-123-abc", "sk-ant-api03-zzz"]},
        message=f"signing secret is {SIGNING_SECRET}",
    )
    text = log_output.getvalue()
    for secret in (BOT_TOKEN, SIGNING_SECRET, "xapp-1-A0", "sk-ant-api03"):
        assert secret not in text
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    [leak] = [line for line in lines if line["event"] == "oops_logged_a_secret"]
    assert leak["token"] == REDACTED and leak["nested"]["list"] == [REDACTED, REDACTED]
    # the refused command's log line carries the request id of the request that caused it
    [refused] = [line for line in lines if line["event"] == "command_refused"]
    assert re.fullmatch(r"[0-9a-f]{12}", refused["request_id"])


async def test_check_config_reaches_slack_and_redis(slack: SlackEmulator, redis_url: str) -> None:
    good = make_settings(slack, redis_url)
    results = {name: (ok, detail) for name, ok, detail in await check_everything(good)}
    assert results["slack"][0] is True and results["redis"][0] is True
    assert results["prometheus"][0] is None and results["anthropic"][0] is None

    bad = make_settings(slack, "redis://127.0.0.1:1/0")
    results = {name: (ok, detail) for name, ok, detail in await check_everything(bad)}
    assert results["slack"][0] is True
    assert results["redis"] == (False, "cannot reach redis://127.0.0.1:1/0")


def test_check_config_command_names_the_failing_part(
    slack: SlackEmulator, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("PROMETHEUS_URL", "ANTHROPIC_API_KEY", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_API_URL", slack.api_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    good = CliRunner().invoke(cli, ["check-config"])
    assert good.exit_code == 0, good.output
    assert "ok   slack" in good.output and "ok   redis" in good.output

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    bad = CliRunner().invoke(cli, ["check-config"])
    assert bad.exit_code == 1
    assert "FAIL redis: cannot reach redis://127.0.0.1:1/0" in bad.output
    assert "ok   slack" in bad.output
