"""A fleet: the services of every Prometheus the bot reads (PROMETHEUS_URLS), merged.

Each server is a member with its own discovery. A service name seen on one server keeps
its name; a name seen on two is shown with its source, `checkout-api@eu`. A server that
could not be asked is named, and the others are still read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.metrics.bindings import Bindings


@dataclass(frozen=True)
class FleetMember:
    name: str  # "" for the one server of PROMETHEUS_URL
    bindings: Bindings | None  # None: discovery could not ask it
    down: str | None = None  # why it could not be asked


@dataclass(frozen=True)
class Fleet:
    members: list[FleetMember]
    services: list[str] = field(default_factory=list)  # display names, sorted
    _where: dict[str, tuple[str, str]] = field(default_factory=dict)  # display -> (member, raw)
    _names: dict[tuple[str, str], str] = field(default_factory=dict)  # (member, raw) -> display

    @classmethod
    def of(cls, members: list[FleetMember]) -> Fleet:
        seen: dict[str, list[str]] = {}
        for m in members:
            for raw in m.bindings.services if m.bindings else []:
                seen.setdefault(raw, []).append(m.name)
        where: dict[str, tuple[str, str]] = {}
        for raw, owners in seen.items():
            for owner in owners:
                shown = f"{raw}@{owner}" if len(owners) > 1 and owner else raw
                where[shown] = (owner, raw)
        names = {v: k for k, v in where.items()}
        return cls(members=members, services=sorted(where), _where=where, _names=names)

    @property
    def several(self) -> bool:
        return len(self.members) > 1

    @property
    def up(self) -> list[FleetMember]:
        return [m for m in self.members if m.bindings is not None]

    @property
    def down(self) -> dict[str, str]:
        return {m.name: m.down or "unreachable" for m in self.members if m.bindings is None}

    def member(self, name: str) -> FleetMember:
        return next(m for m in self.members if m.name == name)

    def locate(self, service: str) -> tuple[str, str]:
        """(member, raw name) of a display name."""
        return self._where[service]

    def display(self, member: str, raw: str) -> str:
        return self._names.get((member, raw), raw)

    def raw_services(self, member: str, services: list[str]) -> list[str]:
        return [self._where[s][1] for s in services if self._where[s][0] == member]

    def pool_name(self, member: str, name: str | None) -> str | None:
        """A pool's name with its server when there are several (pools are per server)."""
        if not self.several:
            return name
        return f"{name}@{member}" if name else f"@{member}"

    @property
    def missing(self) -> dict[str, str]:
        """What was looked for and not found, on every server that was asked (a check
        found on one server is not missing)."""
        up = self.up
        if not up:
            return {}
        keys = set.intersection(*(set(m.bindings.missing) for m in up if m.bindings))
        first = up[0].bindings
        assert first is not None
        return {k: first.missing[k] for k in keys}
