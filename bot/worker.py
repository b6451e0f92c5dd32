"""The worker process: APScheduler runs the reminder scan every REMINDER_SCAN_INTERVAL
seconds and the weekly action-item digest. Several workers may run at once: each scan
interval is run by one of them (a lease, bot/store/leases.py), every reminder is claimed
in Redis first (see bot/actions/reminders.py), and the digest is sent once per week. Its side server
(WORKER_PORT) answers /healthz (Redis, Slack token, scheduler) and /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import structlog
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.actions.models import ActionSettings, ReminderKind
from bot.actions.reminders import ReminderScanner, ScanResult
from bot.clock import Clock, system_clock
from bot.errors import IncidentBotError
from bot.observability import METRICS_PATH, WorkerMetrics, metrics_response
from bot.side_server import Readiness, health_routes, start_side_server
from bot.store.leases import Leases

log = structlog.get_logger(__name__)

SCAN_JOB = "reminder_scan"
DIGEST_JOB = "action_digest"


@dataclass(frozen=True)
class PeriodicJob:
    """A feature's own job in the worker (integration retries, tracker sync…), run every
    `every` seconds. With `once_across_workers` each interval runs on one worker only (a
    lease, bot/store/leases.py); otherwise on every worker, so the job must claim its own
    units of work (`Leases.acquire` / `run_once`)."""

    name: str
    run: Callable[[], Awaitable[object]]
    every: float
    once_across_workers: bool = False


async def periodic_job(
    job: PeriodicJob, metrics: WorkerMetrics, leases: Leases | None = None
) -> None:
    """One run; a failure is logged and counted and never stops the scheduler."""
    metrics.jobs.labels(name=job.name).inc()
    try:
        if (
            job.once_across_workers
            and leases is not None
            and await leases.acquire(f"job:{job.name}", scan_lease_ttl(job.every)) is None
        ):
            return  # another worker runs this interval
        await job.run()
    except Exception as exc:
        metrics.job_failures.labels(name=job.name).inc()
        log.warning("job_failed", job=job.name, error=repr(exc))


def slot_kind(slot: str) -> str:
    """`g3:overdue:2` -> `overdue` (slots are named in bot/actions/schedule.py)."""
    parts = slot.split(":")
    return parts[1] if len(parts) > 1 else "unknown"


def count_scan(metrics: WorkerMetrics, result: ScanResult) -> None:
    for _, slot in result.sent:
        kind = slot_kind(slot)
        metrics.reminders_sent.labels(kind=kind).inc()
        if kind == ReminderKind.ESCALATION.value:
            metrics.escalations.inc()
    for failed in result.failed_kinds:
        metrics.failures.labels(kind=failed.value).inc()


async def refresh_backlog(scanner: ReminderScanner, metrics: WorkerMetrics) -> None:
    now = scanner.clock()
    due, oldest = await scanner.items.due_backlog(now)
    metrics.backlog(due, (now - oldest).total_seconds() if oldest else 0.0)


def scan_lease_ttl(scan_interval: float) -> timedelta:
    """How long one worker's scan run excludes the others: most of an interval, so each
    interval is scanned once whichever worker ticks first, and a worker killed mid-scan
    delays the next scan by less than one interval."""
    return timedelta(seconds=max(0.5, scan_interval * 0.8))


async def scan_job(
    scanner: ReminderScanner,
    metrics: WorkerMetrics | None = None,
    lease_ttl: timedelta | None = None,
) -> None:
    """One scan; errors are logged and counted, never kill the scheduler (the next scan
    retries). With `lease_ttl`, the run takes the scan lease first and is skipped when
    another worker has it (bot/store/leases.py): one scan per interval, not one per worker.
    The lease is not released: it expires, covering the rest of the interval."""
    metrics = metrics or WorkerMetrics()
    if lease_ttl is not None:
        try:
            lease = await scanner.items.leases.acquire(f"job:{SCAN_JOB}", lease_ttl)
        except IncidentBotError as exc:
            metrics.job_failures.labels(name=SCAN_JOB).inc()
            log.warning("reminder_scan_failed", reason=exc.message)
            return
        if lease is None:
            log.debug("reminder_scan_by_another_worker")
            return
    metrics.jobs.labels(name=SCAN_JOB).inc()
    started = time.perf_counter()
    try:
        result = await scanner.scan()
    except IncidentBotError as exc:
        metrics.job_failures.labels(name=SCAN_JOB).inc()
        log.warning("reminder_scan_failed", reason=exc.message)
        return
    finally:
        metrics.scan_duration.observe(time.perf_counter() - started)
    metrics.last_success.set(time.time())
    count_scan(metrics, result)
    if result.sent or result.failed:
        log.info(
            "reminder_scan",
            sent=len(result.sent),
            deferred=len(result.deferred),
            failed=len(result.failed),
            skipped=result.skipped,
        )
    with contextlib.suppress(IncidentBotError):
        await refresh_backlog(scanner, metrics)


async def digest_job(scanner: ReminderScanner, metrics: WorkerMetrics | None = None) -> None:
    metrics = metrics or WorkerMetrics()
    metrics.jobs.labels(name=DIGEST_JOB).inc()
    try:
        await scanner.digest()
    except IncidentBotError as exc:
        metrics.job_failures.labels(name=DIGEST_JOB).inc()
        log.warning("digest_failed", reason=exc.message)


def build_scheduler(
    scanner: ReminderScanner,
    *,
    scan_interval: float,
    settings: ActionSettings | None = None,
    clock: Clock = system_clock,
    metrics: WorkerMetrics | None = None,
    jobs: Sequence[PeriodicJob] = (),
) -> AsyncIOScheduler:
    """The scheduler; not started. The scan itself reads time from the scanner's clock,
    so tests call `scanner.scan()` directly with a ManualClock and move time."""
    cfg = settings or ActionSettings()
    metrics = metrics or WorkerMetrics()
    # APScheduler says "Running job …" at INFO for every run (the follower outbox is polled
    # twice a second); failures are logged by the jobs themselves (job_failed …)
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        scan_job,
        IntervalTrigger(seconds=scan_interval, timezone="UTC"),
        args=[scanner, metrics, scan_lease_ttl(scan_interval)],
        id=SCAN_JOB,
        max_instances=1,
        coalesce=True,
        next_run_time=clock(),
    )
    scheduler.add_job(
        digest_job,
        CronTrigger(
            day_of_week=cfg.digest_day,
            hour=cfg.digest_time.hour,
            minute=cfg.digest_time.minute,
            timezone="UTC",
        ),
        args=[scanner, metrics],
        id=DIGEST_JOB,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=3600,
    )
    for job in jobs:
        scheduler.add_job(
            periodic_job,
            IntervalTrigger(seconds=job.every, timezone="UTC"),
            args=[job, metrics, scanner.items.leases],
            id=job.name,
            max_instances=1,
            coalesce=True,
        )
    return scheduler


def worker_web_app(
    scanner: ReminderScanner, metrics: WorkerMetrics, readiness: Readiness
) -> web.Application:
    """/healthz and /metrics of the worker (the backlog gauges are read on each scrape)."""

    async def scrape(_: web.Request) -> web.Response:
        with contextlib.suppress(IncidentBotError):  # counted as a Redis error
            await refresh_backlog(scanner, metrics)
        return metrics_response(metrics.registry)

    app = web.Application()
    app.router.add_routes([*health_routes(readiness), web.get(METRICS_PATH, scrape)])
    return app


async def run_worker(
    scanner: ReminderScanner,
    *,
    scan_interval: float,
    stop: asyncio.Event | None = None,
    port: int | None = None,
    host: str = "0.0.0.0",
    readiness: Readiness | None = None,
    metrics: WorkerMetrics | None = None,
    jobs: Sequence[PeriodicJob] = (),
) -> None:
    """Run until cancelled (or `stop` is set); with `port`, serve /healthz and /metrics."""
    metrics = metrics or WorkerMetrics()
    scheduler = build_scheduler(
        scanner, scan_interval=scan_interval, settings=scanner.cfg, metrics=metrics, jobs=jobs
    )
    readiness = readiness or Readiness(redis_ping=scanner.store.ping)
    readiness.scheduler_running = lambda: bool(scheduler.running)
    runner = None
    if port is not None:
        await readiness.check_slack_token()
        runner = await start_side_server(worker_web_app(scanner, metrics, readiness), host, port)
    try:
        if scheduled := await scanner.schedule_undated():
            log.info("undated_items_scheduled", count=scheduled)
    except IncidentBotError as exc:  # Redis down at start: /healthz says so; scans retry
        log.warning("undated_items_not_scheduled", reason=exc.message)
    scheduler.start()
    log.info("worker_started", interval=scan_interval, id=scanner.worker_id, port=port)
    try:
        await (stop or asyncio.Event()).wait()
    finally:
        scheduler.shutdown(wait=False)
        if runner is not None:
            await runner.cleanup()
        with contextlib.suppress(Exception):
            await scanner.items.aclose()
