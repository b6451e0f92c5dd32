"""Scheduled maintenance: a window on some components, announced at once (upcoming until
it starts), moved to in progress at its start and to completed at its end by the worker.
Each move is a compare-and-set on the window's record, so however many workers run, one
makes it and tells the subscribers and the mirror."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.errors import UsageError
from bot.mrkdwn import escape
from bot.statuspage.components import Components
from bot.statuspage.models import Maintenance, MaintenanceStatus, PublicUpdate
from bot.statuspage.service import StatusPageService, new_id
from bot.statuspage.wording import MAX_MESSAGE, MAX_TITLE, maintenance_problems, names_text
from bot.store.statuspage import StatusPageStore

MAX_WINDOW = timedelta(days=7)
MAX_AHEAD = timedelta(days=366)
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:?\d{2})?$")
CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
DURATION = re.compile(r"^\+?(\d{1,4})(m|h|d)$")
IN_PROGRESS_TEXT = "Scheduled maintenance is currently in progress. We will provide updates " \
    "as necessary."
COMPLETED_TEXT = "The scheduled maintenance has been completed."


def parse_when(value: str, *, now: datetime, zone: ZoneInfo, after: datetime | None = None
               ) -> datetime:
    """`2026-12-01T02:00` (in the person's zone unless it says its own), `02:00` (the next
    such time), or, for the end, a duration after the start (`2h`, `90m`)."""
    value = value.strip()
    if after is not None and (m := DURATION.match(value)):
        unit = {"m": "minutes", "h": "hours", "d": "days"}[m.group(2)]
        return after + timedelta(**{unit: int(m.group(1))})
    if ISO.match(value):
        at = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T"))
        return (at if at.tzinfo else at.replace(tzinfo=zone)).astimezone(UTC)
    if m := CLOCK.match(value):
        hour, minute = int(m.group(1)), int(m.group(2))
        if hour > 23 or minute > 59:
            raise UsageError(f"`{escape(value)}` is not a time of day.")
        local = now.astimezone(zone)
        at = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        base = after.astimezone(zone) if after is not None else local
        while at <= base:
            at += timedelta(days=1)
        return at.astimezone(UTC)
    raise UsageError(
        f"`{escape(value)}` is not a time: use `2026-12-01T02:00`, `02:00`"
        + (", or a length such as `2h` for the end." if after is not None else ".")
    )


class MaintenanceService:
    def __init__(self, *, pages: StatusPageStore, clock: Clock, components: Components,
                 publishing: StatusPageService) -> None:
        self.pages = pages
        self.clock = clock
        self.components = components
        self.publishing = publishing

    async def schedule(
        self, names: list[str], start: datetime, end: datetime, message: str, actor: str,
        *, title: str = "",
    ) -> Maintenance:
        now = self.clock()
        found = [self.publishing.component_name(n) for n in names]
        if not found:
            raise UsageError("Name the components under maintenance, e.g. `Checkout,Payments`.")
        if end <= start:
            raise UsageError("The maintenance must end after it starts.")
        if end <= now:
            raise UsageError("That window is already over.")
        if end - start > MAX_WINDOW or start - now > MAX_AHEAD:
            raise UsageError("A window is at most 7 days long, within the next year.")
        if not message.strip() or len(message) > MAX_MESSAGE:
            raise UsageError(f"Say what the maintenance is (at most {MAX_MESSAGE} characters).")
        # the public page shows the title: it names internal components only when it is
        # internal itself (a window on Checkout and Ledger is "…: Checkout" there)
        named = [n for n in found if not self.components.is_internal([n])] or found
        title = (title or f"Scheduled maintenance: {names_text(named)}")[:MAX_TITLE]
        if not self.components.is_internal(found):  # it goes on the public page
            problems = maintenance_problems(f"{title}\n{message}", self.components)
            if problems:
                raise UsageError("Not scheduled: " + "; ".join(problems) + ". Public words "
                                 "say what customers see, never which internal system.")
        update = PublicUpdate(id=new_id(), status=MaintenanceStatus.SCHEDULED.value,
                              body=message.strip(), at=now, by=actor)
        window = Maintenance(
            id=new_id(), name=title, components=found, scheduled_for=start,
            scheduled_until=end, created_at=now, updated_at=now, created_by=actor,
            updates=[update], internal=self.components.is_internal(found),
        )
        await self.pages.create_maintenance(window)
        await self.publishing.after_change(window, update)
        return window

    async def advance_due(self) -> list[Maintenance]:
        """The worker's job: move every window whose time came (once across workers)."""
        now = self.clock()
        moved: list[Maintenance] = []
        for window in await self.pages.maintenances(now - timedelta(days=1)):
            if not window.is_open:
                continue
            target = _due_status(window, now)
            if target is None or target is window.status:
                continue
            update = PublicUpdate(
                id=f"{window.id}-{target.value}", status=target.value, at=now,
                body=IN_PROGRESS_TEXT if target is MaintenanceStatus.IN_PROGRESS
                else COMPLETED_TEXT,
            )

            def move(m: Maintenance, target: MaintenanceStatus = target,
                     update: PublicUpdate = update) -> Maintenance | None:
                if _due_status(m, now) is not target or m.status is target or not m.is_open:
                    return None  # another worker moved it first
                return m.model_copy(update={"status": target, "updated_at": now,
                                            "updates": [*m.updates, update]})

            changed = await self.pages.change_maintenance(window.id, move)
            if changed is not None:
                moved.append(changed)
                await self.publishing.after_change(changed, update)
        return moved


def _due_status(m: Maintenance, now: datetime) -> MaintenanceStatus | None:
    if now >= m.scheduled_until:
        return MaintenanceStatus.COMPLETED
    if now >= m.scheduled_for:
        return MaintenanceStatus.IN_PROGRESS
    return None
