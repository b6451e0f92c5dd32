"""/metrics: the seed-000 investigation against Prometheus, from Slack."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.errors import UsageError
from bot.incidents.models import Incident
from bot.metrics import CheckReport, render_cascade, render_check, render_correlation, render_query
from bot.mrkdwn import escape
from bot.parsing import parse_duration
from bot.registry import CommandRegistry, Subcommand
from bot.services import Services
from bot.timeline.models import EventKind, TimelineEvent
from commands.context import CommandContext, reports_errors, run_slash_command

registry = CommandRegistry("/metrics")
NOT_CONFIGURED = (
    "Metric checks are not set up on this bot: set PROMETHEUS_URL to your Prometheus "
    "(everything else keeps working without it)."
)


def code(text: str) -> str:
    return f"```\n{text}\n```"


def check_summary(report: CheckReport) -> tuple[str, dict[str, str]]:
    """One timeline line and the readings the postmortem cites."""
    data: dict[str, str] = {}
    bits: list[str] = []
    if report.db is not None:
        data["db_pool_percent"] = f"{report.db.percent:.0f}"
        bits.append(
            f"DB pool {report.db.active:.0f}/{report.db.pool_size:.0f} "
            f"({report.db.percent:.0f}%) [{report.db.verdict.value}]"
        )
    for e in report.errors or []:
        if e.per_second is not None:
            data[f"errors_per_second.{e.service}"] = f"{e.per_second:.2f}"
            bits.append(f"{e.service} {e.per_second:.2f} errors/s [{e.verdict.value}]")
    for lat in report.latency or []:
        if lat.p99_ms is not None:
            data[f"p99_ms.{lat.service}"] = f"{lat.p99_ms:.0f}"
            bits.append(f"{lat.service} P99 {lat.p99_ms:.0f}ms [{lat.verdict.value}]")
    if report.likely_cause is not None:
        data["likely_cause"] = report.likely_cause.name
        cite = report.likely_cause.citation
        bits.append(
            f"likely cause: {report.likely_cause.name}" + (f" ({cite.rendered})" if cite else "")
        )
    if report.failures:
        bits.append("could not run: " + ", ".join(sorted(report.failures)))
    return "Metrics check: " + "; ".join(bits or ["no readings"]), data


async def post_check(services: Services, incident: Incident, report: CheckReport) -> None:
    """Post a report in the incident channel and put it on the timeline."""
    await services.chat.post(incident.channel_id, code(render_check(report)))
    text, data = check_summary(report)
    await services.timeline.record(
        incident.id,
        TimelineEvent(kind=EventKind.METRICS, at=services.clock(), text=text, data=data),
    )


async def snapshot_on_declare(services: Services, incident: Incident) -> None:
    """The channel opens with the current state (turn off with SNAPSHOT_ON_DECLARE=false)."""
    if services.metrics is None or not services.settings.snapshot_on_declare:
        return
    report = await services.metrics.check(incident.services[0] if incident.services else None)
    await post_check(services, incident, report)


async def _answer(ctx: CommandContext, report: CheckReport) -> None:
    incident = await ctx.services.incidents.for_channel(ctx.channel_id)
    if incident is None:
        await ctx.reply(code(render_check(report)))
    else:
        await post_check(ctx.services, incident, report)


def _service(ctx: CommandContext) -> str | None:
    if len(ctx.parsed.words) > 1:
        raise UsageError("Give at most one service.")
    return ctx.parsed.words[0].lower() if ctx.parsed.words else None


@registry.subcommand("check", usage="check [service]", summary="the full investigation (seed 000)")
async def check(ctx: CommandContext) -> None:
    await _answer(ctx, await ctx.services.metrics.check(_service(ctx)))


@registry.subcommand("health", usage="health [service]", summary="which services are up")
async def health(ctx: CommandContext) -> None:
    await _answer(ctx, await ctx.services.metrics.health(_service(ctx)))


@registry.subcommand("errors", usage="errors [service]", summary="5xx error rate per service")
async def errors(ctx: CommandContext) -> None:
    await _answer(ctx, await ctx.services.metrics.errors(_service(ctx)))


@registry.subcommand("latency", usage="latency [service]", summary="P99 latency per service")
async def latency(ctx: CommandContext) -> None:
    await _answer(ctx, await ctx.services.metrics.latency(_service(ctx)))


@registry.subcommand("db", usage="db", summary="database connection pool")
async def db(ctx: CommandContext) -> None:
    if ctx.parsed.words:
        raise UsageError("`db` takes no arguments.")
    await _answer(ctx, await ctx.services.metrics.db())


@registry.subcommand("resources", usage="resources [service]", summary="CPU and memory")
async def resources(ctx: CommandContext) -> None:
    await _answer(ctx, await ctx.services.metrics.resources(_service(ctx)))


@registry.subcommand(
    "correlate",
    usage="correlate [window:10m] [step:30s]",
    summary="error rate, DB pool and P99 over time, and where it turned",
    options=("window", "step"),
)
async def correlate(ctx: CommandContext) -> None:
    if ctx.parsed.words:
        raise UsageError(f"`{escape(ctx.parsed.rest)}` is not understood here.")
    window = parse_duration(ctx.parsed.options.get("window", "10m"))
    step = parse_duration(ctx.parsed.options.get("step", "30s"))
    table = render_correlation(await ctx.services.metrics.correlate(window=window, step=step))
    await ctx.reply(code(table))


@registry.subcommand("cascade", usage="cascade", summary="dependency chain and where it starts")
async def cascade(ctx: CommandContext) -> None:
    await ctx.reply(code(render_cascade(await ctx.services.metrics.cascade())))


@registry.subcommand(
    "query", usage="query <promql>", summary="read-only instant query", verbatim=True
)
async def query(ctx: CommandContext) -> None:
    if not ctx.parsed.rest:
        raise UsageError("Give a PromQL expression.")
    await ctx.reply(code(render_query(await ctx.services.metrics.query(ctx.parsed.rest))))


@registry.subcommand("help", usage="help", summary="this list")
async def help_(ctx: CommandContext) -> None:
    await ctx.reply(registry.help_text())


def register(app: AsyncApp, services: Services) -> None:
    def unavailable(sub: Subcommand) -> str | None:
        return NOT_CONFIGURED if services.metrics is None and sub.name != "help" else None

    @app.command("/metrics")
    @reports_errors(services)
    async def metrics_command(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: Any
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
