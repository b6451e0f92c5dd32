"""Trackers both ways by webhook, through the real HTTP endpoint, real Redis, each tracker's
stand-in and its webhook sender: an issue closed there finishes the action item and stops
its reminders at once; reopened there, the item and its reminders come back; a bad token or
signature is refused and changes nothing; a re-delivery is applied once. GitHub issues get
their owner as assignee from `/incident me github` or GITHUB_USERS."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from bot.actions.models import ItemStatus
from bot.clock import ManualClock
from bot.settings import SettingsError, load_settings
from sandbox.slack_emulator import SlackEmulator
from sandbox.standins import GitHubStandin, JiraStandin, LinearStandin, Standin
from sandbox.standins.webhooks import (
    Delivery,
    github_issues_event,
    jira_issue_updated,
    linear_issue_update,
)
from tests.conftest import Harness
from tests.test_tracking import ALICE, BOB, add_item, tracked_bot

JIRA_TOKEN = "jira-path-token-7f3a"
GITHUB_SECRET = "gh-webhook-secret"
LINEAR_SECRET = "lin-webhook-secret"
SECRETS = {"jira_webhook_token": JIRA_TOKEN, "github_webhook_secret": GITHUB_SECRET,
           "linear_webhook_secret": LINEAR_SECRET}


@pytest.fixture(scope="module")
def trackers() -> Iterator[dict[str, Standin]]:
    all_: dict[str, Standin] = {
        "jira": JiraStandin(users={"bob@example.com": "acc-bob"}),
        "github": GitHubStandin(),
        "linear": LinearStandin(users={"bob@example.com": "usr-bob"}),
    }
    for s in all_.values():
        s.start()
    yield all_
    for s in all_.values():
        s.stop()


def secret_for(kind: str) -> dict[str, object]:
    name = {"jira": "jira_webhook_token", "github": "github_webhook_secret",
            "linear": "linear_webhook_secret"}[kind]
    return {name: SECRETS[name]}


def finish_there(h: Harness, s: Standin, key: str, clock: ManualClock, *, done: bool) -> Delivery:
    """A person closes (or reopens) the issue in the tracker; the tracker's delivery."""
    if isinstance(s, JiraStandin):
        before = "new" if done else "done"
        s.set_status(key, "done" if done else "new")
        return jira_issue_updated(s, key, before=before, now=clock(),
                                  url=f"{h.url}/webhooks/jira/{JIRA_TOKEN}")
    if isinstance(s, GitHubStandin):
        number = int(key.lstrip("#"))
        (s.close_issue if done else s.reopen_issue)(number)
        return github_issues_event(s, number, action="closed" if done else "reopened",
                                   url=f"{h.url}/webhooks/github", secret=GITHUB_SECRET)
    assert isinstance(s, LinearStandin)
    before = "started" if done else "completed"
    (s.complete if done else s.reopen)(key)
    return linear_issue_update(s, key, before=before, url=f"{h.url}/webhooks/linear",
                               secret=LINEAR_SECRET, now=clock())


async def tracker_events(h: Harness, incident_id: str) -> list[str]:
    return [e.event.text for e in await h.store.timeline(incident_id)
            if "in Jira" in e.event.text or "in GitHub" in e.event.text
            or "in Linear" in e.event.text]


def tampered(d: Delivery) -> Delivery:
    headers = dict(d.headers)
    for name in ("X-Hub-Signature-256", "Linear-Signature"):
        if name in headers:
            headers[name] = headers[name][:-4] + "0000"
    url = d.url.replace(JIRA_TOKEN, "guessed-token")
    return Delivery(url, d.body, headers)


