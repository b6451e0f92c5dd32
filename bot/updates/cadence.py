"""The update cadence as changes to the incident record: set by `/incident cadence` (or
off), and tightened when a new severity's default cadence is shorter than the update
already promised."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from bot.incidents.models import Incident
from bot.timeline.models import EventKind, TimelineEvent
from bot.updates.models import CadenceSettings, cadence_for, describe_cadence

MIN_CADENCE = timedelta(minutes=5)
MAX_CADENCE = timedelta(hours=24)
RecordChange = Callable[[Incident], list[TimelineEvent]]


def cadence_change(every: timedelta | None, now: datetime, actor: str) -> RecordChange:
    """Set the cadence (`every` None: off) and the next update due, on the timeline."""
    label = describe_cadence(every)

    def change(inc: Incident) -> list[TimelineEvent]:
        inc.update_cadence_minutes = 0 if every is None else int(every.total_seconds() // 60)
        inc.next_update_due = None if every is None else now + every
        return [
            TimelineEvent(
                kind=EventKind.CADENCE,
                at=now,
                actor=actor,
                text=f"Update cadence {label}",
                data={"minutes": str(inc.update_cadence_minutes)},
            )
        ]

    return change


def sooner_due(incident: Incident, cadence: CadenceSettings) -> RecordChange | None:
    """After a severity change: the next update one new cadence after the last one, when
    that is sooner than promised; None when nothing moves (an explicit cadence stays)."""
    every = cadence_for(incident, cadence)
    if (
        not incident.is_active
        or incident.update_cadence_minutes is not None
        or incident.next_update_due is None
        or every is None
    ):
        return None
    sooner = (incident.last_update_at or incident.declared_at) + every
    if sooner >= incident.next_update_due:
        return None

    def tighten(inc: Incident) -> list[TimelineEvent]:
        if inc.next_update_due is not None and sooner < inc.next_update_due:
            inc.next_update_due = sooner
        return []

    return tighten
