"""When an item's next reminder is due, and what kind it is (pure functions)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.actions.models import ActionItem, ActionSettings, ReminderKind
from bot.workweek import zone


def next_reminder_at(item: ActionItem, cfg: ActionSettings) -> datetime | None:
    """The next time a worker should look at this item; None when nothing is left to send.

    Before due: one reminder at `due - lead_time`. Overdue: at `due`, then every
    `overdue_every` after the last one. No due date: every `undated_every` after the item
    was created or last nudged, until it is done or gets a date. A snooze pushes whatever
    comes next to its end."""
    if not item.is_open:
        return None
    if item.due is None:
        nudges = [r.at for r in item.reminders_sent if r.kind is ReminderKind.UNDATED]
        at = max([item.created_at, *nudges]) + cfg.undated_every
        if item.snoozed_until is not None and item.snoozed_until > at:
            at = item.snoozed_until
        return at
    overdue_sent = item.sent_in_generation(ReminderKind.OVERDUE) + item.sent_in_generation(
        ReminderKind.ESCALATION
    )
    if overdue_sent:
        at = max(r.at for r in overdue_sent) + cfg.overdue_every
    elif item.sent_in_generation(ReminderKind.BEFORE_DUE):
        at = item.due
    else:
        at = item.due - cfg.lead_time
    if item.snoozed_until is not None and item.snoozed_until > at:
        at = item.snoozed_until
    return at


def reminder_kind(item: ActionItem, now: datetime, cfg: ActionSettings) -> ReminderKind:
    if item.due is None:
        return ReminderKind.UNDATED
    if now < item.due:
        return ReminderKind.BEFORE_DUE
    if item.overdue_reminders_count >= cfg.escalate_after and item.escalated_at is None:
        return ReminderKind.ESCALATION
    return ReminderKind.OVERDUE


def slot_for(item: ActionItem, kind: ReminderKind) -> str:
    """A name unique to one reminder of one item: `g<generation>:<kind>[:<n>]`."""
    if kind is ReminderKind.OVERDUE:
        return f"g{item.generation}:overdue:{item.overdue_reminders_count + 1}"
    if kind is ReminderKind.UNDATED:
        return f"g{item.generation}:undated:{len(item.sent_in_generation(kind)) + 1}"
    return f"g{item.generation}:{kind.value}"



def next_working_start(now: datetime, tz: str, cfg: ActionSettings) -> datetime | None:
    """None when `now` is inside the owner's working hours (in their own time zone);
    otherwise the start of their next working period."""
    if cfg.working_hours.contains(now, tz):
        return None
    local = now.astimezone(zone(tz))
    day = local.date()
    if local.time().replace(tzinfo=None) >= cfg.work_start or local.weekday() not in (
        cfg.working_days
    ):
        day += timedelta(days=1)
    for _ in range(8):
        if day.weekday() in cfg.working_days:
            break
        day += timedelta(days=1)
    start = datetime.combine(day, cfg.work_start, tzinfo=local.tzinfo)
    # round-trip through UTC so a DST change on that day lands on the wall-clock start
    return start.astimezone(now.tzinfo)
