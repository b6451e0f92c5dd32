"""Local stand-ins for the trackers' and pagers' published APIs (PagerDuty Events API v2,
Opsgenie Alert API, Jira Cloud REST v3, GitHub Issues REST, Linear GraphQL), strict like the
Slack emulator: wrong auth → 401, unknown field → 400, injected 429 with Retry-After, 5xx,
slowness and outages. For tests and `make run`; never for production."""

from sandbox.standins.base import Fault, RecordedCall, Standin
from sandbox.standins.github import GitHubStandin
from sandbox.standins.jira import JiraStandin
from sandbox.standins.linear import LinearStandin
from sandbox.standins.opsgenie import OpsgenieStandin
from sandbox.standins.pagerduty import PagerDutyStandin

__all__ = [
    "Fault",
    "GitHubStandin",
    "JiraStandin",
    "LinearStandin",
    "OpsgenieStandin",
    "PagerDutyStandin",
    "RecordedCall",
    "Standin",
]