@pytest.mark.parametrize("kind", ["jira", "github", "linear"])
async def test_closed_there_finishes_at_once_reopened_comes_back(
    kind: str, slack: SlackEmulator, redis_url: str, trackers: dict[str, Standin],
    clock: ManualClock, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    s = trackers[kind]
    async with tracked_bot(slack, redis_url, kind, s, clock, track_actions="auto",
                           **secret_for(kind)) as h:
        channel = await h.declare("Checkout 500s sev:2", user=ALICE)
        item_id = await add_item(h, channel)
        item = await h.bot.services.actions.get(item_id)
        assert item.tracked is not None and item.next_reminder_at is not None
        delivery = finish_there(h, s, item.tracked.key, clock, done=True)

        # a forged delivery is refused and changes nothing
        status, body = await tampered(delivery).send()
        assert status == 401 and not body["ok"]
        assert (await h.bot.services.actions.get(item_id)).status is ItemStatus.OPEN

        status, body = await delivery.send()
        assert status == 200 and body["result"] == f"finished {item_id}", body
        item = await h.bot.services.actions.get(item_id)
        assert item.status is ItemStatus.DONE and item.next_reminder_at is None
        due = await h.store.actions.due_ids(clock() + timedelta(days=60), 1000)
        assert item_id not in due  # its reminders stopped at once, no poll needed

        status, body = await delivery.send()  # the sender retries the same delivery
        assert status == 200 and body["duplicate"] is True
        incident_id = item.incident_id
        assert len(await tracker_events(h, incident_id)) == 2  # tracked + done, once

        reopened = finish_there(h, s, item.tracked.key, clock, done=False)  # type: ignore[union-attr]
        status, body = await reopened.send()
        assert status == 200 and body["result"] == f"reopened {item_id}", body
        item = await h.bot.services.actions.get(item_id)
        assert item.status is ItemStatus.OPEN and item.next_reminder_at is not None
        assert item_id in await h.store.actions.due_ids(clock() + timedelta(days=60), 1000)
        assert any("reopened in" in t for t in await tracker_events(h, incident_id))
        assert not [c for c in s.calls if c.method != "GET" and "comment" in c.path
                    ]  # nothing echoed back to the tracker
    logged = caplog.text  # the access log names the Jira path, never its token
    assert JIRA_TOKEN not in logged and GITHUB_SECRET not in logged and LINEAR_SECRET not in logged


async def test_not_configured_and_unreadable(
    slack: SlackEmulator, redis_url: str, trackers: dict[str, Standin], clock: ManualClock,
    harness: Harness,
) -> None:
    for path in ("/webhooks/jira/x", "/webhooks/github", "/webhooks/linear"):
        status, _ = await Delivery(f"{harness.url}{path}", b"{}", {}).send()
        assert status == 503
    s = trackers["github"]
    async with tracked_bot(slack, redis_url, "github", s, clock, **SECRETS_FOR_GITHUB) as h:
        status, _ = await Delivery(f"{h.url}/webhooks/jira", b"{}", {}).send()
        assert status == 503  # Jira's token is set, but Jira is not the tracker
        raw = b"not json"
        import hashlib
        import hmac

        sig = "sha256=" + hmac.new(GITHUB_SECRET.encode(), raw, hashlib.sha256).hexdigest()
        status, _ = await Delivery(f"{h.url}/webhooks/github", raw, {
            "X-Hub-Signature-256": sig, "X-GitHub-Event": "issues"}).send()
        assert status == 400
        status, body = await Delivery(f"{h.url}/webhooks/github", b'{"zen": "ok"}', {
            "X-Hub-Signature-256": "sha256=" + hmac.new(
                GITHUB_SECRET.encode(), b'{"zen": "ok"}', hashlib.sha256).hexdigest(),
            "X-GitHub-Event": "ping"}).send()
        assert status == 200 and "ignored" in body


SECRETS_FOR_GITHUB: dict[str, Any] = {"github_webhook_secret": GITHUB_SECRET}


async def test_linear_replay_is_refused(
    slack: SlackEmulator, redis_url: str, trackers: dict[str, Standin], clock: ManualClock,
) -> None:
    s = trackers["linear"]
    assert isinstance(s, LinearStandin)
    async with tracked_bot(slack, redis_url, "linear", s, clock, track_actions="auto",
                           **secret_for("linear")) as h:
        channel = await h.declare("Queue backlog sev:3", user=ALICE)
        item_id = await add_item(h, channel)
        key = (await h.bot.services.actions.get(item_id)).tracked.key  # type: ignore[union-attr]
        old = finish_there(h, s, key, clock, done=True)
        clock.advance(timedelta(minutes=5))  # captured, replayed five minutes later
        status, body = await old.send()
        assert status == 401 and "stale" in body["error"]
        assert (await h.bot.services.actions.get(item_id)).status is ItemStatus.OPEN


async def test_github_assignee_from_me_and_github_users(
    slack: SlackEmulator, redis_url: str, trackers: dict[str, Standin], clock: ManualClock,
) -> None:
    s = trackers["github"]
    assert isinstance(s, GitHubStandin)
    async with tracked_bot(slack, redis_url, "github", s, clock, track_actions="auto",
                           github_users=f"{BOB}:bob-ops,{ALICE}:alice-gh") as h:
        channel = await h.declare("Search slow sev:3", user=ALICE)
        await add_item(h, channel)
        assert s.issues[1]["assignees"] == ["bob-ops"]  # from GITHUB_USERS
        reply = await h.driver.command("me github @bob-the-builder", user=BOB, channel=channel)
        assert "bob-the-builder" in reply.text and reply.ephemeral
        await add_item(h, channel, text="add a search latency alert")
        assert s.issues[2]["assignees"] == ["bob-the-builder"]  # what Bob said wins
        for bad in ("me github not_a-login!", "me gitlab bob", "me"):
            reply = await h.driver.command(bad, user=BOB, channel=channel)
            assert "me github <login>" in reply.text, reply.text
        assert await h.store.integrations.github_login(BOB) == "bob-the-builder"


def test_half_configured_webhooks_stop_the_bot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "x")
    with pytest.raises(SettingsError, match="GITHUB_TOKEN is required when GITHUB_WEBHOOK"):
        load_settings()
    monkeypatch.delenv("GITHUB_WEBHOOK_SECRET")
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    monkeypatch.setenv("GITHUB_REPO", "acme/ops")
    monkeypatch.setenv("GITHUB_USERS", "U1:bob")
    with pytest.raises(SettingsError, match=r"GITHUB_USERS.*'U1:bob' is not U123"):
        load_settings()
