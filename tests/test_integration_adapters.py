"""Each tracker and pager adapter against its local stand-in (built from the published API
references): the happy path, refused credentials, 429 with Retry-After, 5xx, a timeout, no
retry of other 4xx, and no credential in the logs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import date

import pytest

from bot.integrations.http import ApiClient, IntegrationError
from bot.integrations.pagers.base import Page
from bot.integrations.pagers.opsgenie import OpsgeniePager
from bot.integrations.pagers.pagerduty import PagerDutyPager, parse_routing_keys
from bot.integrations.trackers.base import IssueDraft, IssueTracker
from bot.integrations.trackers.github import GitHubTracker
from bot.integrations.trackers.jira import JiraTracker
from bot.integrations.trackers.linear import LinearTracker
from sandbox.standins import (
    GitHubStandin,
    JiraStandin,
    LinearStandin,
    OpsgenieStandin,
    PagerDutyStandin,
    Standin,
)

FAST = {"backoff": 0.01, "timeout": 0.5, "attempts": 3, "budget": 5.0}
DRAFT = IssueDraft(
    title="Add a circuit breaker to payments-gw calls",
    body="From INC-20261123-001 (SEV2): checkout errors.\nOwner: Ana",
    labels=["incident", "INC-20261123-001", "prevent"],
    priority="P1",
    due=date(2026, 12, 4),
    owner_email="ana@example.com",
)


@pytest.fixture(scope="module")
def standins() -> Iterator[dict[str, Standin]]:
    all_: dict[str, Standin] = {
        "jira": JiraStandin(users={"ana@example.com": "acc-ana"}),
        "github": GitHubStandin(),
        "linear": LinearStandin(users={"ana@example.com": "usr-ana"}),
        "pagerduty": PagerDutyStandin(),
        "opsgenie": OpsgenieStandin(),
    }
    for s in all_.values():
        s.start()
    yield all_
    for s in all_.values():
        s.stop()


def make_tracker(kind: str, s: Standin, *, bad_auth: bool = False) -> IssueTracker:
    if kind == "jira":
        assert isinstance(s, JiraStandin)
        token = "wrong" if bad_auth else s.api_token
        return JiraTracker(
            url=s.base_url, email=s.email, api_token=token, project=s.project,
            client=ApiClient("Jira", s.base_url, auth=(s.email, token), **FAST),
        )
    if kind == "github":
        assert isinstance(s, GitHubStandin)
        token = "wrong" if bad_auth else s.token
        return GitHubTracker(
            token=token, repo=s.repo, api_url=s.base_url,
            client=ApiClient("GitHub", s.base_url,
                             headers={"Authorization": f"Bearer {token}"}, **FAST),
        )
    assert isinstance(s, LinearStandin)
    key = "wrong" if bad_auth else s.api_key
    from bot.integrations.trackers.linear import _rate_limited

    return LinearTracker(
        api_key=key, team=s.team_key, api_url=f"{s.base_url}/graphql",
        client=ApiClient("Linear", s.base_url, headers={"Authorization": key},
                         throttled=_rate_limited, **FAST),
    )


TRACKERS = ["jira", "github", "linear"]


@pytest.fixture
async def tracker_env(
    request: pytest.FixtureRequest, standins: dict[str, Standin]
) -> AsyncIterator[tuple[IssueTracker, Standin]]:
    s = standins[request.param]
    s.reset()
    tracker = make_tracker(request.param, s)
    yield tracker, s
    await tracker.aclose()


@pytest.mark.parametrize("tracker_env", TRACKERS, indirect=True)
async def test_tracker_create_refresh_comment_close(
    tracker_env: tuple[IssueTracker, Standin],
) -> None:
    tracker, s = tracker_env
    issue = await tracker.create(DRAFT)
    assert issue.key and issue.url and not issue.done
    assert (await tracker.refresh(issue)).done is False
    found = await tracker.find(issue.url)
    assert found.key == issue.key
    await tracker.comment(issue, "Done in Slack by Ana")
    assert await tracker.close(issue) is True
    assert (await tracker.refresh(issue)).done is True
    if isinstance(s, JiraStandin):
        fields = s.issues[issue.key]["fields"]
        assert fields["assignee"] == {"accountId": "acc-ana"}
        assert fields["duedate"] == "2026-12-04" and fields["priority"] == {"name": "High"}
        assert "INC-20261123-001" in fields["labels"]
        assert s.issues[issue.key]["comments"]
    elif isinstance(s, GitHubStandin):
        stored = s.issues[int(issue.key.lstrip("#"))]
        assert "priority:P1" in stored["labels"] and "Due: 2026-12-04" in stored["body"]
        assert stored["comments"] == ["Done in Slack by Ana"]
    else:
        assert isinstance(s, LinearStandin)
        stored = s.issues[issue.key]
        assert stored["input"]["assigneeId"] == "usr-ana" and stored["input"]["priority"] == 2
        assert set(s.labels) == {"incident", "INC-20261123-001", "prevent"}
        assert stored["comments"] == ["Done in Slack by Ana"]


@pytest.mark.parametrize("tracker_env", TRACKERS, indirect=True)
async def test_tracker_sees_an_issue_finished_by_a_person(
    tracker_env: tuple[IssueTracker, Standin],
) -> None:
    tracker, s = tracker_env
    issue = await tracker.create(DRAFT)
    if isinstance(s, JiraStandin):
        s.set_status(issue.key, "done")
    elif isinstance(s, GitHubStandin):
        s.close_issue(int(issue.key.lstrip("#")))
    else:
        assert isinstance(s, LinearStandin)
        s.complete(issue.key)
    assert (await tracker.refresh(issue)).done is True


@pytest.mark.parametrize("kind", TRACKERS)
async def test_refused_credentials_are_not_retried_and_not_logged(
    kind: str, standins: dict[str, Standin], caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    s = standins[kind]
    s.reset()
    tracker = make_tracker(kind, s, bad_auth=True)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(IntegrationError) as err:
        await tracker.create(DRAFT)
    await tracker.aclose()
    assert err.value.status == 401 and not err.value.retryable
    assert "credentials were refused" in err.value.message
    assert len(s.calls) == 1  # a 4xx is never retried
    secret = {"jira": "jira-test-token", "github": "ghp_testtoken", "linear": "lin_api_testkey"}
    out, errors = capsys.readouterr()
    logged = caplog.text + out + errors
    assert secret[kind] not in logged and "wrong" not in logged
    assert "wrong" not in err.value.message


@pytest.mark.parametrize("tracker_env", TRACKERS, indirect=True)
async def test_429_then_success_honours_retry_after(
    tracker_env: tuple[IssueTracker, Standin],
) -> None:
    tracker, s = tracker_env
    s.fail(429, retry_after="0", times=1)
    s.fail(503, times=1)
    issue = await tracker.create(DRAFT)
    assert issue.key
    assert [c.status for c in s.calls][:2] == [429, 503]


@pytest.mark.parametrize("tracker_env", TRACKERS, indirect=True)
async def test_down_or_slow_gives_a_retryable_error(
    tracker_env: tuple[IssueTracker, Standin],
) -> None:
    tracker, s = tracker_env
    s.fail(0, delay=1.0, times=3)  # slower than the client's 0.5 s timeout, every try
    with pytest.raises(IntegrationError) as err:
        await tracker.create(DRAFT)
    s.heal()
    assert err.value.retryable and "not reachable after 3 tries" in err.value.message


async def test_linear_rate_limited_answer_is_retried(standins: dict[str, Standin]) -> None:
    s = standins["linear"]
    assert isinstance(s, LinearStandin)
    s.reset()
    tracker = make_tracker("linear", s)
    s.throttle_next = True
    issue = await tracker.create(DRAFT)
    await tracker.aclose()
    assert issue.key.startswith("ENG-") and s.calls[0].status == 400


async def test_unknown_field_is_refused_by_the_standins(standins: dict[str, Standin]) -> None:
    s = standins["github"]
    assert isinstance(s, GitHubStandin)
    client = ApiClient("GitHub", s.base_url, headers={"Authorization": f"Bearer {s.token}"})
    with pytest.raises(IntegrationError) as err:
        await client.request("POST", f"repos/{s.repo}/issues", json={"title": "x", "colour": 1})
    await client.aclose()
    assert err.value.status == 400


def test_routing_keys_setting() -> None:
    assert parse_routing_keys("checkout:KEY1, payments-gw:KEY2") == {
        "checkout": "KEY1", "payments-gw": "KEY2"
    }
    with pytest.raises(ValueError, match="not service:routing_key"):
        parse_routing_keys("checkout")


PAGE = Page(
    dedup_key="INC-20261123-001:checkout", target="checkout", summary="SEV1 checkout down",
    severity=1, details={"incident": "INC-20261123-001"}, link="https://slack.example/C1",
)


async def test_pagerduty_trigger_is_deduplicated_and_resolves(
    standins: dict[str, Standin],
) -> None:
    s = standins["pagerduty"]
    assert isinstance(s, PagerDutyStandin)
    s.reset()
    key = next(iter(s.routing_keys))
    pager = PagerDutyPager(
        routing_key=None, routing_keys={"checkout": key},
        events_url=f"{s.base_url}/v2/enqueue",
        client=ApiClient("PagerDuty", s.base_url, **FAST),
    )
    assert pager.can_page("checkout") and not pager.can_page("search")
    await pager.trigger(PAGE)
    await pager.trigger(PAGE)  # a retry: the same alert, not a second page
    assert list(s.alerts) == [PAGE.dedup_key]
    assert s.alerts[PAGE.dedup_key]["severity"] == "critical"
    await pager.resolve(PAGE.dedup_key, "checkout")
    assert s.alerts[PAGE.dedup_key]["status"] == "resolved"
    await pager.aclose()


async def test_pagerduty_bad_routing_key_is_refused(standins: dict[str, Standin]) -> None:
    s = standins["pagerduty"]
    s.reset()
    pager = PagerDutyPager(
        routing_key="not-a-key", routing_keys={}, events_url=f"{s.base_url}/v2/enqueue",
        client=ApiClient("PagerDuty", s.base_url, **FAST),
    )
    with pytest.raises(IntegrationError) as err:
        await pager.trigger(PAGE)
    await pager.aclose()
    assert err.value.status == 400 and not err.value.retryable and len(s.calls) == 1


async def test_opsgenie_alias_dedup_close_and_auth(standins: dict[str, Standin]) -> None:
    s = standins["opsgenie"]
    assert isinstance(s, OpsgenieStandin)
    s.reset()
    pager = OpsgeniePager(
        api_key=s.api_key, api_url=s.base_url,
        client=ApiClient("Opsgenie", s.base_url,
                         headers={"Authorization": f"GenieKey {s.api_key}"}, **FAST),
    )
    s.fail(429, retry_after="0")
    await pager.trigger(PAGE)
    await pager.trigger(PAGE)
    alert = s.alerts[PAGE.dedup_key]
    assert alert["count"] == 2 and alert["priority"] == "P1"
    assert alert["responders"] == [{"type": "team", "name": "checkout"}]
    await pager.resolve(PAGE.dedup_key, "checkout")
    assert alert["status"] == "closed"
    await pager.aclose()
    bad = OpsgeniePager(
        api_key="nope", api_url=s.base_url,
        client=ApiClient("Opsgenie", s.base_url, headers={"Authorization": "GenieKey nope"},
                         **FAST),
    )
    with pytest.raises(IntegrationError) as err:
        await bad.trigger(PAGE)
    await bad.aclose()
    assert err.value.status == 401
