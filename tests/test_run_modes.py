"""Every run mode is observable, tested through the real processes: the worker's side
server (WORKER_PORT) and what its /healthz says when its Redis dies and comes back, and the
Slack token checked at start; the `socket` process against the local Socket Mode
stand-in (sandbox/socket_mode.py), with an Alertmanager webhook posted to its side server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings
from bot.store.redis_store import RedisStore, connect
from sandbox import slack_requests as sr
from sandbox.slack_emulator import SlackEmulator
from sandbox.socket_mode import envelope
from tests.conftest import BOT_TOKEN, free_port
from tests.processes import BotProcess, metric_value
from tests.test_durability import OwnRedis


@pytest.fixture
def worker_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def worker_process(
    slack: SlackEmulator, redis_url: str, tmp_path: Path, token: str = BOT_TOKEN
) -> BotProcess:
    port = free_port()
    env = {
        "SLACK_BOT_TOKEN": token,
        "SLACK_API_URL": slack.api_url,
        "REDIS_URL": redis_url,
        "WORKER_PORT": str(port),
        "REMINDER_SCAN_INTERVAL": "0.2",
    }
    return BotProcess("worker", env, port, tmp_path)


async def test_worker_health_turns_503_when_its_redis_dies_and_recovers_with_it(
    slack: SlackEmulator, worker_redis: OwnRedis, tmp_path: Path
) -> None:
    worker = worker_process(slack, worker_redis.url, tmp_path).start()
    try:
        body = json.loads(await worker.wait_for("/healthz", 200))
        assert body == {"ok": True, "redis": "ok", "slack": "ok", "scheduler": "ok"}
        assert worker.cli("healthcheck", "--worker").returncode == 0
        # the scan runs and says so on /metrics
        await worker.wait_for(
            "/metrics", 200, contains='incident_bot_worker_jobs_total{name="reminder_scan"}'
        )
        _, metrics = await worker.get("/metrics")
        assert metric_value(metrics, "incident_bot_reminder_last_success_timestamp_seconds") > 0
        assert metric_value(metrics, "incident_bot_reminders_due") == 0
        assert "incident_bot_reminder_scan_duration_seconds_bucket" in metrics

        worker_redis.kill()
        body = json.loads(await worker.wait_for("/healthz", 503))
        assert body["ok"] is False and body["scheduler"] == "ok" and body["slack"] == "ok"
        assert "Redis" in body["redis"]
        failed = worker.cli("healthcheck", "--worker")
        assert failed.returncode == 1 and "503" in failed.stderr
        # /metrics still answers while Redis is down, and counts the failures
        await worker.wait_for(
            "/metrics", 200, contains='incident_bot_worker_job_failures_total{name="reminder_scan"}'
        )
        _, metrics = await worker.get("/metrics")
        assert (
            metric_value(metrics, "incident_bot_worker_job_failures_total", name="reminder_scan")
            >= 1
        )
        assert metric_value(metrics, "incident_bot_redis_errors_total") >= 1

        worker_redis.start()  # same port: the worker reconnects by itself
        body = json.loads(await worker.wait_for("/healthz", 200))
        assert body["redis"] == "ok"
    finally:
        worker.stop()


async def test_worker_with_a_revoked_token_says_so_on_healthz(
    slack: SlackEmulator, redis_url: str, tmp_path: Path
) -> None:
    worker = worker_process(slack, redis_url, tmp_path, token="xoxb-revoked-token").start()
    try:
        body = json.loads(await worker.wait_for("/healthz", 503))
        assert body["slack"] == "auth.test: invalid_auth"
        assert body["redis"] == "ok" and body["scheduler"] == "ok"
        assert "xoxb-revoked-token" not in worker.log
    finally:
        worker.stop()


# --- Socket Mode --------------------------------------------------------------------------

APP_TOKEN = "xapp-1-A0APP-test-app-token"
AM_TOKEN = "am-socket-token-123"
ALICE = "U0ALICE"


def firing_alert() -> dict[str, object]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="QueueBacklog"}',
        "status": "firing",
        "receiver": "incident-bot",
        "groupLabels": {"alertname": "QueueBacklog"},
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "QueueBacklog", "severity": "warning", "queue": "emails"},
                "annotations": {"summary": "emails queue backlog above 10k"},
                "startsAt": "2026-11-23T13:55:00Z",
                "fingerprint": "9f8e7d6c5b4a3210",
            }
        ],
    }


@pytest.fixture
def socket_process(slack: SlackEmulator, redis_url: str, tmp_path: Path) -> Iterator[BotProcess]:
    slack.add_app_token(APP_TOKEN)
    port = free_port()
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": slack.api_url,
        "REDIS_URL": redis_url,
        "PORT": str(port),
        "ALERTMANAGER_TOKEN": AM_TOKEN,
        "SNAPSHOT_ON_DECLARE": "false",
    }
    process = BotProcess("socket", env, port, tmp_path).start()
    try:
        yield process
    finally:
        process.stop()


async def wait_until(predicate: Callable[[], bool], what: str, process: BotProcess) -> None:
    for _ in range(300):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}\n{process.log}")


async def test_socket_mode_process_serves_slack_over_the_socket_and_alertmanager_over_http(
    slack: SlackEmulator, redis_url: str, socket_process: BotProcess
) -> None:
    bot, socket = socket_process, slack.socket_mode
    body = json.loads(await bot.wait_for("/healthz", 200, contains='"socket"'))
    assert body == {"ok": True, "redis": "ok", "slack": "ok", "socket": "ok"}
    await socket.wait_connected()
    opens = slack.calls("apps.connections.open")
    assert [c.token for c in opens] == [APP_TOKEN]

    # a slash command over the socket: acknowledged by envelope id, then the channel exists
    incidents = slack.channel_by_name("incidents")
    assert incidents is not None
    before = set(slack.channel_ids())
    command = sr.slash_command(
        "/incident",
        "declare Email queue stuck sev:2",
        ALICE,
        incidents.id,
        response_url=slack.new_response_url(incidents.id, ALICE),
        trigger_id=slack.issue_trigger_id(),
    )
    declared = await socket.deliver(envelope(command))
    assert declared.ack is not None and declared.attempts == 1
    assert declared.ack["envelope_id"] == declared.envelope["envelope_id"]
    await wait_until(lambda: len(set(slack.channel_ids()) - before) == 1, "war room", bot)
    (war_room,) = set(slack.channel_ids()) - before
    store = RedisStore(connect(redis_url))
    try:  # the channel is made before the incident is recorded: a message waits for both
        for _ in range(300):
            if await store.incident_id_for_channel(war_room) is not None:
                break
            await asyncio.sleep(0.05)
    finally:
        await store.redis.aclose()

    # a message in the war room: stored before the ack, as over HTTP
    slack.post_as_user(war_room, ALICE, "restarted the email workers")
    posted = slack.messages(war_room)[-1]
    event = sr.event_callback(
        {
            "type": "message",
            "channel": war_room,
            "user": ALICE,
            "text": posted.text,
            "ts": posted.ts,
            "channel_type": "channel",
        }
    )
    acked = await socket.deliver(envelope(event))
    assert acked.ack == {"envelope_id": acked.envelope["envelope_id"]}
    store = RedisStore(connect(redis_url))
    try:
        incident_id = await store.incident_id_for_channel(war_room)
        assert incident_id is not None
        assert await store.has_message(incident_id, posted.ts)
    finally:
        await store.redis.aclose()

    # Alertmanager posts to the socket process's side server
    status, text = await bot.post_json(
        "/alertmanager", firing_alert(), {"Authorization": f"Bearer {AM_TOKEN}"}
    )
    assert status == 200, text
    assert json.loads(text)["posted"] == ["9f8e7d6c5b4a3210"]
    alert_posts = [m for m in slack.messages("incidents") if "emails queue backlog" in m.text]
    assert len(alert_posts) == 1
    status, _ = await bot.post_json("/alertmanager", firing_alert())
    assert status == 401
    # the pager webhooks live on the same side server (here: not configured, and say so)
    for path, setting in (
        ("/webhooks/pagerduty", "PAGERDUTY_WEBHOOK_SECRET"),
        ("/webhooks/opsgenie", "OPSGENIE_WEBHOOK_TOKEN"),
        ("/webhooks/jira/token", "JIRA_WEBHOOK_TOKEN"),
        ("/webhooks/github", "GITHUB_WEBHOOK_SECRET"),
        ("/webhooks/linear", "LINEAR_WEBHOOK_SECRET"),
    ):
        status, text = await bot.post_json(path, {"event": {}})
        assert status == 503 and setting in text, (path, status, text)
    # and so does the web app (not configured here: each of its pages names what to set)
    status, text = await bot.get("/incidents")
    assert status == 503 and "WEB_SESSION_SECRET" in text, (status, text)

    # Slack asks for a refresh: the bot opens a new connection and keeps working on it
    first = socket.last_connection_id
    await socket.disconnect("refresh_requested")
    await socket.wait_connected(after=first)
    await wait_until(lambda: len(slack.calls("apps.connections.open")) == 2, "reconnect", bot)
    help_command = sr.slash_command(
        "/incident",
        "help",
        ALICE,
        incidents.id,
        response_url=slack.new_response_url(incidents.id, ALICE),
        trigger_id=slack.issue_trigger_id(),
    )
    helped = await socket.deliver(envelope(help_command))
    assert helped.ack is not None
    assert socket.connections[-1].id > first
    assert [c.id for c in socket.closed_connections] == [first]

    # and the process counts what it handled on /metrics
    _, metrics = await bot.get("/metrics")
    declares = metric_value(
        metrics,
        "incident_bot_commands_total",
        kind="command",
        name="/incident declare",
        outcome="ok",
    )
    assert declares == 1
    # every envelope's time to acknowledgement, as over HTTP (declare, message, help)
    assert metric_value(metrics, "incident_bot_ack_latency_seconds_count") == 3
    body = json.loads(await bot.wait_for("/healthz", 200))
    assert body["socket"] == "ok"


async def test_socket_mode_leaves_an_event_unacknowledged_while_redis_is_down(
    slack: SlackEmulator, worker_redis: OwnRedis, tmp_path: Path
) -> None:
    """Over Socket Mode the 503 is 'no acknowledgement': Slack sends the envelope again
    (retry_attempt 1) and the event is stored then, once."""
    slack.add_app_token(APP_TOKEN)
    port = free_port()
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": slack.api_url,
        "REDIS_URL": worker_redis.url,
        "PORT": str(port),
        "SNAPSHOT_ON_DECLARE": "false",
    }
    bot = BotProcess("socket", env, port, tmp_path).start()
    socket = slack.socket_mode
    try:
        await bot.wait_for("/healthz", 200, contains='"socket"')
        await socket.wait_connected()
        incidents = slack.channel_by_name("incidents")
        assert incidents is not None
        before = set(slack.channel_ids())
        command = sr.slash_command(
            "/incident",
            "declare Search index stale sev:3",
            ALICE,
            incidents.id,
            response_url=slack.new_response_url(incidents.id, ALICE),
            trigger_id=slack.issue_trigger_id(),
        )
        assert (await socket.deliver(envelope(command))).ack is not None
        await wait_until(lambda: len(set(slack.channel_ids()) - before) == 1, "war room", bot)
        (war_room,) = set(slack.channel_ids()) - before
        ts = slack.post_as_user(war_room, ALICE, "reindex started")
        event = sr.event_callback(
            {
                "type": "message",
                "channel": war_room,
                "user": ALICE,
                "text": "reindex started",
                "ts": ts,
                "channel_type": "channel",
            },
            event_id="Ev0SOCKDOWN",
        )
        store = RedisStore(connect(worker_redis.url))
        for _ in range(300):  # the declare finishes after its ack: wait for the record
            if await store.incident_id_for_channel(war_room):
                break
            await asyncio.sleep(0.05)
        await store.redis.aclose()
        worker_redis.kill()
        first = await socket.deliver(envelope(event), timeout=1.0)
        assert first.ack is None  # Slack will deliver it again
        body = json.loads(await bot.wait_for("/healthz", 503))
        assert body["socket"] == "ok" and "Redis" in body["redis"]
        worker_redis.start()
        await bot.wait_for("/healthz", 200)
        again = await socket.deliver(envelope(event, retry_attempt=1))
        assert again.ack == {"envelope_id": again.envelope["envelope_id"]}
        store = RedisStore(connect(worker_redis.url))
        try:
            incident_id = await store.incident_id_for_channel(war_room)
            assert incident_id is not None
            texts = [e.text for _, e in await store.events(incident_id)]
            assert texts.count("reindex started") == 1
        finally:
            await store.redis.aclose()
    finally:
        bot.stop()


def http_env(slack: SlackEmulator, redis_url: str, port: int, **extra: str) -> dict[str, str]:
    """The settings of a process serving Slack over HTTP on `port`, and `extra`."""
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "process-signing-secret",
        "SLACK_API_URL": slack.api_url,
        "REDIS_URL": redis_url,
        "PORT": str(port),
        **extra,
    }


async def test_serve_process_answers_healthz_and_metrics_on_port(
    slack: SlackEmulator, redis_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = http_env(slack, redis_url, port)
    bot = BotProcess("serve", env, port, tmp_path).start()
    try:
        body = json.loads(await bot.wait_for("/healthz", 200))
        assert body == {"ok": True, "redis": "ok", "slack": "ok"}
        assert bot.cli("healthcheck").returncode == 0
        _, metrics = await bot.get("/metrics")
        for family in (
            "incident_bot_redis_errors_total",
            'incident_bot_model_drafts_total{outcome="fallback"}',
            "incident_bot_open_incidents",
            "incident_bot_ack_latency_seconds_bucket",
        ):
            assert family in metrics, family
        assert len(slack.calls("auth.test")) == 1  # the token is checked once, at start
        await bot.post_json("/webhooks/jira/not-the-token-7f3a", {})  # refused, and logged
        await bot.get("/healthz?probe=k8s-9d2e")
        # LOG_LEVEL=INFO: a JSON line per request, naming the route, not the path's tokens
        lines = [json.loads(line) for line in bot.log.splitlines() if '"http_request"' in line]
        assert {"method": "GET", "route": "/healthz", "status": 200} in [
            {k: line[k] for k in ("method", "route", "status")} for line in lines
        ]
        assert any(line["route"] == "/webhooks/jira/{token}" for line in lines)
        assert "not-the-token-7f3a" not in bot.log and "k8s-9d2e" not in bot.log
    finally:
        bot.stop()


async def test_log_level_warning_keeps_only_warnings_and_errors(
    slack: SlackEmulator, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LOG_LEVEL=warning (any case): no line per request and no start-up chatter, while a
    wrong level stops the process at start, naming the setting."""
    port = free_port()
    env = http_env(slack, redis_url, port, LOG_LEVEL="warning")
    bot = BotProcess("serve", env, port, tmp_path).start()
    try:
        for _ in range(3):
            await bot.wait_for("/healthz", 200)
        assert '"http_request"' not in bot.log and '"serving"' not in bot.log
    finally:
        bot.stop()
    monkeypatch.setenv("LOG_LEVEL", "loud")
    with pytest.raises(SettingsError, match="setting LOG_LEVEL is invalid"):
        load_settings()


