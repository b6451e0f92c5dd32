"""Follower DMs through a Redis outbox, drained by the workers.

The process that takes an update (or a resolve, or a reopen) only queues the DMs
(`FollowerOutbox.queue`): the texts and the followers to reach, in Redis, before anything is
posted. The workers drain the queue (`FanOutDrain`, polled every POLL_SECONDS): a job is
taken under a lease (bot/store/leases.py) so one worker sends it while it lives, and each
follower is claimed before the DM and marked delivered after Slack took it
(bot/store/fanout.py). So a web process that dies after the update loses no follower, a
worker that dies mid-job leaves the rest to the next one (after the lease expires), and two
workers never DM anyone twice.

Slack's rate limits: a few senders at a time, and all of them wait while Slack has asked the
bot to slow down (a 429's Retry-After, see SlackGateway.pace); those Slack refused are tried
again after a pause, and the job comes back later (RETRY_LATER) while some remain. A refusal
that cannot change (no such user, the app uninstalled …) is not retried. When some
followers could not be reached in the end, the author is told by DM.

One window remains, as for reminders: a worker killed after Slack took a DM and before the
delivered mark may DM that one follower twice (Slack's chat.postMessage has no idempotency
key; the alternative, marking first, would lose that follower instead)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from pydantic import BaseModel, ValidationError

from bot.clock import Clock
from bot.errors import ChatError, IncidentBotError, NotFound
from bot.incidents.access import IncidentAccess
from bot.incidents.models import Incident
from bot.mrkdwn import mention
from bot.store.fanout import Claim, split
from bot.store.leases import Lease
from bot.store.redis_store import RedisStore
from bot.updates.ports import FanOutChat

log = structlog.get_logger(__name__)

POLL_SECONDS = 0.5  # how often each worker looks for queued fan-outs
FANOUT_CONCURRENCY = 8
FANOUT_ROUNDS = 4
FANOUT_PAUSE_SECONDS = 2.0
RETRY_LATER = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15))
JOB_LEASE = timedelta(seconds=30)  # extended while the job runs
DM_CLAIM = timedelta(minutes=2)  # a sender killed mid-send holds its follower this long
STALE_ENTRY = timedelta(minutes=1)
# Slack's answers that a retry cannot change
PERMANENT = frozenset({
    "user_not_found", "cannot_dm_bot", "user_disabled", "channel_not_found", "is_archived",
    "restricted_action", "not_allowed_token_type", "missing_scope", "invalid_auth",
    "not_authed", "token_revoked", "account_inactive", "app_uninstalled", "msg_too_long",
    "no_text", "invalid_blocks",
})


class FanOut(BaseModel):
    """One queued fan-out: fixed when it was queued, so the worker needs nothing else."""

    incident_id: str
    what: str  # the update's number, "resolved:<epoch>", "reopened:<n>"
    about: str  # for the author: "update #2 of INC-…"
    text: str
    public_text: str  # for followers outside a private incident's channel
    recipients: list[str]
    author: str | None = None
    queued_at: datetime
    attempt: int = 0
    refused: dict[str, str] = {}  # followers Slack refused for good -> its error code


class FollowerOutbox:
    """The taking side: queue the DMs of an update, a resolve or a reopen."""

    def __init__(self, *, store: RedisStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def queue(
        self,
        incident: Incident,
        what: str,
        text: str,
        *,
        about: str,
        public_text: str,
        exclude: set[str] | None = None,
        author: str | None = None,
    ) -> int:
        """How many followers will get `text` (or `public_text`) by DM."""
        recipients = sorted(await self.store.updates.subscribers(incident.id) - (exclude or set()))
        if not recipients:
            return 0
        now = self.clock()
        job = FanOut(
            incident_id=incident.id, what=what, about=about, text=text, public_text=public_text,
            recipients=recipients, author=author, queued_at=now,
        )
        if not await self.store.fanout.enqueue(incident.id, what, job.model_dump_json(), now):
            log.info("fanout_already_queued", incident_id=incident.id, what=what)
        return len(recipients)


@dataclass
class Drained:
    """What one run of a job did."""

    incident_id: str
    what: str
    sent: list[str] = field(default_factory=list)
    already: int = 0  # delivered before (a retried job)
    failed: dict[str, str] = field(default_factory=dict)  # follower -> Slack's error code
    held: list[str] = field(default_factory=list)  # claimed by another sender
    retry_at: datetime | None = None  # the job comes back then


class FanOutDrain:
    """The worker's side: run the due jobs, each once across the workers."""

    def __init__(
        self,
        *,
        store: RedisStore,
        chat: FanOutChat,
        clock: Clock,
        access: IncidentAccess | None = None,
    ) -> None:
        self.store = store
        self.chat = chat
        self.clock = clock
        # who reads a private incident's words (the one rule; without admins unless given)
        self.access = access or IncidentAccess(members=chat)
        self.holder = uuid.uuid4().hex[:8]
        self._running: dict[str, asyncio.Task[Drained | None]] = {}

    async def start_due(self) -> int:
        """The worker's poll: start every due job this worker can take (in the background,
        so the poll returns at once); returns how many it started."""
        started = 0
        for entry, due, lease in await self._take_due():
            task = asyncio.create_task(self._run(entry, due, lease), name=f"fanout {entry}")
            self._running[entry] = task
            task.add_done_callback(self._finished)
            started += 1
        return started

    def _finished(self, task: asyncio.Task[Drained | None]) -> None:
        self._running = {e: t for e, t in self._running.items() if t is not task}

    async def drain(self) -> list[Drained]:
        """Run every due job to its end, here (the demo and the tests, as a worker would)."""
        done: list[Drained] = []
        for entry, due, lease in await self._take_due():
            result = await self._run(entry, due, lease)
            if result is not None:
                done.append(result)
        return done

    async def wait_idle(self) -> None:
        """Let the jobs `start_due` started finish (stopping a worker, tests)."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def _take_due(self) -> list[tuple[str, float, Lease]]:
        taken: list[tuple[str, float, Lease]] = []
        for entry, due in await self.store.fanout.due(self.clock()):
            if entry in self._running:
                continue
            lease = await self.store.leases.acquire(
                f"fanout:{entry}", JOB_LEASE, token=f"{self.holder}:{uuid.uuid4().hex}"
            )
            if lease is not None:
                taken.append((entry, due, lease))
        return taken

    async def _run(self, entry: str, due: float, lease: Lease) -> Drained | None:
        keeper = asyncio.create_task(self._keep(lease))
        try:
            return await self._send(entry, due)
        except IncidentBotError as exc:  # Redis down: the lease expires, a worker retries
            log.warning("fanout_interrupted", job=entry, reason=exc.message)
            return None
        except Exception as exc:  # a bug: logged; the job stays queued for the next poll
            log.error("fanout_failed", job=entry, error=repr(exc), exc_info=exc)
            return None
        finally:
            keeper.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await keeper
            with contextlib.suppress(Exception):
                await self.store.leases.release(lease)

    async def _keep(self, lease: Lease) -> None:
        while True:
            await asyncio.sleep(JOB_LEASE.total_seconds() / 3)
            with contextlib.suppress(IncidentBotError):
                if not await self.store.leases.extend(lease, JOB_LEASE):
                    log.warning("fanout_lease_lost", key=lease.key)
                    return

    async def _send(self, entry: str, due: float) -> Drained | None:
        incident_id, what = split(entry)
        raw = await self.store.fanout.document(incident_id, what)
        if raw is None:  # queued a moment ago (the job is written next), or a crash between
            if self.clock().timestamp() - due > STALE_ENTRY.total_seconds():
                await self.store.fanout.drop(entry)
                log.warning("fanout_entry_without_job_dropped", job=entry)
            return None
        try:
            job = FanOut.model_validate_json(raw)
        except ValidationError:
            log.error("fanout_unreadable", job=entry)
            await self.store.fanout.finish(incident_id, what)
            return None
        result = Drained(incident_id, what)
        try:
            incident = await self.store.get_incident(incident_id)
        except NotFound:
            await self.store.fanout.finish(incident_id, what)
            return result
        pending = await self.store.fanout.undelivered(incident_id, what, job.recipients)
        result.already = len(job.recipients) - len(pending)
        pending = [u for u in pending if u not in job.refused]
        readers = await self.access.readable_by(incident, pending)
        gate = asyncio.Semaphore(FANOUT_CONCURRENCY)
        for round_ in range(FANOUT_ROUNDS):
            if round_:
                await asyncio.sleep(FANOUT_PAUSE_SECONDS)
            outcomes = await asyncio.gather(
                *(self._one(job, user, user in readers, gate, result) for user in pending)
            )
            pending = [user for user, retry in zip(pending, outcomes, strict=True) if retry]
            if not pending:
                break
        await self._settle(job, pending, result)
        return result

    async def _one(
        self, job: FanOut, user: str, reads: bool, gate: asyncio.Semaphore, result: Drained
    ) -> bool:
        """DM one follower at most once; True when it should be tried again."""
        async with gate:
            token = f"{self.holder}:{uuid.uuid4().hex}"
            claim = await self.store.fanout.claim(job.incident_id, job.what, user, token, DM_CLAIM)
            if claim is Claim.DELIVERED:
                result.already += 1
                return False
            if claim is Claim.HELD:
                return True
            says = job.text if reads else job.public_text  # the others get the label
            try:
                await self.chat.pace()  # after a 429 every sender waits, not just one
                # chat.postMessage to a user id posts in the app's DM with them
                await self.chat.post(user, says)
            except ChatError as exc:
                await self.store.fanout.release(job.incident_id, job.what, user, token)
                log.warning("follower_dm_failed", user=user, error=exc.code)
                result.failed[user] = exc.code
                return exc.code not in PERMANENT
            except Exception as exc:  # Slack unreachable after the client's own retries
                await self.store.fanout.release(job.incident_id, job.what, user, token)
                log.warning("follower_dm_failed", user=user, error=repr(exc))
                result.failed[user] = "unreachable"
                return True
            await self.store.fanout.delivered(job.incident_id, job.what, user)
            result.failed.pop(user, None)
            result.sent.append(user)
            return False

    async def _settle(self, job: FanOut, pending: list[str], result: Drained) -> None:
        """Done, or back in the queue for the followers still to reach: those Slack
        refused for now (with a growing pause, a few times) and those another sender holds
        (when its claim has expired)."""
        result.held = [u for u in pending if u not in result.failed]
        refused = [u for u in pending if u in result.failed]
        job.refused.update({u: c for u, c in result.failed.items() if c in PERMANENT})
        again = bool(refused) and job.attempt < len(RETRY_LATER)
        if result.held or again:
            result.retry_at = self.clock() + (RETRY_LATER[job.attempt] if again else DM_CLAIM)
            job.attempt += 1 if again else 0
            await self.store.fanout.reschedule(
                job.incident_id, job.what, job.model_dump_json(), result.retry_at
            )
            log.info("fanout_later", incident_id=job.incident_id, what=job.what,
                     pending=len(pending), at=result.retry_at.isoformat())
            return
        await self.store.fanout.finish(job.incident_id, job.what)
        log.info("fanout_done", incident_id=job.incident_id, what=job.what,
                 sent=len(result.sent), already=result.already, failed=len(result.failed))
        failed = {**job.refused, **result.failed}
        if failed and job.author:
            await self._tell_author(job, failed)

    async def _tell_author(self, job: FanOut, failed: dict[str, str]) -> None:
        who = ", ".join(mention(u) for u in sorted(failed)[:20])
        more = f" and {len(failed) - 20} more" if len(failed) > 20 else ""
        codes = ", ".join(sorted(set(failed.values())))
        try:
            await self.chat.direct_message(
                job.author or "",
                f":warning: I could not DM {len(failed)} follower(s) about {job.about}: "
                f"{who}{more} (Slack said `{codes}`).",
            )
        except ChatError as exc:
            log.warning("fanout_author_not_told", error=exc.code)
