"""What one audience sees of the page at one moment: the public page shows public
components and what was published about them; the internal page adds internal components
and the incidents behind the public ones. Built from the store by snapshot.py, rendered
as Statuspage JSON by shapes.py and as HTML by the web app."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bot.statuspage.components import Components, ComponentSpec
from bot.statuspage.models import (
    ComponentStatus,
    Maintenance,
    MaintenanceStatus,
    PublicIncident,
)
from bot.statuspage.uptime import Uptime, component_uptime

Audience = Literal["public", "internal"]
INDICATORS = {0: "none", 1: "maintenance", 2: "minor", 3: "major", 4: "critical"}


@dataclass
class ComponentView:
    spec: ComponentSpec
    position: int
    status: ComponentStatus
    updated_at: datetime
    uptime: Uptime

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass
class GroupView:
    name: str
    components: list[ComponentView]

    @property
    def status(self) -> ComponentStatus:
        return max((c.status for c in self.components), key=lambda s: s.rank)


@dataclass
class PageView:
    audience: Audience
    title: str
    url: str
    updated_at: datetime
    now: datetime
    components: list[ComponentView]
    incidents: list[PublicIncident]  # newest first, the last 90 days and every open one
    maintenances: list[Maintenance]  # by start
    # internal page only: the incident each public incident was published from
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def groups(self) -> list[GroupView | ComponentView]:
        """Components in file order, those of one group together under it."""
        out: list[GroupView | ComponentView] = []
        by_group: dict[str, GroupView] = {}
        for c in self.components:
            if c.spec.group is None:
                out.append(c)
            elif c.spec.group in by_group:
                by_group[c.spec.group].components.append(c)
            else:
                by_group[c.spec.group] = GroupView(c.spec.group, [c])
                out.append(by_group[c.spec.group])
        return out

    @property
    def open_incidents(self) -> list[PublicIncident]:
        return [i for i in self.incidents if i.is_open]

    @property
    def past_incidents(self) -> list[PublicIncident]:
        return [i for i in self.incidents if not i.is_open]

    @property
    def active_maintenance(self) -> list[Maintenance]:
        return [m for m in self.maintenances if m.status in (MaintenanceStatus.IN_PROGRESS,
                                                             MaintenanceStatus.VERIFYING)]

    @property
    def upcoming_maintenance(self) -> list[Maintenance]:
        return [m for m in self.maintenances if m.status is MaintenanceStatus.SCHEDULED]

    @property
    def indicator(self) -> str:
        worst = max((c.status.rank for c in self.components), default=0)
        worst = max([worst, *(_incident_rank(i) for i in self.open_incidents)])
        return INDICATORS[worst]

    @property
    def description(self) -> str:
        """The top-level status in Statuspage's words."""
        statuses = [c.status for c in self.components]
        broken = [s for s in statuses if s is not ComponentStatus.OPERATIONAL]
        if not broken:
            return "Minor Service Outage" if self.open_incidents else "All Systems Operational"
        worst = max(broken, key=lambda s: s.rank)
        if worst is ComponentStatus.MAJOR:
            return "Major System Outage" if len(broken) == len(statuses) else \
                "Partial System Outage"
        if worst is ComponentStatus.PARTIAL:
            return "Partial System Outage" if len(statuses) == 1 else "Minor Service Outage"
        if worst is ComponentStatus.DEGRADED:
            return "Partially Degraded Service"
        return "Service Under Maintenance"


def _incident_rank(incident: PublicIncident) -> int:
    worst = max((s.rank for s in incident.components.values()), default=0)
    return max(worst, 2)  # an open incident is at least minor


def component_status(
    name: str, incidents: list[PublicIncident], maintenances: list[Maintenance]
) -> tuple[ComponentStatus, datetime | None]:
    """A component's status now: the worst an open incident holds it at, else under
    maintenance while a window on it is in progress, else operational; and since when."""
    key = name.lower()
    held = [
        (s, i.updated_at) for i in incidents if i.is_open
        for n, s in i.components.items() if n.lower() == key
    ]
    if held:
        status, _ = max(held, key=lambda h: h[0].rank)
        return status, max(at for _, at in held)
    for m in maintenances:
        if m.status is MaintenanceStatus.IN_PROGRESS and key in {c.lower() for c in m.components}:
            return ComponentStatus.MAINTENANCE, m.updated_at
    return ComponentStatus.OPERATIONAL, None


def build_view(
    audience: Audience,
    *,
    title: str,
    url: str,
    components: Components,
    incidents: list[PublicIncident],
    maintenances: list[Maintenance],
    now: datetime,
    started: datetime,
    uptimes: dict[str, Uptime] | None = None,
) -> PageView:
    """The page for `audience` from everything published (newest incidents first).
    `uptimes`: bars already computed at this `now`, by component name (a component's do
    not depend on the audience: no internal incident touches a public component)."""
    known = {} if uptimes is None else uptimes
    specs = components.components if audience == "internal" else components.public
    shown = {c.name.lower() for c in specs}

    def visible(names: list[str]) -> bool:
        return any(n.lower() in shown for n in names) or (not names and audience == "internal")

    incs = [i for i in incidents if (audience == "internal" or not i.internal)
            and visible(list(i.components))]
    if audience == "public":  # a component the public page does not list is not named
        incs = [_only(i, shown) for i in incs]
    maints = [m for m in maintenances if visible(m.components)
              and (audience == "internal" or not m.internal)]
    if audience == "public":
        maints = [m.model_copy(update={"components": [n for n in m.components
                                                      if n.lower() in shown]})
                  for m in maints]
    views = []
    for position, spec in enumerate(specs, start=1):
        status, since = component_status(spec.name, incs, maints)
        uptime = known.get(spec.name.lower())
        if uptime is None:
            uptime = known[spec.name.lower()] = component_uptime(spec.name, incs, now)
        views.append(ComponentView(
            spec=spec, position=position, status=status, updated_at=since or started,
            uptime=uptime,
        ))
    changed = [started, *(i.updated_at for i in incs), *(m.updated_at for m in maints)]
    return PageView(
        audience=audience, title=title, url=url, updated_at=max(changed), now=now,
        components=views, incidents=sorted(incs, key=lambda i: i.created_at, reverse=True),
        maintenances=sorted(maints, key=lambda m: m.scheduled_for),
        sources={i.id: i.incident_id for i in incs} if audience == "internal" else {},
    )


def _only(incident: PublicIncident, shown: set[str]) -> PublicIncident:
    """The incident without the components this page does not show."""
    keep = {n: s for n, s in incident.components.items() if n.lower() in shown}
    updates = [
        u.model_copy(update={"components": {n: s for n, s in u.components.items()
                                            if n.lower() in shown}})
        for u in incident.updates
    ]
    return incident.model_copy(update={"components": keep, "updates": updates})
