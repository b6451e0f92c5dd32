"""Publishing plugs in here: the document stores from the settings (each one optional), the
metric chart from Prometheus when it is configured, every new postmortem version with
POSTMORTEM_PUBLISH=auto, and the worker's retries. Nothing is built when no store is."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.clock import Clock
from bot.features import InstallContext, Installed
from bot.incidents.models import Incident
from bot.integrations.google import DRIVE_SCOPE, ServiceAccount, ServiceAccountKey
from bot.metrics import MetricsService
from bot.ports import ChatGateway
from bot.postmortem.service import PostmortemService
from bot.publishing.confluence import ConfluenceStore
from bot.publishing.gdocs import GoogleDocsStore
from bot.publishing.notion import NotionStore
from bot.publishing.port import DocumentStore
from bot.publishing.service import Chart, PublishService, no_chart
from bot.settings import Settings
from bot.store.redis_store import RedisStore
from bot.worker import PeriodicJob

RETRY_EVERY = 30.0
MIN_WINDOW = timedelta(minutes=10)
MAX_WINDOW = timedelta(hours=6)


def build_stores(settings: Settings) -> list[DocumentStore]:
    s = settings
    stores: list[DocumentStore] = []
    if s.confluence_url and s.confluence_email and s.confluence_api_token \
            and s.confluence_space_id:
        stores.append(ConfluenceStore(
            url=str(s.confluence_url), email=s.confluence_email,
            api_token=s.confluence_api_token, space_id=s.confluence_space_id,
            parent_page_id=s.confluence_parent_page_id))
    if s.notion_token and s.notion_parent_page_id:
        stores.append(NotionStore(token=s.notion_token, parent_page_id=s.notion_parent_page_id,
                                  api_url=str(s.notion_api_url)))
    if s.gdrive_folder_id and s.google_service_account_file:
        key = ServiceAccountKey.from_file(s.google_service_account_file)
        stores.append(GoogleDocsStore(account=ServiceAccount(key, DRIVE_SCOPE),
                                      folder_id=s.gdrive_folder_id,
                                      api_url=str(s.google_api_url)))
    return stores


def metric_chart(metrics: MetricsService | None, clock: Clock) -> Chart:
    """The incident's correlation chart (errors, P99, DB pool) over its own window."""
    if metrics is None:
        return no_chart

    async def chart(incident: Incident) -> tuple[bytes | None, str]:
        from bot.metrics.chart import correlation_png

        end = incident.resolved_at or clock()
        window = min(max(end - incident.started_at + MIN_WINDOW / 2, MIN_WINDOW), MAX_WINDOW)
        step = max(timedelta(seconds=30), window / 120)
        try:
            corr = await metrics.correlate(window=window, step=step, end=end,
                                           service=incident.services[0]
                                           if incident.services else None)
        except Exception as exc:  # the document goes out without its chart, and says why
            return None, f"No metric chart: {type(exc).__name__}."
        if not corr.rows or all(r.errors_per_second is None for r in corr.rows):
            return None, "No metric chart: Prometheus had no readings for the incident."
        return await asyncio.to_thread(correlation_png, corr), ""

    return chart


def build_publishing(
    settings: Settings, *, store: RedisStore, chat: ChatGateway, clock: Clock,
    postmortems: PostmortemService | None, metrics: MetricsService | None = None,
) -> PublishService | None:
    stores = build_stores(settings)
    if not stores or postmortems is None:
        return None
    publishing = PublishService(
        stores=stores, postmortems=postmortems, store=store, integrations=store.integrations,
        chat=chat, clock=clock, auto=settings.postmortem_publish == "auto",
        web_base_url=settings.web_base, chart=metric_chart(metrics, clock),
    )
    postmortems.followers.append(publishing.on_version)
    return publishing


def worker_jobs(publishing: PublishService | None) -> list[PeriodicJob]:
    if publishing is None:
        return []
    return [PeriodicJob(name="publish_retries", run=publishing.retry_due, every=RETRY_EVERY)]


def install(ctx: InstallContext) -> Installed | None:
    """Publishing, when a place is configured: every postmortem version followed (auto),
    the worker's retries, and `services.publishing` for `/incident postmortem publish`."""
    publishing = build_publishing(
        ctx.settings, store=ctx.store, chat=ctx.chat, clock=ctx.clock,
        postmortems=ctx.services.postmortems, metrics=ctx.services.metrics,
    )
    if publishing is None:
        return None
    return Installed("publishing", provides={"publishing": publishing},
                     jobs=worker_jobs(publishing))
