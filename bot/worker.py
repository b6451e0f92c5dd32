"""The worker process: APScheduler runs the reminder scan every REMINDER_SCAN_INTERVAL
seconds and the weekly action-item digest. Several workers may run at once: every
reminder is claimed in Redis first (see bot/actions/reminders.py)."""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.actions.models import ActionSettings
from bot.actions.reminders import ReminderScanner
from bot.clock import Clock, system_clock
from bot.errors import IncidentBotError

log = structlog.get_logger(__name__)

SCAN_JOB = "reminder_scan"
DIGEST_JOB = "action_digest"


async def scan_job(scanner: ReminderScanner) -> None:
    """One scan; errors are logged, never kill the scheduler (the next scan retries)."""
    try:
        result = await scanner.scan()
        if result.sent or result.failed:
            log.info(
                "reminder_scan",
                sent=len(result.sent),
                deferred=len(result.deferred),
                failed=len(result.failed),
                skipped=result.skipped,
            )
    except IncidentBotError as exc:
        log.warning("reminder_scan_failed", reason=exc.message)


async def digest_job(scanner: ReminderScanner) -> None:
    try:
        await scanner.digest()
    except IncidentBotError as exc:
        log.warning("digest_failed", reason=exc.message)


def build_scheduler(
    scanner: ReminderScanner,
    *,
    scan_interval: float,
    settings: ActionSettings | None = None,
    clock: Clock = system_clock,
) -> AsyncIOScheduler:
    """The scheduler; not started. The scan itself reads time from the scanner's clock,
    so tests call `scanner.scan()` directly with a ManualClock and move time."""
    cfg = settings or ActionSettings()
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        scan_job,
        IntervalTrigger(seconds=scan_interval, timezone="UTC"),
        args=[scanner],
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
        args=[scanner],
        id=DIGEST_JOB,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=3600,
    )
    return scheduler


async def run_worker(
    scanner: ReminderScanner, *, scan_interval: float, stop: asyncio.Event | None = None
) -> None:
    """Run until cancelled (or `stop` is set)."""
    scheduler = build_scheduler(scanner, scan_interval=scan_interval, settings=scanner.cfg)
    scheduler.start()
    log.info("worker_started", interval=scan_interval, id=scanner.worker_id)
    try:
        await (stop or asyncio.Event()).wait()
    finally:
        scheduler.shutdown(wait=False)
        with contextlib.suppress(Exception):
            await scanner.items.aclose()
