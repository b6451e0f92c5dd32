"""Local stand-ins for the published APIs the bot calls (PagerDuty Events API v2, Opsgenie
Alert API, Jira Cloud REST v3, GitHub Issues REST, Linear GraphQL, Confluence Cloud v2,
Notion, Google's token endpoint with Calendar v3 and Drive v3, Zoom, Atlassian
Statuspage v1), strict like the
Slack emulator: wrong auth → 401, unknown field → 400, injected 429 with Retry-After, 5xx,
slowness and outages. For tests and `make run`; never for production."""

from sandbox.standins.base import Fault, RecordedCall, Standin
from sandbox.standins.confluence import ConfluenceStandin
from sandbox.standins.github import GitHubStandin
from sandbox.standins.google import GoogleStandin
from sandbox.standins.jira import JiraStandin
from sandbox.standins.linear import LinearStandin
from sandbox.standins.notion import NotionStandin
from sandbox.standins.opsgenie import OpsgenieStandin
from sandbox.standins.pagerduty import PagerDutyStandin
from sandbox.standins.statuspage import StatuspageStandin
from sandbox.standins.zoom import ZoomStandin

__all__ = [
    "ConfluenceStandin",
    "Fault",
    "GitHubStandin",
    "GoogleStandin",
    "JiraStandin",
    "LinearStandin",
    "NotionStandin",
    "OpsgenieStandin",
    "PagerDutyStandin",
    "RecordedCall",
    "Standin",
    "StatuspageStandin",
    "ZoomStandin",
]
