"""The metric checks feature (with PROMETHEUS_URL or PROMETHEUS_URLS; absent without):
`/metrics` and the checks an incident's lifecycle runs (bot/metrics/incident_checks.py):

* the metrics snapshot posted in a new incident's channel (SNAPSHOT_ON_DECLARE);
* verify before resolve, a guard on every way of resolving ("Resolve anyway");
* impact start from the metrics, offered on declare;
* the relapse watch: registered on resolve, ended by a reopen, re-checked by the worker's
  `relapse_watch` job (each relapse posted once, claimed in Redis);
* the error budget the incident consumed (services with an SLO), kept on its timeline on
  resolve for the postmortem's Impact section.
"""

from __future__ import annotations

from datetime import timedelta

from bot.clock import Clock, system_clock
from bot.errors import ConfirmationNeeded
from bot.features import InstallContext, Installed
from bot.incidents.flows import Change, ChangeRequest, ChannelPost, Outcome
from bot.metrics import MetricsService, PrometheusSource, load_config
from bot.metrics.channel_report import code, record_check
from bot.metrics.incident_checks import (
    RELAPSE_CHECK_SECONDS,
    RelapseWatcher,
    impact_offer,
    record_budget_consumed,
    still_bad,
    watch_until,
)
from bot.metrics.render import render_check
from bot.metrics.sources import prometheus_servers
from bot.runbooks import RunbookLibrary
from bot.settings import Settings
from bot.slack.blocks import impact_start_blocks, relapse_blocks, text_blocks
from bot.slack.gateway import SlackGateway
from bot.store.redis_store import RedisStore
from bot.worker import PeriodicJob

SHOWN_FINDINGS = 8
SNAPSHOT_ORDER = 20  # in declare's message after the header: after similar incidents
IMPACT_OFFER_ORDER = 30  # last: it asks something


def build_metrics(
    settings: Settings, *, clock: Clock, runbooks: RunbookLibrary | None = None
) -> MetricsService | None:
    """The metrics service over PROMETHEUS_URL or PROMETHEUS_URLS (one client each, queried
    concurrently); None without them."""
    servers = prometheus_servers(settings)
    if not servers:
        return None
    config = load_config(settings.metrics_config)
    timeout = config.prometheus.query_timeout_seconds
    sources = {name: PrometheusSource(url, timeout=timeout) for name, url in servers.items()}
    return MetricsService(
        sources=sources,  # type: ignore[arg-type]
        config=config,
        clock=clock,
        runbooks=runbooks,
        discovery_ttl=settings.metrics_discovery_ttl,
    )


def build_relapse_watcher(
    settings: Settings, *, store: RedisStore, chat: SlackGateway, clock: Clock = system_clock
) -> RelapseWatcher | None:
    """The worker's relapse watch; None without Prometheus."""
    metrics = build_metrics(settings, clock=clock)
    if metrics is None:
        return None
    return RelapseWatcher(
        metrics=metrics,
        store=store,
        chat=chat,
        clock=clock,
        incidents_channel=settings.incidents_channel,
        render=relapse_blocks,
    )


def install(ctx: InstallContext) -> Installed | None:
    settings, chat, flows = ctx.settings, ctx.chat, ctx.flows
    if not prometheus_servers(settings):
        return None
    runbooks = RunbookLibrary.from_folder(settings.runbooks_dir)
    metrics = build_metrics(settings, clock=ctx.clock, runbooks=runbooks)
    # the worker's watch has its own client, without runbooks (its posts cite none)
    relapse = build_relapse_watcher(settings, store=ctx.store, chat=chat, clock=ctx.clock)
    assert metrics is not None and relapse is not None

    async def metrics_snapshot(outcome: Outcome) -> None:
        """The channel opens with the current state (SNAPSHOT_ON_DECLARE=false: off): read
        beside declare's first Slack calls, posted with the other posts after the header."""
        inc = outcome.incident
        report = await metrics.check(first=inc.services)
        await record_check(
            timeline=ctx.services.timeline, clock=ctx.clock, incident=inc, report=report
        )
        text = code(render_check(report))
        outcome.post_after_header(
            ChannelPost(
                order=SNAPSHOT_ORDER,
                text=text,
                blocks=text_blocks(text),
                warning="could not post the metrics snapshot",
            )
        )

    if settings.snapshot_on_declare:
        flows.after(
            Change.DECLARED,
            "metrics snapshot",
            metrics_snapshot,
            warning="could not post the metrics snapshot",
            concurrent=True,
            before="channel posts",
        )

    async def metrics_still_bad(request: ChangeRequest) -> None:
        bad = await still_bad(metrics, request.incident)
        if bad is None:
            return
        lines = "\n".join(f"• {f}" for f in bad.findings[:SHOWN_FINDINGS])
        more = len(bad.findings) - SHOWN_FINDINGS
        tail = f"\n• and {more} more" if more > 0 else ""
        raise ConfirmationNeeded(
            f"The metrics of {request.incident.id} are still bad:\n{lines}{tail}\n"
            "Resolve anyway?",
            confirm_label="Resolve anyway",
        )

    flows.guard(Change.RESOLVED, "metrics still bad", metrics_still_bad)

    async def impact_from_metrics(outcome: Outcome) -> None:
        """Asked beside declare's first Slack calls; the offer is posted after the header."""
        offer = await impact_offer(metrics, outcome.incident, ctx.store)
        if offer is None:
            return

        async def withdraw() -> None:
            await offer.withdraw(ctx.store)

        outcome.post_after_header(
            ChannelPost(
                order=IMPACT_OFFER_ORDER,
                text=offer.text,
                blocks=impact_start_blocks(offer.text, offer.value),
                warning="could not offer the impact start the metrics show",
                undo=withdraw,
            )
        )

    flows.after(
        Change.DECLARED,
        "impact start from metrics",
        impact_from_metrics,
        concurrent=True,
        before="channel posts",
    )
    watch = settings.relapse_watch
    watched = ctx.store.relapse

    async def relapse_watch(outcome: Outcome) -> None:
        until = watch_until(outcome.incident, watch)
        if until is not None and watch > timedelta(0):
            await watched.watch(outcome.incident.id, until)

    async def end_relapse_watch(outcome: Outcome) -> None:
        await watched.unwatch(outcome.incident.id)

    flows.after(Change.RESOLVED, "relapse watch", relapse_watch)

    async def error_budget_consumed(outcome: Outcome) -> None:
        """The error budget the incident consumed, kept for the postmortem's Impact."""
        await record_budget_consumed(metrics, ctx.services.timeline, ctx.clock, outcome.incident)

    flows.after(
        Change.RESOLVED,
        "error budget consumed",
        error_budget_consumed,
        warning="could not read the error budget the incident consumed",
    )
    flows.after(Change.REOPENED, "end relapse watch", end_relapse_watch)
    return Installed(
        "metric checks",
        provides={"metrics": metrics},
        # re-checks resolved incidents; each relapse posted once (a claim in Redis)
        jobs=[PeriodicJob("relapse_watch", relapse.scan, every=RELAPSE_CHECK_SECONDS)],
    )
