"""Settings of the optional integrations (issue trackers, pagers): two groups of
bot.settings.Settings, kept beside the adapters that use them. Every field's description is
its line in docs/settings.md (`make docs`)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import AnyHttpUrl, BaseModel, Field, field_validator, model_validator

from bot.setting_values import RoutingKeys

GITHUB_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")


def parse_github_users(value: str | None) -> dict[str, str]:
    """GITHUB_USERS: `U123:login,U456:other` → {Slack user id: GitHub login}."""
    out: dict[str, str] = {}
    for part in (value or "").split(","):
        if not part.strip():
            continue
        user, _, login = part.strip().partition(":")
        if not re.fullmatch(r"[UW][A-Z0-9]{2,}", user) or not GITHUB_LOGIN.match(login):
            raise ValueError(f"{part.strip()!r} is not U123:github-login")
        out[user] = login
    return out


class TrackerSettings(BaseModel):
    """Issue trackers

    Action items filed and kept in step with Jira, GitHub Issues or Linear (at most one). A
    half-configured tracker, or two, stop the bot at start naming the setting."""

    jira_url: AnyHttpUrl | None = Field(None, description="Jira Cloud site (REST v3)")
    jira_email: str | None = Field(None, description="the Jira account the API token is for")
    jira_api_token: str | None = Field(None, description="its API token (basic auth)")
    jira_project: str | None = Field(None, description="project key of created issues")
    jira_issue_type: str = Field("Task", description="issue type of created issues")
    github_token: str | None = Field(None, description="GitHub token for GitHub Issues")
    github_repo: str | None = Field(
        None, pattern=r"^[\w.-]+/[\w.-]+$", description="the repository, `owner/name`"
    )
    github_api_url: AnyHttpUrl = Field(
        AnyHttpUrl("https://api.github.com"), description="GitHub Enterprise's API URL"
    )
    linear_api_key: str | None = Field(None, description="Linear API key (GraphQL)")
    linear_team: str | None = Field(None, description="the team's key, e.g. `ENG`")
    linear_api_url: AnyHttpUrl = Field(
        AnyHttpUrl("https://api.linear.app/graphql"), description="Linear's API"
    )
    track_actions: Literal["manual", "auto"] = Field(
        "manual", description="`auto`: every new action item gets its tracker issue"
    )
    tracker_sync_interval: float = Field(
        300.0,
        gt=0,
        description="seconds between the worker's polls of linked issues (done there → done "
        "here)",
    )

    # the trackers push: a state change there applies at once; polling stays the fallback
    jira_webhook_token: str | None = Field(
        None,
        description="secret path token of Jira's webhook: register "
        "`https://<your host>/webhooks/jira/<token>` (Jira Cloud signs only webhooks of "
        "OAuth apps; one an admin creates is unsigned, so the token in its URL is the "
        "check); unset: 503",
    )
    github_webhook_secret: str | None = Field(
        None,
        description="verifies `POST /webhooks/github` (`issues` events, "
        "`X-Hub-Signature-256`); unset: 503",
    )
    linear_webhook_secret: str | None = Field(
        None,
        description="verifies `POST /webhooks/linear` (Issue events, `Linear-Signature`, "
        "`webhookTimestamp` within a minute); unset: 503",
    )
    github_users: str | None = Field(
        None,
        description="`U123:login,…`: Slack users' GitHub logins, so GitHub issues get an "
        "assignee (or each person says `/incident me github <login>`)",
    )

    @field_validator("github_users")
    @classmethod
    def _github_users(cls, v: str | None) -> str | None:
        parse_github_users(v)  # raises ValueError naming the bad entry
        return v

    @model_validator(mode="after")
    def _webhook_needs_its_tracker(self) -> TrackerSettings:
        needs = {
            "jira_webhook_token": "jira_url",
            "github_webhook_secret": "github_token",
            "linear_webhook_secret": "linear_api_key",
            "github_users": "github_token",
        }
        for given, required in needs.items():
            if getattr(self, given) and not getattr(self, required):
                raise ValueError(f"{required.upper()} is required when {given.upper()} is set")
        return self

    @model_validator(mode="after")
    def _one_complete_tracker(self) -> TrackerSettings:
        groups = {
            "JIRA": ("jira_url", "jira_email", "jira_api_token", "jira_project"),
            "GITHUB": ("github_token", "github_repo"),
            "LINEAR": ("linear_api_key", "linear_team"),
        }
        configured = []
        for name, fields in groups.items():
            given = [f for f in fields if getattr(self, f)]
            if given and len(given) < len(fields):
                missing = next(f for f in fields if not getattr(self, f))
                raise ValueError(f"{missing.upper()} is required when {given[0].upper()} is set")
            if given:
                configured.append(name)
        if len(configured) > 1:
            raise ValueError(f"configure one issue tracker, not {' and '.join(configured)}")
        return self


class PagerSettings(BaseModel):
    """Pagers

    PagerDuty or Opsgenie page the on-call of each of the incident's services; their
    webhooks come back in (docs/integrations.md)."""

    pagerduty_routing_key: str | None = Field(
        None, description="Events API v2 routing key for pages (any service)"
    )
    pagerduty_routing_keys: RoutingKeys = Field(
        None, description="`service:key,…` per-service routing keys (win over the default)"
    )
    pagerduty_events_url: AnyHttpUrl = Field(
        AnyHttpUrl("https://events.pagerduty.com/v2/enqueue"), description="Events API endpoint"
    )
    pagerduty_webhook_secret: str | None = Field(
        None,
        description="verifies `POST /webhooks/pagerduty` (webhooks v3 signature); unset: 503",
    )
    opsgenie_api_key: str | None = Field(
        None, description="Opsgenie Alert API key (`GenieKey`) for pages"
    )
    opsgenie_api_url: AnyHttpUrl = Field(
        AnyHttpUrl("https://api.opsgenie.com"),
        description="`https://api.eu.opsgenie.com` for EU accounts",
    )
    opsgenie_webhook_token: str | None = Field(
        None, description="bearer token `POST /webhooks/opsgenie` requires; unset: 503"
    )
    page_min_severity: int = Field(
        1,
        ge=1,
        le=4,
        description="declaring at this severity or worse (1 = SEV1 only) pages the on-call",
    )
