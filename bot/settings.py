"""Settings read from the environment (the names are a public contract, see README)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import (
    AnyHttpUrl,
    BeforeValidator,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.store.connection import RedisSettings
from bot.workweek import MON_FRI, parse_work_days

SLACK_DEFAULT_API_URL = "https://slack.com/api/"


OFF_WORDS = ("", "off", "none", "no", "0")


def _work_days(value: object) -> object:
    """`mon-fri`, `sun-thu`, `mon,tue,wed,thu,sat`."""
    return parse_work_days(value) if isinstance(value, str) else value


def _duration(value: object) -> object:
    """`30m`, `2h`, `1d` (or seconds as a number); `off`/`none` for no duration."""
    if isinstance(value, str):
        from bot.errors import UsageError
        from bot.parsing import parse_duration

        if value.strip().lower() in OFF_WORDS:
            return None
        try:
            return parse_duration(value)
        except UsageError:
            raise ValueError("use a duration like 30m, 2h or 7d, or off") from None
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]
OptionalDuration = Annotated[timedelta | None, BeforeValidator(_duration)]
WorkDays = Annotated[frozenset[int], NoDecode, BeforeValidator(_work_days)]


class SettingsError(Exception):
    """A bad or missing setting; the message is one line naming it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: AnyHttpUrl = AnyHttpUrl(SLACK_DEFAULT_API_URL)
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_cluster: bool = False
    redis_sentinels: str | None = None
    redis_sentinel_master: str | None = None
    redis_password: str | None = None
    redis_sentinel_password: str | None = None
    redis_min_replicas_ack: int | None = Field(default=None, ge=0)
    redis_replica_ack_timeout_ms: int = Field(default=500, ge=1, le=60000)
    prometheus_url: AnyHttpUrl | None = None
    anthropic_api_key: str | None = None
    anthropic_base_url: AnyHttpUrl | None = None
    anthropic_model: str = "claude-sonnet-4-6"
    # seconds for the whole AI draft, retries included; the record's draft is posted first
    anthropic_timeout: float = Field(default=30.0, gt=0, le=600)
    incidents_channel: str = "incidents"
    port: int = Field(default=3000, ge=1, le=65535)
    worker_port: int = Field(default=8081, ge=1, le=65535)
    reminder_scan_interval: float = Field(default=60.0, gt=0)
    alertmanager_token: str | None = None
    alertmanager_auto_declare: bool = False
    admin_usergroup: str | None = None
    metrics_config: str | None = None
    # how long discovered metric bindings are reused (`/metrics discover` refreshes)
    metrics_discovery_ttl: timedelta = timedelta(minutes=10)
    # after resolve, the worker re-checks the incident's services this long (0s: off)
    relapse_watch: timedelta = timedelta(minutes=30)
    runbooks_dir: str = "runbooks"
    snapshot_on_declare: bool = True
    reminder_lead_time_hours: float = Field(default=24.0, gt=0)
    reminder_escalate_after: int = Field(default=3, ge=1)
    reminder_claim_ttl: float = Field(default=120.0, gt=0, le=3600)
    undated_reminder: str = Field(default="7d", pattern=r"^\d{1,4}[hdw]$")
    reminder_work_start: str = Field(default="09:00", pattern=r"^\d{2}:\d{2}$")
    reminder_work_end: str = Field(default="18:00", pattern=r"^\d{2}:\d{2}$")
    # the team's working week: reminders, undated nudges and POSTMORTEM_DUE's business days
    reminder_work_days: WorkDays = MON_FRI
    digest_day: str = Field(default="mon", pattern=r"^(mon|tue|wed|thu|fri|sat|sun)$")
    digest_time: str = Field(default="09:00", pattern=r"^\d{2}:\d{2}$")
    # status updates and nudges (bot/updates/)
    updates_by_anyone: bool = False
    update_cadence_sev1: OptionalDuration = timedelta(minutes=30)
    update_cadence_sev2: OptionalDuration = timedelta(minutes=60)
    update_cadence_sev3: OptionalDuration = None
    update_cadence_sev4: OptionalDuration = None
    update_overdue_after: Duration = timedelta(minutes=15)
    stale_after: OptionalDuration = timedelta(hours=2)
    postmortem_due: int = Field(default=2, ge=0)  # business days in the IC's time zone
    close_after: OptionalDuration = timedelta(days=7)
    # issue trackers (configure at most one) and pagers; every one is optional
    jira_url: AnyHttpUrl | None = None
    jira_email: str | None = None
    jira_api_token: str | None = None
    jira_project: str | None = None
    jira_issue_type: str = "Task"
    github_token: str | None = None
    github_repo: str | None = Field(default=None, pattern=r"^[\w.-]+/[\w.-]+$")
    github_api_url: AnyHttpUrl = AnyHttpUrl("https://api.github.com")
    linear_api_key: str | None = None
    linear_team: str | None = None
    linear_api_url: AnyHttpUrl = AnyHttpUrl("https://api.linear.app/graphql")
    track_actions: Literal["manual", "auto"] = "manual"
    tracker_sync_interval: float = Field(default=300.0, gt=0)
    pagerduty_routing_key: str | None = None
    pagerduty_routing_keys: str | None = None
    pagerduty_events_url: AnyHttpUrl = AnyHttpUrl("https://events.pagerduty.com/v2/enqueue")
    pagerduty_webhook_secret: str | None = None
    opsgenie_api_key: str | None = None
    opsgenie_api_url: AnyHttpUrl = AnyHttpUrl("https://api.opsgenie.com")
    opsgenie_webhook_token: str | None = None
    page_min_severity: int = Field(default=1, ge=1, le=4)
    private_incidents_use_ai: bool = False

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return v

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return v

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, v: str) -> str:
        if not v.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return v

    @field_validator("metrics_discovery_ttl", "relapse_watch", mode="before")
    @classmethod
    def _duration(cls, v: object) -> object:
        if isinstance(v, str) and re.fullmatch(r"\d+[smhd]", v.strip()):
            amount, unit = int(v.strip()[:-1]), v.strip()[-1]
            return timedelta(seconds=amount * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit])
        return v

    @field_validator("postmortem_due", mode="before")
    @classmethod
    def _business_days(cls, v: object) -> object:
        # `2`, `2d` or `2bd`: business days
        if isinstance(v, str):
            return v.strip().lower().removesuffix("bd").removesuffix("d").strip()
        return v

    @field_validator("redis_sentinels")
    @classmethod
    def _sentinel_list(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        for part in v.split(","):
            host, _, port = part.strip().rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{part.strip()!r} is not host:port (want host:port,host:port,…)")
        return v

    @field_validator("incidents_channel")
    @classmethod
    def _channel_name(cls, v: str) -> str:
        return v.lstrip("#")

    @field_validator("pagerduty_routing_keys")
    @classmethod
    def _routing_keys(cls, v: str | None) -> str | None:
        from bot.integrations.pagers.pagerduty import parse_routing_keys

        parse_routing_keys(v)  # raises ValueError naming the bad entry
        return v

    @model_validator(mode="after")
    def _one_complete_tracker(self) -> Settings:
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

    @property
    def slack_api_base(self) -> str:
        url = str(self.slack_api_url)
        return url if url.endswith("/") else url + "/"

    def redis_config(self) -> RedisSettings:
        """The Redis part, for bot.store.connection (one server, Sentinel or Cluster)."""
        sentinels = [
            (host, int(port))
            for host, _, port in (
                p.strip().rpartition(":") for p in (self.redis_sentinels or "").split(",") if p
            )
        ]
        return RedisSettings(
            url=self.redis_url,
            cluster=self.redis_cluster,
            sentinels=sentinels,
            sentinel_master=self.redis_sentinel_master,
            password=self.redis_password,
            sentinel_password=self.redis_sentinel_password,
            min_replicas_ack=self.redis_min_replicas_ack,
            replica_ack_timeout_ms=self.redis_replica_ack_timeout_ms,
        )

    def check(self) -> None:
        """Settings that are only wrong together; SettingsError names the setting."""
        if self.redis_sentinels and self.redis_cluster:
            raise SettingsError(
                "setting REDIS_CLUSTER is invalid: a Redis Cluster is not used through "
                "REDIS_SENTINELS; set one of them"
            )
        if self.redis_sentinels and not self.redis_sentinel_master:
            raise SettingsError(
                "setting REDIS_SENTINEL_MASTER is required with REDIS_SENTINELS "
                "(the master name the sentinels monitor)"
            )

    @property
    def has_slack_credentials(self) -> bool:
        return bool(self.slack_bot_token and self.slack_signing_secret)


def load_settings() -> Settings:
    """Read the environment; raise SettingsError with one line naming the bad setting."""
    try:
        settings = Settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        if not err["loc"]:  # a rule across settings names them in its message
            reason = err["msg"].removeprefix("Value error, ")
            raise SettingsError(f"settings are invalid: {reason}") from None
        name = str(err["loc"][0]).upper()
        raise SettingsError(f"setting {name} is invalid: {err['msg']}") from None
    settings.check()
    return settings
