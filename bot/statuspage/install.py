"""The status page plugs in here (STATUS_PAGE_COMPONENTS; absent without it): the
publishing service and its followers (the subscribers' outbox, the Statuspage mirror), the
questions after a status change and a resolve, the worker's jobs (deliveries, maintenance
windows, the mirror), the HTTP routes, and in each serving process a snapshot kept fresh
by polling the page's version once a second."""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from aiohttp import web

from bot.features import InstallContext, Installed, WebSetup
from bot.incidents.flows import Change, Outcome
from bot.settings import Settings, SettingsError
from bot.slack.statuspage_blocks import offer_blocks, resolve_blocks
from bot.statuspage.atlassian import StatuspageApi
from bot.statuspage.bundle import StatusPage
from bot.statuspage.components import ComponentsError, load_components
from bot.statuspage.delivery import HttpHooks, SmtpMailer
from bot.statuspage.html import HtmlPages, Stylesheet
from bot.statuspage.maintenance import MaintenanceService
from bot.statuspage.mirror import Mirror
from bot.statuspage.models import PublicStatus
from bot.statuspage.service import StatusPageService
from bot.statuspage.site import SignedIn, StatusSite, Viewer
from bot.statuspage.snapshot import Snapshots
from bot.statuspage.subscribers import SubscriberService
from bot.statuspage.wording import PUBLIC_STATUS
from bot.statuspage.writer import make_public_writer
from bot.store.statuspage import StatusPageStore
from bot.worker import PeriodicJob

log = structlog.get_logger(__name__)
POLL_SECONDS = 1.0
DELIVER_EVERY = 5.0
MAINTENANCE_EVERY = 15.0
MIRROR_EVERY = 10.0
REFRESHER = web.AppKey("status_page_refresher", asyncio.Task)


def page_url(settings: Settings) -> str:
    if settings.status_page_url:
        return str(settings.status_page_url).rstrip("/")
    base = getattr(settings, "web_base_url", None)
    if base:
        return str(base).rstrip("/") + "/status"
    return f"http://localhost:{settings.port}/status"


def signed_in_reader(settings: Settings) -> SignedIn | None:
    """The web app's session (Sign in with Slack, which admits only this workspace), when
    the web app is configured; else None, and the internal page says it needs it."""
    if settings.web_missing():
        return None
    from bot.web.sessions import current_user

    async def read(request: web.Request) -> Viewer | None:
        user = current_user(request)
        return None if user is None else Viewer(user.id, user.csrf)

    return read


def build(ctx: InstallContext) -> StatusPage | None:
    settings = ctx.settings
    if not settings.status_page_components:
        return None
    try:
        components = load_components(settings.status_page_components)
    except ComponentsError as exc:
        raise SettingsError(f"setting STATUS_PAGE_COMPONENTS is invalid: {exc}") from None
    url = page_url(settings)
    pages = StatusPageStore(ctx.store.db)
    snapshots = Snapshots(store=pages, components=components, clock=ctx.clock,
                          title=settings.status_page_title, url=url)
    publishing = StatusPageService(
        pages=pages, store=ctx.store, chat=ctx.chat, clock=ctx.clock, components=components,
        is_admin=ctx.is_admin, snapshots=snapshots, url=url,
        writer=make_public_writer(settings),
    )
    mailer = SmtpMailer(settings.smtp_url, settings.status_page_from) \
        if settings.smtp_url and settings.status_page_from else None
    subscribers = SubscriberService(
        pages=pages, clock=ctx.clock, components=components, snapshots=snapshots,
        hooks=HttpHooks(), mailer=mailer, url=url, title=settings.status_page_title,
    )
    publishing.followers.append(subscribers.notify)
    maintenance = MaintenanceService(pages=pages, clock=ctx.clock, components=components,
                                     publishing=publishing)
    mirror = None
    if settings.statuspage_api_key and settings.statuspage_page_id:
        api = StatuspageApi(api_key=settings.statuspage_api_key,
                            page_id=settings.statuspage_page_id,
                            api_url=str(settings.statuspage_api_url))
        mirror = Mirror(api=api, pages=pages, outbox=ctx.store.integrations,
                        components=components, clock=ctx.clock)
        publishing.followers.append(mirror.follow)
    return StatusPage(publishing, maintenance, subscribers, snapshots, components, url,
                      admins_configured=bool(settings.admin_usergroup), mirror=mirror)


def add_questions(ctx: InstallContext, page: StatusPage) -> None:
    """After a status change, offer to update the public incident; after a resolve, ask
    whether to resolve it (and set its components back to operational)."""
    publishing, chat = page.publishing, ctx.chat

    async def offer_update(outcome: Outcome) -> None:
        incident = outcome.incident
        public = await publishing.open_public(incident)
        wanted = PUBLIC_STATUS[incident.status]
        if public is None or public.status is wanted:
            return
        await chat.post_blocks(incident.channel_id, "Update the status page?",
                               offer_blocks(incident, public, wanted))

    async def ask_resolve(outcome: Outcome) -> None:
        incident = outcome.incident
        public = await publishing.open_public(incident)
        if public is None or public.status is PublicStatus.RESOLVED:
            return
        await chat.post_blocks(incident.channel_id, "Resolve it on the status page?",
                               resolve_blocks(incident, public))

    ctx.flows.after(Change.STATUS, "status page offer", offer_update,
                    warning="could not offer to update the status page")
    ctx.flows.after(Change.RESOLVED, "status page question", ask_resolve,
                    warning="could not ask about the status page")



def web_setup(page: StatusPage) -> list[WebSetup]:
    async def start(app: web.Application) -> None:
        async def poll() -> None:
            while True:
                try:
                    await page.snapshots.refresh()
                except Exception:
                    log.warning("status_snapshot_refresh_failed", exc_info=True)
                await asyncio.sleep(POLL_SECONDS)

        app[REFRESHER] = asyncio.get_running_loop().create_task(poll())
        log.info("status_page", url=page.url, internal=f"{page.url}/internal",
                 json=f"{page.url}/api/v2/summary.json")

    async def stop(app: web.Application) -> None:
        task = app.get(REFRESHER)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def setup(app: web.Application) -> None:
        app.on_startup.append(start)
        app.on_cleanup.append(stop)

    return [setup]


def install(ctx: InstallContext) -> Installed | None:
    page = build(ctx)
    if page is None:
        return None
    add_questions(ctx, page)
    settings = ctx.settings
    public = settings.status_page_public if settings.status_page_public is not None else True
    signed_in = signed_in_reader(settings)
    email = page.subscribers.mailer is not None
    pages = HtmlPages(stylesheet=Stylesheet.load(), email=email and public,
                      webhooks=signed_in is not None)
    page.snapshots.renderers.append(pages)
    site = StatusSite(snapshots=page.snapshots, subscribers=page.subscribers, public=public,
                      signed_in=signed_in, email=email, pages=pages)
    jobs = [
        PeriodicJob("status_deliveries", page.subscribers.deliver_due, every=DELIVER_EVERY),
        PeriodicJob("status_maintenance", page.maintenance.advance_due, every=MAINTENANCE_EVERY),
    ]
    if page.mirror is not None:
        jobs.append(PeriodicJob("statuspage_mirror", page.mirror.run_due, every=MIRROR_EVERY))
    return Installed("statuspage", provides={"statuspage": page}, jobs=jobs,
                     routes=site.routes(), web_setup=web_setup(page))
