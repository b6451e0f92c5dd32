"""The bot's own metrics (GET /metrics, prometheus-client, one registry per app) and log
hygiene: request and incident ids bound via structlog contextvars, secrets redacted."""

from __future__ import annotations

import itertools
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from typing import Any

import structlog
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot import tallies

log = structlog.get_logger(__name__)

METRICS_PATH = "/metrics"
SLACK_PATH = "/slack/events"
ACK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
SECRET_PATTERN = re.compile(r"(xox[abposr]-|xapp-|sk-ant-)[A-Za-z0-9._\-]+")
REDACTED = "[redacted]"
SCAN_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
REQUEST_ID = web.RequestKey("request_id", str)
_REQUEST_IDS = itertools.count(1)
_PROCESS_TAG = uuid.uuid4().hex[:6]


def next_request_id() -> str:
    """A request id unique in this deployment: this process's random tag and a counter
    (no random bytes read from the kernel per request)."""
    return f"{_PROCESS_TAG}{next(_REQUEST_IDS):06x}"



class TallyCollector(Collector):
    """Redis errors, postmortem-draft outcomes and model tokens of this process
    (bot/tallies.py)."""

    def collect(self) -> Iterator[Metric]:
        redis = CounterMetricFamily(
            "incident_bot_redis_errors",
            "Redis operations that failed because Redis could not be reached",
        )
        redis.add_metric([], tallies.count(tallies.REDIS_ERRORS))
        yield redis
        drafts = CounterMetricFamily(
            "incident_bot_model_drafts",
            "Postmortem drafts asked of the model, by outcome (fallback: deterministic draft)",
            labels=["outcome"],
        )
        for outcome in ("ok", "fallback"):
            drafts.add_metric([outcome], tallies.count(tallies.MODEL_DRAFTS, outcome))
        yield drafts
        tokens = CounterMetricFamily(
            "incident_bot_llm_tokens",
            "Tokens the model used for AI drafts, by kind (input, output, cache_read, "
            "cache_creation)",
            labels=["kind"],
        )
        for kind in tallies.TOKEN_KINDS:
            tokens.add_metric([kind], tallies.count(tallies.LLM_TOKENS, kind))
        yield tokens
        claims = CounterMetricFamily(
            "incident_bot_llm_claims",
            "The model's claims checked against the record, by verdict (kept; flagged: shown "
            "as unverified; dropped: named someone not in the record)",
            labels=["verdict"],
        )
        for verdict in tallies.CLAIM_VERDICTS:
            claims.add_metric([verdict], tallies.count(tallies.LLM_CLAIMS, verdict))
        yield claims


