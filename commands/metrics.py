"""/metrics: the seed-000 investigation against Prometheus, from Slack."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import ChatError, UsageError
from bot.incidents.models import Incident
from bot.metrics import (
    CheckReport,
    MetricsService,
    MetricsUnavailable,
    channel_report,
    render_cascade,
    render_check,
    render_correlation,
    render_fleet_discovery,
    render_query,
)
from bot.metrics.channel_report import code
from bot.metrics.chart import correlation_png
from bot.metrics.incident_checks import offer_impact_start
from bot.metrics.models import Correlation
from bot.mrkdwn import escape
from bot.parsing import parse_duration
from bot.registry import CommandRegistry, Subcommand
from bot.services import Services
from bot.slack.blocks import impact_start_blocks
from commands.context import CommandContext, reports_errors, run_slash_command

log = structlog.get_logger(__name__)
registry = CommandRegistry("/metrics")
NOT_CONFIGURED = (
    "Metric checks are not set up on this bot: set PROMETHEUS_URL to your Prometheus "
    "(everything else keeps working without it)."
)


async def post_check(services: Services, incident: Incident, report: CheckReport) -> None:
    await channel_report.post_check(
        chat=services.chat,
        timeline=services.timeline,
        clock=services.clock,
        incident=incident,
        report=report,
    )


def _checks(ctx: CommandContext) -> MetricsService:
    if ctx.services.metrics is None:  # the listener answers NOT_CONFIGURED before this
        raise MetricsUnavailable(NOT_CONFIGURED)
    return ctx.services.metrics


async def _answer(ctx: CommandContext, report: CheckReport) -> None:
    incident = await ctx.services.incidents.for_channel(ctx.channel_id)
    if incident is None:
        await ctx.reply(code(render_check(report)))
    else:
        await post_check(ctx.services, incident, report)


async def post_chart(ctx: CommandContext, corr: Correlation) -> None:
    """The correlation as a PNG in the channel; the text is already there, so a chart that
    cannot be drawn or uploaded is only mentioned."""
    if not any(r.errors_per_second is not None for r in corr.rows):
        return
    try:
        png = await asyncio.to_thread(correlation_png, corr)
        await ctx.services.chat.upload_image(
            ctx.channel_id,
            f"metrics-{corr.service}-{corr.end:%Y%m%d-%H%M%S}.png",
            f"{corr.service}: error rate, P99 and DB pool",
            png,
        )
    except (ChatError, ImportError, ValueError) as exc:
        reason = exc.message if isinstance(exc, ChatError) else str(exc)
        log.warning("metrics_chart_failed", service=corr.service, reason=reason)
        await ctx.reply(
            f"(The chart could not be posted: {escape(reason)}; the numbers are above.)"
        )


def _service(ctx: CommandContext) -> str | None:
    if len(ctx.parsed.words) > 1:
        raise UsageError("Give at most one service.")
    return ctx.parsed.words[0].lower() if ctx.parsed.words else None


@registry.subcommand(
    "check",
    usage="check [service]",
    summary="the full investigation (seed 000); no service: every service, worst first",
)
async def check(ctx: CommandContext) -> None:
    """Health, error rate, P99, DB pool, CPU and memory, tagged `[OK]`, `[ELEVATED]`, `[HIGH]` or
    `[CRITICAL]`, with the likely cause and its runbook section. With no service: every service
    found, worst first (ten shown, then "N more services OK"); in an incident channel the
    incident's services come first, the report is posted to the channel and recorded on the
    timeline, and a check that finds trouble posts a chart and may offer *Record as impact
    start*. An unknown name gets "did you mean …"."""
    service = _service(ctx)
    incident = await ctx.services.incidents.for_channel(ctx.channel_id)
    first = incident.services if incident is not None else []
    report = await _checks(ctx).check(service, first=first)
    if incident is None:
        await ctx.reply(code(render_check(report)))
        return
    await post_check(ctx.services, incident, report)
    if report.affected_services:
        corr = await _checks(ctx).correlate(service=report.affected_services[0])
        await post_chart(ctx, corr)
    if incident.is_active and report.affected_services:
        await offer_impact_start(
            _checks(ctx),
            ctx.services.chat,
            incident,
            impact_start_blocks,
            ctx.services.store,
        )


@registry.subcommand("health", usage="health [service]", summary="which services are up")
async def health(ctx: CommandContext) -> None:
    """One part of `/metrics check`."""
    await _answer(ctx, await _checks(ctx).health(_service(ctx)))


@registry.subcommand("errors", usage="errors [service]", summary="5xx error rate per service")
async def errors(ctx: CommandContext) -> None:
    """One part of `/metrics check`."""
    await _answer(ctx, await _checks(ctx).errors(_service(ctx)))


@registry.subcommand("latency", usage="latency [service]", summary="P99 latency per service")
async def latency(ctx: CommandContext) -> None:
    """One part of `/metrics check`."""
    await _answer(ctx, await _checks(ctx).latency(_service(ctx)))


@registry.subcommand("db", usage="db", summary="database connection pool")
async def db(ctx: CommandContext) -> None:
    """One part of `/metrics check`."""
    if ctx.parsed.words:
        raise UsageError("`db` takes no arguments.")
    await _answer(ctx, await _checks(ctx).db())


@registry.subcommand("resources", usage="resources [service]", summary="CPU and memory")
async def resources(ctx: CommandContext) -> None:
    """One part of `/metrics check`."""
    await _answer(ctx, await _checks(ctx).resources(_service(ctx)))


@registry.subcommand(
    "correlate",
    usage="correlate [window:10m] [step:30s]",
    summary="error rate, DB pool and P99 over time, and where it turned",
    options=("window", "step"),
)
async def correlate(ctx: CommandContext) -> None:
    """Error rate, DB pool and P99 over time, and where it turned, for the worst service now
    (its own pool when the labels tie one to it), plus a PNG chart of the three. When the
    upload fails the text still stands."""
    if ctx.parsed.words:
        raise UsageError(f"`{escape(ctx.parsed.rest)}` is not understood here.")
    window = parse_duration(ctx.parsed.options.get("window", "10m"))
    step = parse_duration(ctx.parsed.options.get("step", "30s"))
    corr = await _checks(ctx).correlate(window=window, step=step)
    await ctx.reply(code(render_correlation(corr)))
    await post_chart(ctx, corr)


@registry.subcommand("cascade", usage="cascade", summary="dependency chain and where it starts")
async def cascade(ctx: CommandContext) -> None:
    """Ordered by when each crossed its threshold (or by the `dependencies` of
    `METRICS_CONFIG`), down to the database, and where the failure starts."""
    await ctx.reply(code(render_cascade(await _checks(ctx).cascade())))


@registry.subcommand(
    "query", usage="query <promql>", summary="read-only instant query", verbatim=True
)
async def query(ctx: CommandContext) -> None:
    """Read-only; the output is bounded."""
    if not ctx.parsed.rest:
        raise UsageError("Give a PromQL expression.")
    await ctx.reply(code(render_query(await _checks(ctx).query(ctx.parsed.rest))))


@registry.subcommand(
    "discover",
    usage="discover",
    summary="ask Prometheus again what it has: services, metrics, labels and units per check",
)
async def discover(ctx: CommandContext) -> None:
    """Asks Prometheus again what it has: the service label, the services, and per check the
    metric, labels and unit used, or what was looked for and not found.
    `incident-bot metrics discover [--write FILE]` prints the same on the command line and writes
    it as YAML to edit and pass as `METRICS_CONFIG`."""
    if ctx.parsed.words:
        raise UsageError("`discover` takes no arguments.")
    checks = _checks(ctx)
    found = await checks.fleet(refresh=True)
    note = (
        "\nPin or change any of it with METRICS_CONFIG "
        "(`incident-bot metrics discover --write metrics.yml` writes one to edit)."
    )
    await ctx.reply(code(render_fleet_discovery(found, checks.config.slos)) + note)


@registry.subcommand("help", usage="help", summary="this list")
async def help_(ctx: CommandContext) -> None:
    """Generated from the command registry."""
    await ctx.reply(registry.help_text())


def register(app: AsyncApp, services: Services) -> None:
    def unavailable(sub: Subcommand) -> str | None:
        return NOT_CONFIGURED if services.metrics is None and sub.name != "help" else None

    @app.command("/metrics")
    @reports_errors(services)
    async def metrics_command(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await run_slash_command(
            registry,
            services,
            ack=ack,
            command=command,
            respond=respond,
            client=client,
            unavailable=unavailable,
        )
