"""Settings read from the environment (the names are a public contract, see README)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import AnyHttpUrl, BeforeValidator, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SLACK_DEFAULT_API_URL = "https://slack.com/api/"


OFF_WORDS = ("", "off", "none", "no", "0")


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


class SettingsError(Exception):
    """A bad or missing setting; the message is one line naming it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: AnyHttpUrl = AnyHttpUrl(SLACK_DEFAULT_API_URL)
    redis_url: str = "redis://127.0.0.1:6379/0"
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
    runbooks_dir: str = "runbooks"
    snapshot_on_declare: bool = True
    reminder_lead_time_hours: float = Field(default=24.0, gt=0)
    reminder_escalate_after: int = Field(default=3, ge=1)
    undated_reminder: str = Field(default="7d", pattern=r"^\d{1,4}[hdw]$")
    reminder_work_start: str = Field(default="09:00", pattern=r"^\d{2}:\d{2}$")
    reminder_work_end: str = Field(default="18:00", pattern=r"^\d{2}:\d{2}$")
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

    @field_validator("metrics_discovery_ttl", mode="before")
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

    @field_validator("incidents_channel")
    @classmethod
    def _channel_name(cls, v: str) -> str:
        return v.lstrip("#")

    @property
    def slack_api_base(self) -> str:
        url = str(self.slack_api_url)
        return url if url.endswith("/") else url + "/"

    @property
    def has_slack_credentials(self) -> bool:
        return bool(self.slack_bot_token and self.slack_signing_secret)


def load_settings() -> Settings:
    """Read the environment; raise SettingsError with one line naming the bad setting."""
    try:
        return Settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]).upper() if err["loc"] else "settings"
        raise SettingsError(f"setting {name} is invalid: {err['msg']}") from None