def metrics_response(registry: CollectorRegistry) -> web.Response:
    return web.Response(
        body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


class SlackCallMetrics:
    """Slack Web API errors and 429s of one process (web, socket or worker), hooked to
    its gateway: the same series everywhere, so one alert covers every process."""

    registry: CollectorRegistry

    def _slack_counters(self) -> None:
        self.slack_api_errors = Counter(
            "incident_bot_slack_api_errors",
            "Slack Web API calls that failed, by method and error",
            ["method", "error"],
            registry=self.registry,
        )
        self.slack_rate_limited = Counter(
            "incident_bot_slack_rate_limited",
            "HTTP 429 answers from the Slack Web API (retried after Retry-After)",
            ["method"],
            registry=self.registry,
        )

    def slack_error(self, method: str, error: str) -> None:
        self.slack_api_errors.labels(method=method, error=error).inc()

    def rate_limit_observer(self) -> AsyncRetryHandler:
        return _RateLimitObserver(self)

    def watch_gateway(self, gateway: Any) -> None:
        """Count the failures and 429s of a SlackGateway's Web API client."""
        gateway.on_error = self.slack_error
        gateway.client.retry_handlers.insert(0, self.rate_limit_observer())


class WorkerMetrics(SlackCallMetrics):
    """The worker's metrics: reminders, escalations and failures by kind, the scan's
    duration, what is due and how late, scheduled jobs run and failed, Slack errors."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(TallyCollector())
        self._slack_counters()
        self.reminders_sent = Counter(
            "incident_bot_reminders_sent",
            "Reminders sent, by kind (before_due, overdue, escalation, undated)",
            ["kind"],
            registry=self.registry,
        )
        self.escalations = Counter(
            "incident_bot_reminder_escalations",
            "Ignored overdue action items escalated to the incident's IC",
            registry=self.registry,
        )
        self.failures = Counter(
            "incident_bot_reminder_failures",
            "Reminders Slack refused (retried at the next scan), by kind",
            ["kind"],
            registry=self.registry,
        )
        self.scan_duration = Histogram(
            "incident_bot_reminder_scan_duration_seconds",
            "Time one reminder scan took",
            buckets=SCAN_BUCKETS,
            registry=self.registry,
        )
        self.due = Gauge(
            "incident_bot_reminders_due",
            "Action items whose next reminder is due now and not yet sent",
            registry=self.registry,
        )
        self.oldest_lag = Gauge(
            "incident_bot_reminders_oldest_lag_seconds",
            "How long the most overdue due reminder has been waiting (0 when none)",
            registry=self.registry,
        )
        self.jobs = Counter(
            "incident_bot_worker_jobs",
            "Scheduled jobs run, by job name",
            ["name"],
            registry=self.registry,
        )
        self.job_failures = Counter(
            "incident_bot_worker_job_failures",
            "Scheduled jobs that failed (e.g. Redis unreachable), by job name",
            ["name"],
            registry=self.registry,
        )
        self.last_success = Gauge(
            "incident_bot_reminder_last_success_timestamp_seconds",
            "Unix time of the last reminder scan that completed",
            registry=self.registry,
        )

    def backlog(self, due: int, oldest_lag_seconds: float) -> None:
        self.due.set(due)
        self.oldest_lag.set(max(oldest_lag_seconds, 0.0))


class BotMetrics(SlackCallMetrics):
    """The metrics of one bot process; a registry of its own so tests do not collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(TallyCollector())
        self.commands = Counter(
            "incident_bot_commands",
            "Slash commands, buttons, modals and events handled, by name and outcome",
            ["kind", "name", "outcome"],
            registry=self.registry,
        )
        self.ack_latency = Histogram(
            "incident_bot_ack_latency_seconds",
            "Time to answer Slack's POST /slack/events (Slack gives up after 3 s)",
            buckets=ACK_BUCKETS,
            registry=self.registry,
        )
        self._slack_counters()
        self.open_incidents = Gauge(
            "incident_bot_open_incidents",
            "Incidents not yet resolved (read from Redis on scrape)",
            registry=self.registry,
        )
        self.scrape_errors = Counter(
            "incident_bot_metrics_scrape_errors",
            "Scrapes of /metrics that could not read Redis",
            registry=self.registry,
        )

    # --- HTTP --------------------------------------------------------------------

    def routes(self, open_incident_count: Callable[[], Awaitable[int]]) -> list[web.RouteDef]:
        async def metrics(_: web.Request) -> web.Response:
            try:
                self.open_incidents.set(await open_incident_count())
            except Exception:
                self.scrape_errors.inc()
                log.warning("metrics_open_incidents_unreadable")
            return metrics_response(self.registry)

        return [web.get(METRICS_PATH, metrics)]

    def middleware(self) -> Any:
        @web.middleware
        async def observe(
            request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
        ) -> web.StreamResponse:
            request_id = request.headers.get("X-Request-Id") or next_request_id()
            request[REQUEST_ID] = request_id  # for the access line (AccessLog)
            timed = request.method == "POST" and request.path == SLACK_PATH
            started = time.perf_counter()
            bound = structlog.contextvars.bind_contextvars(request_id=request_id)
            try:
                return await handler(request)
            finally:
                structlog.contextvars.reset_contextvars(**bound)
                if timed:
                    self.ack_latency.observe(time.perf_counter() - started)

        return observe

    def timed_socket_listener(
        self, listener: Callable[[Any, Any], Awaitable[None]]
    ) -> Callable[[Any, Any], Awaitable[None]]:
        """A Socket Mode request listener (dispatch, then the ack frame) timed into the
        same ack-latency histogram as HTTP, with a request id per envelope."""

        async def timed(client: Any, request: Any) -> None:
            started = time.perf_counter()
            request_id = str(getattr(request, "envelope_id", "") or uuid.uuid4().hex[:12])
            with structlog.contextvars.bound_contextvars(request_id=request_id):
                try:
                    await listener(client, request)
                finally:
                    self.ack_latency.observe(time.perf_counter() - started)

        return timed

    # --- outcomes ----------------------------------------------------------------

    def count(self, kind: str, name: str, outcome: str) -> None:
        """One command, button, modal or event handled (the registry and the listener
        wrapper in commands/context.py report here)."""
        self.commands.labels(kind=kind, name=name, outcome=outcome).inc()


class _RateLimitObserver(AsyncRetryHandler):
    """First in the client's retry handlers: counts 429s, never retries itself."""

    def __init__(self, metrics: SlackCallMetrics) -> None:
        super().__init__(max_retry_count=1_000_000)
        self.metrics = metrics

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is not None and response.status_code == 429:
            method = request.url.rstrip("/").rsplit("/", 1)[-1]
            self.metrics.slack_rate_limited.labels(method=method).inc()
        return False


# --- logs ----------------------------------------------------------------------------

access = structlog.get_logger("http")


class AccessLog(AbstractAccessLogger):
    """aiohttp's line per request (at LOG_LEVEL=INFO), as JSON through structlog like
    every other line: the route's pattern instead of the path (a Jira webhook's token, a
    subscriber's link are path segments) and never the query (sign-in's code and state)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        info = getattr(request, "match_info", None)
        resource = info.route.resource if info is not None else None
        access.info(
            "http_request", method=request.method,
            route=resource.canonical if resource is not None else "(no route)",
            status=response.status, ms=round(time * 1000, 2),
            request_id=request.get(REQUEST_ID) if isinstance(request, web.Request) else None,
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


class Redactor:
    """A structlog processor (and logging filter) that blanks tokens and secrets."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        text = SECRET_PATTERN.sub(REDACTED, text)
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {k: self._clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._clean(v) for v in value)
        if isinstance(value, BaseException):
            return self.redact(repr(value))
        return value

    def __call__(
        self, logger: Any, method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key, value in list(event_dict.items()):
            event_dict[key] = self._clean(value)
        return event_dict

    def filter(self, record: logging.LogRecord) -> bool:
        """For the stdlib loggers (Bolt, slack_sdk, aiohttp): redact the formatted message."""
        message = record.getMessage()
        cleaned = self.redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_logging(secrets: Iterable[str | None]) -> Redactor:
    """Put the redactor in front of structlog's renderer (and on the root log handlers),
    keeping whatever structlog configuration is in place. Idempotent: a second call
    replaces the redactor (new secrets)."""
    redactor = Redactor(secrets)
    config = structlog.get_config()
    processors = [
        p
        for p in config["processors"]
        if not isinstance(p, Redactor) and p is not structlog.contextvars.merge_contextvars
    ]
    # contextvars first (request/incident ids), redaction just before the renderer
    processors.insert(0, structlog.contextvars.merge_contextvars)
    processors.insert(max(len(processors) - 1, 1), redactor)
    structlog.configure(processors=processors)
    for handler in logging.getLogger().handlers:
        for old in [f for f in handler.filters if isinstance(f, Redactor)]:
            handler.removeFilter(old)
        handler.addFilter(redactor)
    return redactor
