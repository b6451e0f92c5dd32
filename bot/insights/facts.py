"""The few facts insights need of one incident, from its record's facts and its first times
(`ib:{INC-…}:facts` and `ib:{INC-…}:firsts`, both kept on write by the store), so neither
the whole record nor its timeline is read at query time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.incidents.models import Severity

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
    incident_id: str, record: dict[str, Any], firsts: dict[str, float], *, readable: bool
) -> IncidentFacts:
    """`record`: the record's facts (bot/store/insights.py `record_facts`); `firsts`:
    member -> epoch seconds (`acted:<user>`, `postmortem`)."""
    declared = float(record["declared"])
    responders: dict[str, datetime | None] = {}
    for user in record["holders"]:  # the declarer (the first IC) and the role holders
        acted = firsts.get(ACTED + user)
        responders[user] = _at(acted) if acted is not None and acted >= declared else None
    acts = [at.timestamp() for at in responders.values() if at is not None]
    impact, ttr, resolved = record["impact"], record["ttr"], record["resolved"]
    pm = firsts.get(POSTMORTEM)
    return IncidentFacts(
        id=incident_id,
        severity=Severity(record["severity"]),
        declared_at=_at(declared),
        private=bool(record["private"]),
        readable=readable,
        services=tuple(dict.fromkeys(s.strip().lower() for s in record["services"] if s.strip())),
        detect=None if impact is None else max(declared - impact, 0.0),
        acknowledge=min(acts) - declared if acts else None,
        resolve=None if ttr is None else max(float(ttr), 0.0),
        responders=responders,
        ic=record["ic"],
        resolved_at=None if resolved is None else _at(resolved),
        root_cause=record["cause"],
        postmortem_at=None if pm is None else _at(pm),
    )
