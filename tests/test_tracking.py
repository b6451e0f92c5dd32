"""Action items followed in Jira, GitHub and Linear, through signed Slack requests, the
emulator, real Redis and each tracker's stand-in: track and link by command, TRACK_ACTIONS
=auto, `action done` comments and closes, an issue finished in the tracker finishes the item
(and its reminders) through the worker's sync, a tracker that is down never blocks adding or
finishing and the worker retries, the postmortem lists each item with its tracker link, and
bad input changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest

from bot.actions.models import ItemStatus
from bot.clock import ManualClock
from bot.integrations.factory import Integrations, retry_due
from bot.postmortem.render import render_markdown
from sandbox.slack_emulator import SlackEmulator
from sandbox.standins import GitHubStandin, JiraStandin, LinearStandin, Standin
from tests.conftest import Harness, running_bot

ALICE, BOB, CHARLIE = "U0ALICE", "U0BOB", "U0CHARLIE"


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


def settings_for(kind: str, s: Standin) -> dict[str, object]:
    if isinstance(s, JiraStandin):
        return {"jira_url": s.base_url, "jira_email": s.email, "jira_api_token": s.api_token,
                "jira_project": s.project}
    if isinstance(s, GitHubStandin):
        return {"github_token": s.token, "github_repo": s.repo, "github_api_url": s.base_url}
    assert isinstance(s, LinearStandin)
    return {"linear_api_key": s.api_key, "linear_team": s.team_key,
            "linear_api_url": f"{s.base_url}/graphql"}


@asynccontextmanager
async def tracked_bot(
    slack: SlackEmulator, redis_url: str, kind: str, s: Standin, clock: ManualClock,
    **extra: object,
) -> AsyncIterator[Harness]:
    s.reset()
    async with running_bot(slack, redis_url, clock=clock, **settings_for(kind, s), **extra) as h:
        yield h


def integrations_of(h: Harness) -> Integrations:
    return Integrations(tracking=h.bot.services.tracking, paging=h.bot.services.paging,
                        store=h.store.integrations)


async def add_item(h: Harness, channel: str, text: str = "add a pool-size alert") -> str:
    reply = await h.driver.command(
        f"action add <@{BOB}> {text} due:3d priority:P1 type:detect", user=ALICE,
        channel=channel,
    )
    assert "AI-" in reply.text, reply.text
    return reply.text.split("*")[1]


def issues_of(s: Standin) -> dict[Any, dict[str, Any]]:
    assert isinstance(s, JiraStandin | GitHubStandin | LinearStandin)
    return s.issues


@pytest.mark.parametrize("kind", ["jira", "github", "linear"])
async def test_track_done_and_postmortem(
    kind: str, slack: SlackEmulator, redis_url: str, trackers: dict[str, Standin],
    clock: ManualClock,
) -> None:
    s = trackers[kind]
    async with tracked_bot(slack, redis_url, kind, s, clock) as h:
        channel = await h.declare("Checkout 500s sev:2 services:checkout-api", user=ALICE)
        item_id = await add_item(h, channel)
        assert issues_of(s) == {}  # manual by default
        reply = await h.driver.command(f"action track {item_id}", user=ALICE, channel=channel)
        assert ":link:" in reply.text and reply.ephemeral, reply.text
        item = await h.bot.services.actions.get(item_id)
        assert item.tracked is not None and item.tracked.url in reply.text
        [stored] = issues_of(s).values()
        if isinstance(s, JiraStandin):
            assert stored["fields"]["assignee"] == {"accountId": "acc-bob"}  # by email
            assert {"incident", "detect"} <= set(stored["fields"]["labels"])
        elif isinstance(s, LinearStandin):
            assert stored["input"]["assigneeId"] == "usr-bob"
        listing = await h.driver.command("action list", user=ALICE, channel=channel)
        assert item.tracked.key in listing.text
        again = await h.driver.command(f"action track {item_id}", user=ALICE, channel=channel)
        assert len(issues_of(s)) == 1 and item.tracked.key in again.text  # never twice
        reply = await h.driver.command(f"action done {item_id}", user=BOB, channel=channel)
        assert "is done" in reply.text and "could not" not in reply.text
        closed = await h.bot.services.actions.get(item_id)
        assert closed.tracked is not None and closed.tracked.done
        if isinstance(s, JiraStandin):
            assert stored["category"] == "done" and stored["comments"]
        elif isinstance(s, GitHubStandin):
            assert stored["state"] == "closed" and stored["comments"]
        else:
            assert stored["state"] == "completed" and stored["comments"]
        services = h.bot.services
        incident = await services.incidents.for_channel(channel)
        assert incident is not None and services.postmortems is not None
        markdown = render_markdown(await services.postmortems.build_from_record(incident.id))
        assert f"[{closed.tracked.key}]({closed.tracked.url})" in markdown


async def test_auto_track_and_done_in_the_tracker_finishes_the_item(
    slack: SlackEmulator, redis_url: str, trackers: dict[str, Standin], clock: ManualClock
) -> None:
    s = trackers["github"]
    assert isinstance(s, GitHubStandin)
    async with tracked_bot(slack, redis_url, "github", s, clock, track_actions="auto") as h:
        channel = await h.declare("Search slow sev:3", user=ALICE)
        item_id = await add_item(h, channel)
        item = await h.bot.services.actions.get(item_id)
        assert item.tracked is not None and item.tracked.key == "#1"
        assert item.next_reminder_at is not None
        s.close_issue(1)  # someone closes it on GitHub
        finished = await h.bot.services.tracking.sync()  # type: ignore[union-attr]
        assert [i.id for i in finished] == [item_id]
        item = await h.bot.services.actions.get(item_id)
        assert item.status is ItemStatus.DONE and item.next_reminder_at is None
        due = await h.store.actions.due_ids(clock() + timedelta(days=30), 1000)
        assert item_id not in due  # its reminders stopped
        assert s.issues[1]["comments"] == []  # no echo back to GitHub
        assert await h.bot.services.tracking.sync() == []  # type: ignore[union-attr]


async def test_link_an_existing_issue(
    slack: SlackEmulator, redis_url: str, trackers: dict[str, Standin], clock: ManualClock
) -> None:
    s = trackers["linear"]
    assert isinstance(s, LinearStandin)
    async with tracked_bot(slack, redis_url, "linear", s, clock) as h:
        channel = await h.declare("Queue backlog sev:3", user=ALICE)
        item_id = await add_item(h, channel)
        tracker = h.bot.services.tracking
        assert tracker is not None
        from bot.integrations.trackers.base import IssueDraft

        existing = await tracker.tracker.create(IssueDraft(
            title="Backlog alert", body="made in Linear", labels=["ops"], priority="P2"))
        reply = await h.driver.command(
            f"action link {item_id} https://linear.example/acme/issue/{existing.key}/backlog",
            user=ALICE, channel=channel,
        )
        assert existing.key in reply.text
        before = len(s.calls)
        bad = await h.driver.command(f"action link {item_id} NOPE-99", user=ALICE,
                                     channel=channel)
        assert "Linear has no issue `NOPE-99`" in bad.text
        assert (await tracker.items.get(item_id)).tracked.key == existing.key  # type: ignore[union-attr]
        assert len(s.calls) == before + 1  # one lookup, nothing written
        s.complete(existing.key)
        assert [i.id for i in await tracker.sync()] == [item_id]


async def test_tracker_down_never_blocks_and_the_worker_retries(
    slack: SlackEmulator, redis_url: str, trackers: dict[str, Standin], clock: ManualClock
) -> None:
    s = trackers["jira"]
    async with tracked_bot(slack, redis_url, "jira", s, clock, track_actions="auto") as h:
        channel = await h.declare("Disk full sev:2", user=ALICE)
        s.fail(503, times=100)
        reply = await h.driver.command(
            f"action add <@{BOB}> grow the disk due:3d", user=ALICE, channel=channel
        )
        assert "AI-" in reply.text and "could not create the Jira issue yet" in reply.text
        item_id = reply.text.split("*")[1]
        assert (await h.bot.services.actions.get(item_id)).tracked is None
        s.heal()  # Jira is back
        clock.advance(timedelta(minutes=3))
        assert await retry_due(integrations_of(h), clock()) == 1
        assert (await h.bot.services.actions.get(item_id)).tracked is not None
        assert len(s.issues) == 1
        s.fail(503, times=100)
        reply = await h.driver.command(f"action done {item_id}", user=BOB, channel=channel)
        assert "is done" in reply.text and "could not close" in reply.text
        item = await h.bot.services.actions.get(item_id)
        assert item.status is ItemStatus.DONE  # finished here all the same
        s.heal()
        clock.advance(timedelta(minutes=3))
        assert await retry_due(integrations_of(h), clock()) == 1
        [issue] = s.issues.values()
        assert issue["category"] == "done"


async def test_without_a_tracker_and_bad_input(
    harness: Harness, slack: SlackEmulator, redis_url: str, trackers: dict[str, Standin],
    clock: ManualClock,
) -> None:
    h = harness
    channel = await h.declare("Checkout 500s sev:2", user=ALICE)
    item_id = await add_item(h, channel)
    reply = await h.driver.command(f"action track {item_id}", user=ALICE, channel=channel)
    assert "No issue tracker is configured" in reply.text
    reply = await h.driver.command("action bogus", user=ALICE, channel=channel)
    assert "action track" not in reply.text  # usage shows only what is configured
    s = trackers["jira"]
    async with tracked_bot(slack, redis_url, "jira", s, clock) as h2:
        channel = await h2.declare("Checkout 500s again sev:2", user=ALICE)
        item_id = await add_item(h2, channel)
        reply = await h2.driver.command("action track", user=ALICE, channel=channel)
        assert "Give the item id" in reply.text and "action track <id>" in reply.text
        reply = await h2.driver.command(f"action track {item_id}", user=CHARLIE,
                                        channel=channel)
        assert "Only the owner" in reply.text
        reply = await h2.driver.command("action track AI-9999", user=ALICE, channel=channel)
        assert "AI-9999" in reply.text
        assert s.issues == {}


async def test_the_worker_runs_the_retries_and_the_sync(
    slack: SlackEmulator, redis_url: str, trackers: dict[str, Standin], clock: ManualClock
) -> None:
    from bot.wiring import build_worker_jobs

    s = trackers["github"]
    assert isinstance(s, GitHubStandin)
    async with tracked_bot(slack, redis_url, "github", s, clock, track_actions="auto") as h:
        jobs = {j.name: j for j in build_worker_jobs(h.bot.services.settings, clock=clock)}
        assert {"integration_retries", "tracker_sync"} <= set(jobs)
        channel = await h.declare("Search slow sev:3", user=ALICE)
        s.fail(503, times=100)
        item_id = await add_item(h, channel)
        s.heal()
        clock.advance(timedelta(minutes=3))
        assert await jobs["integration_retries"].run() == 1
        s.close_issue(1)
        await jobs["tracker_sync"].run()
        assert (await h.bot.services.actions.get(item_id)).status is ItemStatus.DONE


def test_no_worker_jobs_without_integrations(slack: SlackEmulator, redis_url: str) -> None:
    from bot.wiring import build_worker_jobs
    from tests.conftest import make_settings

    names = {j.name for j in build_worker_jobs(make_settings(slack, redis_url))}
    assert not names & {"integration_retries", "tracker_sync"}


async def test_a_private_incident_sends_its_label_only(
    slack: SlackEmulator, redis_url: str, trackers: dict[str, Standin], clock: ManualClock
) -> None:
    import json

    s = trackers["jira"]
    async with tracked_bot(slack, redis_url, "jira", s, clock, track_actions="auto") as h:
        before = set(h.slack.channel_ids())
        await h.driver.command("declare Payroll leak sev:2 private:yes", user=ALICE,
                               channel=h.incidents_id)
        [channel] = [c for c in h.slack.channel_ids() if c not in before]
        await add_item(h, channel, text="rotate the salary-db credentials")
        sent = json.dumps([c.body for c in s.calls])
        assert "salary-db" not in sent and "Payroll" not in sent
        [issue] = s.issues.values()
        assert "Private incident" in issue["fields"]["summary"]
