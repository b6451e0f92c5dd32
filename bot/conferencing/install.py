"""Call links plug in here: the provider from the settings (Zoom, Google Meet or MEETING_URL;
with Zoom or Meet, MEETING_URL is the stand-in when they fail), the declare and severity
steps, and the worker's retries. Nothing is built when no provider is configured."""

from __future__ import annotations

from bot.clock import Clock
from bot.conferencing.meet import GoogleMeet
from bot.conferencing.port import Conference, FixedBridge
from bot.conferencing.service import CallOutcome, CallService
from bot.conferencing.zoom import ZoomConference
from bot.features import InstallContext, Installed
from bot.incidents.flows import Change, IncidentFlows, Outcome
from bot.integrations.google import CALENDAR_SCOPE, ServiceAccount, ServiceAccountKey
from bot.ports import ChatGateway
from bot.settings import Settings
from bot.store.redis_store import RedisStore
from bot.worker import PeriodicJob

RETRY_EVERY = 30.0
SHOWN = "call shown"


def build_conference(settings: Settings, clock: Clock) -> Conference | None:
    s = settings
    if s.zoom_account_id and s.zoom_client_id and s.zoom_client_secret:
        return ZoomConference(
            account_id=s.zoom_account_id, client_id=s.zoom_client_id,
            client_secret=s.zoom_client_secret, api_url=str(s.zoom_api_url),
            oauth_url=str(s.zoom_oauth_url),
        )
    if s.google_calendar_id and s.google_service_account_file:
        key = ServiceAccountKey.from_file(s.google_service_account_file)
        return GoogleMeet(account=ServiceAccount(key, CALENDAR_SCOPE),
                          calendar_id=s.google_calendar_id, clock=clock,
                          api_url=str(s.google_api_url))
    if s.meeting_url:
        return FixedBridge(str(s.meeting_url))
    return None


def build_calls(
    settings: Settings, *, store: RedisStore, chat: ChatGateway, clock: Clock
) -> CallService | None:
    conference = build_conference(settings, clock)
    if conference is None:
        return None
    fallback = None
    if conference.name != "bridge" and settings.meeting_url:
        fallback = FixedBridge(str(settings.meeting_url))
    return CallService(
        conference=conference, fallback=fallback, store=store, integrations=store.integrations,
        chat=chat, clock=clock, min_severity=settings.call_min_severity,
    )


def _tell(outcome: Outcome, result: CallOutcome) -> None:
    for problem in result.problems:
        outcome.warn(problem)
    if result.url:
        outcome.data["call"] = result.url


def add_call_steps(flows: IncidentFlows, calls: CallService) -> None:
    """Declare: the call is made beside the first Slack calls. A fixed bridge is put on the
    declaring copy before any of them starts (this step runs first in its batch and sets
    it before its first await), so the header and topic carry it with no extra call; a
    Zoom or Meet link arrives later and the next step puts it in the header and topic."""

    async def make_call(outcome: Outcome) -> None:
        incident = outcome.incident
        if not calls.wanted(incident):
            return
        if calls.instant:  # synchronously, before the header and topic steps start
            link = calls.bridge_link()
            incident.set_link(link)
            outcome.data[SHOWN] = True
            outcome.data["call"] = link.url
            await calls.record(incident.id, link, incident.declared_by)
            return
        result = await calls.start(incident, actor=incident.declared_by, show=False)
        _tell(outcome, result)

    async def show_call(outcome: Outcome) -> None:
        if "call" not in outcome.data or outcome.data.get(SHOWN):
            return
        incident = await calls.store.get_incident(outcome.incident.id)
        await calls.show(incident)

    async def call_on_raise(outcome: Outcome) -> None:
        before = outcome.before
        if before is None or int(before.severity) <= calls.min_severity:
            return
        if calls.wanted(outcome.incident):
            _tell(outcome, await calls.start(outcome.incident, actor=outcome.actor))

    flows.after(Change.DECLARED, "call link", make_call, before="invite", concurrent=True,
                warning="could not make the call link")
    flows.after(Change.DECLARED, "call link in channel", show_call,
                warning="could not put the call link in the header and topic")
    flows.after(Change.SEVERITY, "call on raise", call_on_raise,
                warning="could not make the call link")


def worker_jobs(calls: CallService | None) -> list[PeriodicJob]:
    if calls is None:
        return []
    return [PeriodicJob(name="call_retries", run=calls.retry_due, every=RETRY_EVERY)]


def install(ctx: InstallContext) -> Installed | None:
    """Calls, when a provider is configured: the declare and severity steps, the worker's
    retries, and `services.calls` for `/incident call`."""
    calls = build_calls(ctx.settings, store=ctx.store, chat=ctx.chat, clock=ctx.clock)
    if calls is None:
        return None
    add_call_steps(ctx.flows, calls)
    return Installed("calls", provides={"calls": calls}, jobs=worker_jobs(calls))
