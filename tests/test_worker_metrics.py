"""The worker's metrics, driven through the real scan jobs with a ManualClock against real
Redis: reminders by kind, escalations, failures by kind, due backlog and its lag, jobs run
and failed, last successful scan. (The process itself: tests/test_run_modes.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import generate_latest

from bot.actions.reminders import ReminderScanner
from bot.actions.store import ActionItemStore
from bot.observability import WorkerMetrics
from bot.store.redis_store import RedisStore, connect
from bot.worker import DIGEST_JOB, SCAN_JOB, digest_job, refresh_backlog, scan_job
from tests.conftest import free_port
from tests.processes import metric_value
from tests.test_reminders import World, _add, world  # noqa: F401  (fixture)


def scrape(metrics: WorkerMetrics) -> str:
    return generate_latest(metrics.registry).decode()


async def test_scan_job_counts_reminders_by_kind_escalations_and_failures(world: World) -> None:
    metrics = WorkerMetrics()
    await _add(world, due="1d")  # before-due reminder is due now (lead time 24h)
    await _add(world, owner="UCHARLIE", due="1d")
    scanner = world.scanner()

    world.fail_send(times=1)  # Slack refuses the first send: counted, retried next scan
    await scan_job(scanner, metrics)
    text = scrape(metrics)
    assert metric_value(text, "incident_bot_reminder_failures_total", kind="before_due") == 1
    assert metric_value(text, "incident_bot_reminders_sent_total", kind="before_due") == 1
    # the failed one is still due, and has been waiting since it fell due
    assert metric_value(text, "incident_bot_reminders_due") == 1
    assert metric_value(text, "incident_bot_reminders_oldest_lag_seconds") == 0

    world.clock.advance(timedelta(minutes=5))
    await scan_job(scanner, metrics)
    text = scrape(metrics)
    assert metric_value(text, "incident_bot_reminders_sent_total", kind="before_due") == 2
    assert metric_value(text, "incident_bot_reminders_due") == 0

    # overdue twice, then the IC is told (escalate_after=2)
    for day in (24, 25, 26):
        world.clock.set(datetime(2026, 11, day, 14, 5, tzinfo=UTC))
        await scan_job(scanner, metrics)
    text = scrape(metrics)
    assert metric_value(text, "incident_bot_reminders_sent_total", kind="overdue") == 4
    assert metric_value(text, "incident_bot_reminders_sent_total", kind="escalation") == 2
    assert metric_value(text, "incident_bot_reminder_escalations_total") == 2
    assert metric_value(text, "incident_bot_worker_jobs_total", name=SCAN_JOB) == 5
    assert metric_value(text, "incident_bot_worker_job_failures_total", name=SCAN_JOB) == 0
    assert metric_value(text, "incident_bot_reminder_scan_duration_seconds_count") == 5
    assert metric_value(text, "incident_bot_reminder_last_success_timestamp_seconds") > 0


async def test_backlog_lag_is_the_oldest_due_reminder(world: World) -> None:
    metrics = WorkerMetrics()
    await _add(world, owner="UBOB", due="1d")  # Los Angeles: 06:00, deferred to 09:00 local
    await _add(world, due="3d")
    scanner = world.scanner()
    await scan_job(scanner, metrics)
    text = scrape(metrics)
    # the deferred reminder is not due until Bob's working day starts
    assert metric_value(text, "incident_bot_reminders_due") == 0
    # no scan until the 25th, 16:00: Bob's deferred reminder (17:00 UTC on the 23rd) is the
    # oldest of the two now due
    world.clock.set(datetime(2026, 11, 25, 16, 0, tzinfo=UTC))
    await refresh_backlog(scanner, metrics)
    text = scrape(metrics)
    assert metric_value(text, "incident_bot_reminders_due") == 2
    assert (
        metric_value(text, "incident_bot_reminders_oldest_lag_seconds")
        == (
            datetime(2026, 11, 25, 16, 0, tzinfo=UTC) - datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
        ).total_seconds()
    )


async def test_a_failing_job_is_counted_and_the_last_success_stays(world: World) -> None:
    metrics = WorkerMetrics()
    await scan_job(world.scanner(), metrics)
    last = metric_value(scrape(metrics), "incident_bot_reminder_last_success_timestamp_seconds")
    unreachable = connect(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    broken = ReminderScanner(
        actions_store=ActionItemStore(unreachable),
        store=RedisStore(unreachable),
        chat=world.chat,
        clock=world.clock,
        settings=world.cfg,
    )
    try:
        await scan_job(broken, metrics)
        await digest_job(broken, metrics)
    finally:
        await unreachable.aclose()
    text = scrape(metrics)
    assert metric_value(text, "incident_bot_worker_job_failures_total", name=SCAN_JOB) == 1
    assert metric_value(text, "incident_bot_worker_job_failures_total", name=DIGEST_JOB) == 1
    assert metric_value(text, "incident_bot_worker_jobs_total", name=SCAN_JOB) == 2
    assert metric_value(text, "incident_bot_reminder_last_success_timestamp_seconds") == last
    assert metric_value(text, "incident_bot_redis_errors_total") >= 2
