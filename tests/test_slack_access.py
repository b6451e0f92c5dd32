"""Losing the workspace is seen by every process and survives a restart: real `python -m
bot serve` processes on one Redis. Slack revokes the token and tells one replica
(`app_uninstalled`); the other replica then makes no Web API call at all, a restarted one
neither (it only checks its token at start, which Slack refuses), and a reinstall — a new
token, or `incident-bot slack-access --clear` — brings Slack back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.actions.models import ActionItem
from bot.store.connection import Db, connect
from bot.store.redis_store import RedisStore
from sandbox.driver import SlackDriver
from sandbox.slack_emulator import SlackEmulator
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, free_port
from tests.processes import BotProcess

ALICE = "U0ALICE"
NEW_TOKEN = "xoxb-reinstalled-token"


def serve(
    slack: SlackEmulator, redis_url: str, tmp_path: Path, token: str = BOT_TOKEN
) -> BotProcess:
    port = free_port()
    env = {
        "SLACK_BOT_TOKEN": token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "REDIS_URL": redis_url,
        "PORT": str(port),
        "SNAPSHOT_ON_DECLARE": "false",
    }
    return BotProcess("serve", env, port, tmp_path).start()


def driver(slack: SlackEmulator, process: BotProcess) -> SlackDriver:
    return SlackDriver(
        endpoint=f"{process.url}/slack/events", signing_secret=SIGNING_SECRET, emulator=slack
    )


async def declare(slack: SlackEmulator, process: BotProcess, title: str) -> str:
    """Declare through `process` and wait for its answer (which comes after whatever Web
    API calls the declare made, beginning with conversations.create)."""
    answered = len(slack.responses())
    reply = await driver(slack, process).command(
        f"declare {title} sev:3", user=ALICE, channel=slack.channel_by_name("incidents").id,
        settle=False,
    )
    assert reply.status == 200
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while len(slack.responses()) == answered:
        assert loop.time() < deadline, f"no answer to the declare\n{process.log}"
        await asyncio.sleep(0.05)
    return str(slack.responses()[answered].get("text", ""))


def worker(slack: SlackEmulator, redis_url: str, tmp_path: Path) -> BotProcess:
    port = free_port()
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": slack.api_url,
        "REDIS_URL": redis_url,
        "WORKER_PORT": str(port),
        "REMINDER_SCAN_INTERVAL": "0.2",
        "REMINDER_WORK_START": "00:00",
        "REMINDER_WORK_END": "23:59",
        "REMINDER_WORK_DAYS": "mon-sun",
    }
    return BotProcess("worker", env, port, tmp_path).start()


async def test_an_uninstall_seen_by_one_process_stops_every_process(
    slack: SlackEmulator, redis_url: str, tmp_path: Path
) -> None:
    a, b = serve(slack, redis_url, tmp_path), serve(slack, redis_url, tmp_path)
    later: list[BotProcess] = []
    try:
        for p in (a, b):
            await p.wait_for("/healthz", 200)
            # Bolt checks its token once, on the first request: warm both up before
            help_reply = await driver(slack, p).command("help", user=ALICE, channel="C0INCIDENTS")
            assert help_reply.status == 200

        slack.revoke_token()  # the workspace uninstalls the app: Slack revokes, then tells A
        assert await driver(slack, a).event({"type": "app_uninstalled"}) == 200
        before = len(slack.calls())
        answer = await declare(slack, b, "Checkout errors")
        assert "access is gone" in answer, answer
        assert slack.calls()[before:] == [], [c.method for c in slack.calls()[before:]]
        assert not [c for c in slack.channels() if c.name.startswith("inc-")]

        # a process started afterwards remembers: a worker with a reminder due checks its
        # token at start (Slack refuses) and then calls Slack for nothing
        store = RedisStore(Db(connect(redis_url)))
        now = datetime.now(UTC)
        await store.actions.create(
            ActionItem(
                id="AI-0001", incident_id="INC-20261127-0001", text="Add a pool alert",
                owner=ALICE, created_by=ALICE, created_at=now - timedelta(days=1),
                due=now + timedelta(hours=6), next_reminder_at=now - timedelta(minutes=1),
            )
        )
        await store.aclose()
        started = len(slack.calls())
        w = worker(slack, redis_url, tmp_path)
        later.append(w)
        await w.wait_for("/healthz", 503, contains="token_revoked")
        deadline = asyncio.get_running_loop().time() + 30
        while '"error": "app_uninstalled", "event": "reminder_send_failed"' not in w.log:
            assert asyncio.get_running_loop().time() < deadline, w.log
            await asyncio.sleep(0.05)
        assert [c.method for c in slack.calls()[started:]] == ["auth.test"]
        shown = w.cli("slack-access")
        assert shown.returncode == 1 and "app_uninstalled" in shown.stdout, shown

        # a reinstall brings a new token: it has no mark, so it is used at once
        slack.add_token(NEW_TOKEN, "U0BOT")
        fresh = serve(slack, redis_url, tmp_path, token=NEW_TOKEN)
        later.append(fresh)
        await fresh.wait_for("/healthz", 200)
        assert "Declared" in await declare(slack, fresh, "Search down")
        assert any(c.method == "conversations.create" and c.token == NEW_TOKEN
                   for c in slack.calls())

        # the explicit path: the old token given back and the mark cleared by hand; the
        # running replica uses Slack again without a restart
        slack.add_token(BOT_TOKEN, "U0BOT")
        cleared = w.cli("slack-access", "--clear")
        assert cleared.returncode == 0 and "cleared" in cleared.stdout, cleared
        assert w.cli("slack-access").returncode == 0
        assert "Declared" in await declare(slack, b, "Payments slow")
    finally:
        for p in (a, b, *later):
            p.stop()
