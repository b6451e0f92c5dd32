"""The worker's watch over incidents: update cadence and the nudges that keep them moving.

Each scan reads the open incidents and the recently declared ones and sends what is due:

* update due → the Comms lead (or the IC) gets a DM with a *Post update* button;
  ``UPDATE_OVERDUE_AFTER`` (15m) later the incident channel is told, once;
* no timeline activity for ``STALE_AFTER`` → the IC is asked *Resolve* / *Still active*;
* a resolved SEV1/SEV2 with no postmortem ``POSTMORTEM_DUE`` business days (in the IC's time
  zone) after resolving → the IC, and a business day later the channel, with *Draft
  postmortem*;
* resolved but not closed for ``CLOSE_AFTER`` → the IC, with *Close incident*.

Exactly once per condition: every message has a name that identifies its condition (the
due slot's time, the last activity's time, the resolve time) and goes out through
``store.leases.run_once``: a lease so that two workers scanning at once send it once, a done
marker set only after Slack accepted it so a restart never repeats it and a failure is
retried at the next scan. A resolved incident is never due (``next_update_due``), so resolve
stops the cadence.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from bot.clock import Clock
from bot.errors import ChatError, NotFound
from bot.incidents.models import Incident, Role, Severity, Status, format_duration
from bot.mrkdwn import escape, mention, when
from bot.ports import ChatUser
from bot.store.redis_store import RedisStore
from bot.updates.models import CadenceSettings, NudgeSettings, next_update_due
from bot.workweek import add_business_days

log = structlog.get_logger(__name__)

Blocks = list[dict[str, object]]
Render = Callable[[Incident, str], Blocks]
CLAIM_TTL = timedelta(minutes=2)
KEEP_SENT = timedelta(days=90)
SCAN_LIMIT = 500


class WatchChat(Protocol):
    async def post(self, channel_id: str, text: str) -> str: ...

    async def post_blocks(self, channel_id: str, text: str, blocks: Blocks) -> str: ...

    async def user(self, user_id: str) -> ChatUser: ...


@dataclass(frozen=True)
class WatchRender:
    """Block Kit for each message with a fix button (bot/slack/update_blocks.py)."""

    cadence_prompt: Render
    stale: Render
    postmortem: Render
    close: Render


@dataclass
class WatchResult:
    sent: list[str] = field(default_factory=list)  # names of the messages this scan sent
    failed: list[str] = field(default_factory=list)  # Slack refused; tried again next scan



class IncidentWatch:
    def __init__(
        self,
        *,
        store: RedisStore,
        chat: WatchChat,
        clock: Clock,
        cadence: CadenceSettings,
        nudges: NudgeSettings,
        render: WatchRender,
        claim_ttl: timedelta = CLAIM_TTL,
    ) -> None:
        self.store = store
        self.chat = chat
        self.clock = clock
        self.cadence = cadence
        self.nudges = nudges
        self.render = render
        self.claim_ttl = claim_ttl

    async def scan(self) -> WatchResult:
        now = self.clock()
        result = WatchResult()
        tz_cache: dict[str, str] = {}
        open_ids = await self.store.list_incident_ids(open_only=True, limit=SCAN_LIMIT)
        for incident in await self.store.incidents(open_ids):
            await self._cadence(incident, now, result)
            await self._stale(incident, now, result)
        recent = await self.store.incident_ids_declared((now - self.nudges.lookback).timestamp())
        for incident in await self.store.incidents(recent):
            if incident.status is Status.RESOLVED and incident.resolved_at is not None:
                await self._postmortem(incident, now, result, tz_cache)
                await self._close(incident, now, result)
        return result

    async def _once(
        self, name: str, send: Callable[[], Awaitable[object]], result: WatchResult
    ) -> None:
        try:
            ran, _ = await self.store.leases.run_once(
                name, send, ttl=self.claim_ttl, keep=KEEP_SENT
            )
        except ChatError as exc:
            log.warning("watch_send_failed", message=name, error=exc.code)
            result.failed.append(name)
            return
        if ran:
            log.debug("watch_sent", message=name)
            result.sent.append(name)

    # --- update cadence ------------------------------------------------------------------

    async def _cadence(self, incident: Incident, now: datetime, result: WatchResult) -> None:
        due = next_update_due(incident, self.cadence)
        if due is None or now < due:
            return
        slot = int(due.timestamp())
        who = incident.roles.get(Role.COMMS) or incident.roles.get(Role.IC)
        title = f"*{incident.id}* {escape(incident.title)} ({incident.severity.label})"
        if who:
            role = "Comms lead" if incident.roles.get(Role.COMMS) == who else "IC"
            text = (
                f":memo: A status update for {title} is due {when(due)} — you are its {role}. "
                f"Post one with the button, or `/incident update <what changed>` in "
                f"<#{incident.channel_id}>."
            )
            blocks = self.render.cadence_prompt(incident, text)
            target = who

            async def prompt() -> None:
                await self.chat.post_blocks(target, text, blocks)

            await self._once(f"update-due:{incident.id}:{slot}", prompt, result)
        if now < due + self.cadence.overdue_after:
            return
        late = format_duration(now - due)
        line = (
            f":hourglass_flowing_sand: The status update for {incident.id} was due {when(due)} "
            f"and is {late} late. {mention(who) if who else 'Whoever leads this'}, please post "
            "one: `/incident update <what changed>`."
        )

        async def overdue() -> None:
            await self.chat.post(incident.channel_id, line)

        await self._once(f"update-overdue:{incident.id}:{slot}", overdue, result)

    # --- nudges ----------------------------------------------------------------------------

    async def _stale(self, incident: Incident, now: datetime, result: WatchResult) -> None:
        if self.nudges.stale_after is None:
            return
        last = await self.store.updates.last_activity(incident.id) or incident.declared_at
        ic = incident.roles.get(Role.IC)
        if ic is None or now - last < self.nudges.stale_after:
            return
        text = (
            f":zzz: *{incident.id}* {escape(incident.title)} has had nothing on its timeline "
            f"since {when(last)} ({format_duration(now - last)}). Is it still active? "
            f"Resolve it, or tell me it is still going (<#{incident.channel_id}>)."
        )

        async def ask() -> None:
            await self.chat.post_blocks(ic, text, self.render.stale(incident, text))

        await self._once(f"stale:{incident.id}:{int(last.timestamp())}", ask, result)

    async def _tz(self, user_id: str, cache: dict[str, str]) -> str:
        if user_id not in cache:
            try:
                cache[user_id] = (await self.chat.user(user_id)).tz
            except (NotFound, ChatError):
                cache[user_id] = "UTC"
        return cache[user_id]

    async def _postmortem(
        self, incident: Incident, now: datetime, result: WatchResult, tz_cache: dict[str, str]
    ) -> None:
        assert incident.resolved_at is not None
        ic = incident.roles.get(Role.IC)
        if incident.severity > Severity.SEV2 or ic is None:
            return
        days = self.nudges.postmortem_due_business_days
        tz = await self._tz(ic, tz_cache)
        due = add_business_days(incident.resolved_at, days, tz, self.nudges.work_days)
        if now < due or await self.store.postmortems.latest(incident.id) is not None:
            return
        resolved = int(incident.resolved_at.timestamp())
        text = (
            f":memo: *{incident.id}* {escape(incident.title)} ({incident.severity.label}) was "
            f"resolved {when(incident.resolved_at)} and has no postmortem yet (due "
            f"{days} business days after resolving). Draft it now from the record?"
        )

        async def tell_ic() -> None:
            await self.chat.post_blocks(ic, text, self.render.postmortem(incident, text))

        await self._once(f"postmortem-due:{incident.id}:{resolved}:ic", tell_ic, result)
        if now < add_business_days(incident.resolved_at, days + 1, tz, self.nudges.work_days):
            return
        channel_text = (
            f":memo: The postmortem of {incident.id} is a business day overdue. "
            f"{mention(ic)} (IC), or anyone here: draft it with the button or "
            "`/incident postmortem`."
        )

        async def tell_channel() -> None:
            await self.chat.post_blocks(
                incident.channel_id, channel_text, self.render.postmortem(incident, channel_text)
            )

        await self._once(f"postmortem-due:{incident.id}:{resolved}:channel", tell_channel, result)

    async def _close(self, incident: Incident, now: datetime, result: WatchResult) -> None:
        assert incident.resolved_at is not None
        ic = incident.roles.get(Role.IC)
        after = self.nudges.close_after
        if after is None or ic is None or now - incident.resolved_at < after:
            return
        text = (
            f":lock: *{incident.id}* {escape(incident.title)} was resolved "
            f"{when(incident.resolved_at)} ({format_duration(now - incident.resolved_at)} ago) "
            "and is still not closed. Close it once the postmortem is done."
        )

        async def ask() -> None:
            await self.chat.post_blocks(ic, text, self.render.close(incident, text))

        resolved = int(incident.resolved_at.timestamp())
        await self._once(f"close-due:{incident.id}:{resolved}", ask, result)
