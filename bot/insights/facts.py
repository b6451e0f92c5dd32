"""The few facts insights need of one incident, from its record and its first times (the
`ib:{INC-…}:firsts` set the store keeps on write), so no timeline is read at query time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.incidents.models import Incident, Role, Severity

ACTED = "acted:"
POSTMORTEM = "postmortem"


@dataclass(frozen=True)
class IncidentFacts:
    id: str
    severity: Severity
    declared_at: datetime
    private: bool
    readable: bool  # by whoever asked: else only its severity and times are counted
    services: tuple[str, ...]
    detect: float | None  # seconds from the impact start to the declaration
    acknowledge: float | None  # from the declaration to the first role holder's action
    resolve: float | None  # the record's time to resolve (a relapse's quiet gap left out)
    responders: dict[str, datetime | None]  # role holder -> their first acknowledging action
    ic: str | None
    resolved_at: datetime | None
    root_cause: str | None
    postmortem_at: datetime | None  # the first postmortem draft

    def duration(self, name: str) -> float | None:
        value: float | None = getattr(self, name)
        return value


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def incident_facts(
    incident: Incident, firsts: dict[str, float], *, readable: bool
) -> IncidentFacts:
    """`firsts`: member -> epoch seconds (`acted:<user>`, `postmortem`)."""
    declared = incident.declared_at.timestamp()
    holders = [incident.declared_by, *incident.roles.values()]  # the declarer was the first IC
    responders: dict[str, datetime | None] = {}
    for user in dict.fromkeys(holders):
        acted = firsts.get(ACTED + user)
        responders[user] = _at(acted) if acted is not None and acted >= declared else None
    acts = [at.timestamp() for at in responders.values() if at is not None]
    impact = incident.impact_started_at
    ttr = incident.time_to_resolve
    pm = firsts.get(POSTMORTEM)
    return IncidentFacts(
        id=incident.id,
        severity=incident.severity,
        declared_at=incident.declared_at,
        private=incident.private,
        readable=readable,
        services=tuple(dict.fromkeys(s.strip().lower() for s in incident.services if s.strip())),
        detect=None if impact is None else max(declared - impact.timestamp(), 0.0),
        acknowledge=min(acts) - declared if acts else None,
        resolve=None if ttr is None else max(ttr.total_seconds(), 0.0),
        responders=responders,
        ic=incident.roles.get(Role.IC),
        resolved_at=incident.resolved_at,
        root_cause=incident.root_cause_category,
        postmortem_at=None if pm is None else _at(pm),
    )
