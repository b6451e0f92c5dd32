"""The metric checks an incident's lifecycle runs, beyond `/metrics`:

- verify before resolve: are the incident's services still HIGH or CRITICAL?
- impact start: when did they first cross HIGH (before the declaration)?
- relapse watch: after resolve, does one cross HIGH again? (the worker re-checks; a
  relapse is posted once per resolve, claimed atomically in Redis)

Only the incident's services that Prometheus knows are checked; an incident naming none
of them is not judged by metrics at all (nothing is blocked or posted on a guess).
No Slack here: the message blocks come from a renderer the composition root passes in.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from bot.clock import Clock
from bot.errors import ChatError, IncidentBotError
from bot.incidents.models import Incident, Status
from bot.metrics.budget import budget_text
from bot.metrics.errors import MetricsUnavailable
from bot.metrics.models import CheckReport, Verdict
from bot.metrics.service import MetricsService
from bot.mrkdwn import escape, when
from bot.ports import ChatGateway
from bot.store import keys
from bot.store.redis_store import RedisStore
from bot.timeline.models import EventKind, TimelineEvent
from bot.timeline.service import TimelineService

log = structlog.get_logger(__name__)

Blocks = list[dict[str, object]]
OFFER_KEEP_SECONDS = 30 * 24 * 3600
RELAPSE_CHECK_SECONDS = 120.0  # how often the worker re-checks incidents under watch
RelapseRender = Callable[[str, str], Blocks]  # (text, incident id) -> blocks with Reopen


@dataclass(frozen=True)
class StillBad:
    services: list[str]
    findings: list[str]  # "<service> 5xx at 7.00/s [CRITICAL]", …
    report: CheckReport


async def incident_services(metrics: MetricsService, incident: Incident) -> list[str]:
    """The incident's services that Prometheus knows (case-insensitive; a name on several
    servers stands for each of them)."""
    known = await metrics.known_services()
    lowered = {k.lower(): k for k in known}
    found: list[str] = []
    for s in incident.services:
        if s.lower() in lowered:
            found.append(lowered[s.lower()])
        else:  # a name on several servers is known as name@server on each
            found += [k for k in known if "@" in k and k.lower().split("@", 1)[0] == s.lower()]
    return list(dict.fromkeys(found))


async def still_bad(
    metrics: MetricsService, incident: Incident, at: datetime | None = None
) -> StillBad | None:
    """The readings still at HIGH or worse for the incident's services (and the database
    pools no service owns), or None when none are, or nothing can be checked."""
    try:
        services = await incident_services(metrics, incident)
    except MetricsUnavailable as exc:
        log.warning("metrics_unavailable_for_incident", incident=incident.id, reason=exc.message)
        return None
    if not services:
        return None
    report = await metrics.check(at=at, services=services, first=services)
    findings = report.findings(Verdict.HIGH)
    if not findings:
        return None
    return StillBad(services=services, findings=findings, report=report)


async def impact_start(
    metrics: MetricsService, incident: Incident, at: datetime | None = None
) -> tuple[datetime, str] | None:
    """When the incident's services first crossed HIGH in the run that is still going on
    (the earliest service's), if that was before the declaration and before any impact
    start already recorded."""
    try:
        services = await incident_services(metrics, incident)
    except MetricsUnavailable:
        return None
    if not services:
        return None
    crossed = await metrics.first_crossings(services, at)
    if not crossed:
        return None
    service, when = min(crossed.items(), key=lambda kv: kv[1])
    latest_known = incident.impact_started_at or incident.declared_at
    if when >= latest_known:
        return None
    return when, service


ImpactRender = Callable[[str, str], Blocks]  # (text, button value) -> blocks


@dataclass(frozen=True)
class ImpactOffer:
    """The offer to record the metrics' impact start, claimed (offered once) but not posted."""

    start: datetime
    service: str
    text: str
    value: str  # the button's value
    claim: str  # the Redis key that says it was offered

    async def withdraw(self, store: RedisStore) -> None:
        """It could not be posted: it may be offered again."""
        await store.forget(self.claim)


async def impact_offer(
    metrics: MetricsService, incident: Incident, store: RedisStore, at: datetime | None = None
) -> ImpactOffer | None:
    """The offer to record the metrics' impact start, when it is earlier than what the
    incident has and was not offered before (claimed here: post it, or withdraw it)."""
    found = await impact_start(metrics, incident, at)
    if found is None:
        return None
    start, service = found
    offered = keys.impact_offer(incident.id, start.isoformat())
    if not await store.first_time(offered, OFFER_KEEP_SECONDS):
        return None
    before = incident.impact_started_at or incident.declared_at
    minutes = max(1, round((before - start).total_seconds() / 60))
    which = "the recorded impact start" if incident.impact_started_at else "the declaration"
    text = (
        f":chart_with_upwards_trend: {service} first crossed HIGH at {when(start)}, "
        f"{minutes} min before {which}. Record that as when the impact started? "
        "Time to detect counts from it."
    )
    value = json.dumps({"incident": incident.id, "at": start.isoformat(), "service": service})
    return ImpactOffer(start=start, service=service, text=text, value=value, claim=offered)


async def offer_impact_start(
    metrics: MetricsService,
    chat: ChatGateway,
    incident: Incident,
    render: ImpactRender,
    store: RedisStore,
    at: datetime | None = None,
) -> datetime | None:
    """Post the offer (`impact_offer`) in the incident's channel; returns the time offered."""
    offer = await impact_offer(metrics, incident, store, at)
    if offer is None:
        return None
    try:
        await chat.post_blocks(incident.channel_id, offer.text, render(offer.text, offer.value))
    except ChatError:
        await offer.withdraw(store)
        raise
    return offer.start


def relapse_text(incident: Incident, bad: StillBad, now: datetime) -> str:
    minutes = 0
    if incident.resolved_at is not None:
        minutes = max(0, round((now - incident.resolved_at).total_seconds() / 60))
    shown = "; ".join(bad.findings[:4])
    more = f" (and {len(bad.findings) - 4} more)" if len(bad.findings) > 4 else ""
    return (
        f":rotating_light: Relapse on {incident.id} ({escape(incident.title)}): {shown}{more} — "
        f"back {minutes} min after it was resolved."
    )


def public_relapse_text(incident: Incident, bad: StillBad, now: datetime) -> str:
    """The relapse where everyone reads (INCIDENTS_CHANNEL): a private incident is its label
    there, without its title or what its metrics say."""
    if not incident.private:
        return relapse_text(incident, bad, now)
    minutes = 0
    if incident.resolved_at is not None:
        minutes = max(0, round((now - incident.resolved_at).total_seconds() / 60))
    return (
        f":rotating_light: Relapse on :lock: {incident.public_label}: its metrics are bad "
        f"again, {minutes} min after it was resolved."
    )


class RelapseWatcher:
    """The worker's job: re-check resolved incidents under watch; post a relapse once."""

    def __init__(
        self,
        *,
        metrics: MetricsService,
        store: RedisStore,
        chat: ChatGateway,
        clock: Callable[[], datetime],
        incidents_channel: str,
        render: RelapseRender,
    ) -> None:
        self.metrics = metrics
        self.store = store
        self.chat = chat
        self.clock = clock
        self.incidents_channel = incidents_channel
        self.render = render

    async def scan(self) -> list[str]:
        """Check every watched incident once; the ids whose relapse this call posted."""
        now = self.clock()
        posted: list[str] = []
        for incident_id in await self.store.relapse.watched(now):
            try:
                if await self._check(incident_id, now):
                    posted.append(incident_id)
            except IncidentBotError as exc:  # one incident's trouble never stops the rest
                log.warning("relapse_check_failed", incident=incident_id, reason=exc.message)
        return posted

    async def _check(self, incident_id: str, now: datetime) -> bool:
        incident = await self.store.get_incident(incident_id)
        if incident.status is not Status.RESOLVED or incident.resolved_at is None:
            await self.store.relapse.unwatch(incident_id)
            return False
        bad = await still_bad(self.metrics, incident, now)
        if bad is None:
            return False
        if not await self.store.relapse.claim_post(incident.id, incident.resolved_at):
            return False  # another worker (or an earlier run) posted it
        text = relapse_text(incident, bad, now)
        blocks = self.render(text, incident.id)
        try:
            await self.chat.post_blocks(incident.channel_id, text, blocks)
        except ChatError:
            await self.store.relapse.release_post(incident.id, incident.resolved_at)
            raise
        public = public_relapse_text(incident, bad, now)
        try:
            await self.chat.broadcast(
                self.incidents_channel, public, self.render(public, incident.id)
            )
        except ChatError as exc:  # the channel has it; the claim stays (never twice there)
            log.warning("relapse_broadcast_failed", incident=incident.id, reason=exc.message)
        await self.store.relapse.unwatch(incident.id)
        log.info("relapse_posted", incident=incident.id, findings=len(bad.findings))
        return True


async def record_budget_consumed(
    metrics: MetricsService, timeline: TimelineService, clock: Clock, incident: Incident
) -> str | None:
    """On resolve: the error budget the incident consumed, per service with an SLO, kept
    on its timeline (the postmortem's Impact section states it); None when no service has
    an SLO or Prometheus cannot say."""
    try:
        services = await incident_services(metrics, incident)
        if not services:
            return None
        start = incident.impact_started_at or incident.declared_at
        uses = await metrics.budget_consumed(services, start, incident.resolved_at or clock())
    except MetricsUnavailable as exc:
        log.warning("budget_unavailable", incident=incident.id, reason=exc.message)
        return None
    if not uses:
        return None
    text = budget_text(uses)
    data = {"error_budget": text.removeprefix("Error budget consumed: ")}
    data |= {f"budget_consumed_percent.{u.service}": f"{100 * u.consumed:.2f}" for u in uses}
    event = TimelineEvent(kind=EventKind.METRICS, at=clock(), text=text, data=data)
    await timeline.record(incident.id, event)
    return text


def watch_until(incident: Incident, watch: timedelta) -> datetime | None:
    return None if incident.resolved_at is None else incident.resolved_at + watch