async def test_make_run_with_credentials_runs_the_bot_and_its_worker_in_one_process(
    slack: SlackEmulator, redis_url: str, tmp_path: Path
) -> None:
    """`incident-bot run` (what `make run` calls) with credentials: the HTTP endpoint and the
    worker in one process, so a follower's DM queued by `/incident update` goes out without a
    second process; `--no-worker` leaves the worker to run elsewhere."""
    from sandbox.driver import SlackDriver

    port, worker_port = free_port(), free_port()
    env = http_env(slack, redis_url, port, WORKER_PORT=str(worker_port),
                   REMINDER_SCAN_INTERVAL="0.2", SNAPSHOT_ON_DECLARE="false")
    bot = BotProcess("run", env, port, tmp_path).start()
    try:
        await bot.wait_for("/healthz", 200)
        worker = BotProcess("run", env, worker_port, tmp_path)
        worker.proc = bot.proc  # the same process, probed on WORKER_PORT
        body = json.loads(await worker.wait_for("/healthz", 200))
        assert body["scheduler"] == "ok", body
        driver = SlackDriver(
            endpoint=f"{bot.url}/slack/events", signing_secret="process-signing-secret",
            emulator=slack,
        )
        incidents = slack.channel_by_name("incidents")
        assert incidents is not None
        before = set(slack.channel_ids())
        await driver.command("declare Checkout errors sev:2", user="U0ALICE",
                             channel=incidents.id)
        [channel] = set(slack.channel_ids()) - before
        await driver.command("subscribe", user="U0BOB", channel=channel)
        await driver.command("update rolled back the deploy", user="U0ALICE", channel=channel)
        def bobs_dms() -> str:
            ims = [c for c in slack.channels() if c.is_im and c.im_user == "U0BOB"]
            return "\n".join(m.text for c in ims for m in slack.messages(c.id))

        for _ in range(100):
            sent = "rolled back the deploy" in bobs_dms()
            if sent:
                break
            await asyncio.sleep(0.1)
        assert sent, "the follower's DM never went out: " + bot.log[-2000:]
    finally:
        bot.stop()
    assert "--no-worker" in bot.cli("run", "--help").stdout
