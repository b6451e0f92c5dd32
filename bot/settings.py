"""Settings read from the environment (the names are a public contract).

Each group below is one section of docs/settings.md, which is generated from this module
(`make docs`): a group's docstring is its heading and introduction, and every field's
`Field(description=…)` its line in the table. Add a setting with its description, then run
`make docs`; tests/test_docs.py fails while the docs are stale."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import AnyHttpUrl, BaseModel, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.actions.settings import ReminderSettings
from bot.conferencing.settings import CallSettings
from bot.integrations.settings import PagerSettings, TrackerSettings
from bot.publishing.settings import PublishSettings
from bot.setting_values import (
    OFF_WORDS,
    AppToken,
    BotToken,
    ChannelName,
    HostPorts,
    PrometheusServers,
    RedisUrl,
    ShortDuration,
)
from bot.statuspage.settings import StatusPageSettings
from bot.store.connection import RedisSettings
from bot.updates.settings import UpdateSettings
from bot.web.settings import WebSettings

__all__ = ["OFF_WORDS", "Settings", "SettingsError", "load_settings"]

SLACK_DEFAULT_API_URL = "https://slack.com/api/"


class SettingsError(Exception):
    """A bad or missing setting; the message is one line naming it."""


class SlackSettings(BaseModel):
    """Slack

    The app's credentials (see *Install it in your workspace* in the README) and where it
    talks. `make run` without them plays the bundled local workspace instead."""

    slack_bot_token: BotToken = Field(
        None, description="bot token `xoxb-…` (required to serve)"
    )
    slack_signing_secret: str | None = Field(
        None, description="verifies every HTTP request from Slack (HTTP mode)"
    )
    slack_app_token: AppToken = Field(
        None, description="app-level token `xapp-…`; enables Socket Mode"
    )
    slack_api_url: AnyHttpUrl = Field(
        AnyHttpUrl(SLACK_DEFAULT_API_URL),
        description="Web API base URL (the tests point it at the emulator)",
    )
    incidents_channel: ChannelName = Field(
        "incidents", description="where declarations, resolutions and digests are announced"
    )
    admin_usergroup: str | None = Field(
        None,
        description="Slack user group id (`S…`) whose members may act as IC and read and "
        "change every private incident",
    )


class ProcessSettings(BaseModel):
    """Processes

    Ports of `incident-bot serve`, `socket` and `worker` (each answers `/healthz` and
    `/metrics`; see docs/operations.md)."""

    port: int = Field(
        3000,
        ge=1,
        le=65535,
        description="HTTP port of `incident-bot serve`; in Socket Mode, of the side server "
        "(`/healthz`, `/metrics`, `/alertmanager`, the webhooks)",
    )
    worker_port: int = Field(
        8081, ge=1, le=65535, description="the worker's `/healthz` and `/metrics`"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO",
        description="what the processes log: `INFO` includes a JSON line per HTTP "
        "request (its route, status and time); `WARNING` keeps only warnings and errors",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class StoreSettings(BaseModel):
    """Redis

    The store: one server, a Sentinel-managed primary with replicas, or a Redis Cluster
    (docs/operations.md, *Running at scale*). Wrong together (a cluster behind sentinels, a
    master name the sentinels do not know) stops the bot at start, naming the setting."""

    redis_url: RedisUrl = Field(
        "redis://127.0.0.1:6379/0", description="the store (`redis://`, `rediss://`, `unix://`)"
    )
    redis_cluster: bool = Field(
        False, description="`true`: `REDIS_URL` names any one node of a Redis Cluster"
    )
    redis_sentinels: HostPorts = Field(
        None,
        description="`host:port,…` of Redis Sentinels; the bot follows the primary they name "
        "through failovers",
    )
    redis_sentinel_master: str | None = Field(
        None,
        description="the master name the sentinels monitor (required with `REDIS_SENTINELS`)",
    )
    redis_password: str | None = Field(
        None, description="password of the Redis servers (also allowed inside `REDIS_URL`)"
    )
    redis_sentinel_password: str | None = Field(
        None, description="password of the sentinels, when they have one"
    )
    redis_min_replicas_ack: int | None = Field(
        None,
        ge=0,
        description="acknowledged writes (timeline events, action items, role changes…) wait "
        "for this many replicas (`WAIT`); fewer in time is a failed write: Slack gets 503 and "
        "retries, a person is told to try again. Unset: 1 when the primary has replicas at "
        "start, else 0",
    )
    redis_replica_ack_timeout_ms: int = Field(
        500, ge=1, le=60000, description="how long such a write waits for the replicas (ms)"
    )


class MetricsSettings(BaseModel):
    """Prometheus and the metric checks

    Unset `PROMETHEUS_URL`: `/metrics` says it is off, and nothing waits on it. A
    Prometheus that is down never blocks a change (docs/integrations.md)."""

    prometheus_url: AnyHttpUrl | None = Field(
        None, description="Prometheus for `/metrics`; unset: `/metrics` is off and says so"
    )
    prometheus_urls: PrometheusServers = Field(
        None,
        description="several Prometheus servers (or compatible stores: VictoriaMetrics, "
        "Thanos Query, Mimir) by name, `eu=http://prom-eu:9090,us=http://prom-us:9090`: "
        "each is queried concurrently, services are merged, a name on two servers is shown "
        "as `name@server`, and one that is down is named in a partial answer. Instead of "
        "PROMETHEUS_URL, which still means one server",
    )
    metrics_config: str | None = Field(
        None,
        description="YAML overriding thresholds and windows (`bot/metrics/defaults.yml`) and "
        "pinning what discovery finds: `service_label`, `services`, `checks`, `dependencies`; "
        "`incident-bot metrics discover --write FILE` writes one to edit. Always wins over "
        "discovery",
    )
    metrics_discovery_ttl: ShortDuration = Field(
        timedelta(minutes=10),
        description="how long the metric bindings discovered in Prometheus are reused "
        "(`/metrics discover` asks again)",
    )
    relapse_watch: ShortDuration = Field(
        timedelta(minutes=30),
        description="how long after a resolve the worker re-checks the incident's services "
        "for a relapse (`0s`: off)",
    )
    snapshot_on_declare: bool = Field(
        True, description="post a `/metrics check` in a new incident's channel"
    )
    runbooks_dir: str = Field(
        "runbooks", description="Markdown runbooks cited by checks and postmortems"
    )


class ModelSettings(BaseModel):
    """AI drafts (Anthropic)

    Unset `ANTHROPIC_API_KEY`: postmortems and summaries are drafted from the record alone.
    The record's draft is always posted first, so nobody waits on the model."""

    anthropic_api_key: str | None = Field(
        None, description="model for postmortem drafts; unset: deterministic drafts"
    )
    anthropic_base_url: AnyHttpUrl | None = Field(
        None,
        description="Messages API base URL; unset: Anthropic's (the tests use a local stand-in)",
    )
    anthropic_model: str = Field("claude-sonnet-4-6", description="model name")
    anthropic_timeout: float = Field(
        30.0,
        gt=0,
        le=600,
        description="seconds the whole AI draft may take, retries included (the draft built "
        "from the record is posted first, so nobody waits on it)",
    )
    private_incidents_use_ai: bool = Field(
        False,
        description="`true` lets a private incident's text go to the model; otherwise its "
        "drafts are deterministic",
    )


class AlertSettings(BaseModel):
    """Alerts in

    Alertmanager's webhook (`POST /alertmanager`; docs/integrations.md)."""

    alertmanager_token: str | None = Field(
        None, description="bearer token `POST /alertmanager` requires; unset: it answers 503"
    )
    alertmanager_auto_declare: bool = Field(
        False,
        description="declare an incident by itself for critical firing alerts (and high-"
        "urgency pages from the pagers' webhooks)",
    )


class Settings(
    SlackSettings,
    ProcessSettings,
    StoreSettings,
    MetricsSettings,
    ModelSettings,
    AlertSettings,
    ReminderSettings,
    UpdateSettings,
    TrackerSettings,
    PagerSettings,
    CallSettings,
    PublishSettings,
    StatusPageSettings,
    WebSettings,
    BaseSettings,
):
    """Every setting, from the environment (pydantic-settings). A new group is a class with
    its docstring (here, or in its feature's package as bot/integrations/settings.py does),
    added to these bases; docs/settings.md lists the groups in this order."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

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
        if self.prometheus_url is not None and self.prometheus_urls:
            raise SettingsError(
                "setting PROMETHEUS_URLS is invalid: set it or PROMETHEUS_URL, not both "
                "(PROMETHEUS_URLS names every server, e.g. eu=http://…,us=http://…)"
            )
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

    def secret_values(self) -> list[str]:
        """Every credential's value (a setting named `…_token`, `…_secret`, `…_key` or
        `…_password`), for the log redactor: none of them is ever written to a log."""
        return [v for name, v in self if isinstance(v, str) and v
                and name.endswith(("_token", "_secret", "_key", "_password"))]

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
