"""The collaborators listeners need, built once by the composition root (bot/wiring.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.alerts import AlertService
from bot.clock import Clock
from bot.incidents.flows import IncidentFlows
from bot.incidents.service import IncidentService
from bot.integrations.paging import PagingService
from bot.integrations.tracking import TrackerService
from bot.registry import OutcomeObserver, ignore_outcome
from bot.settings import Settings
from bot.slack.gateway import SlackGateway
from bot.store.redis_store import RedisStore
from bot.timeline.service import TimelineService


@dataclass
class Services:
    settings: Settings
    clock: Clock
    store: RedisStore
    chat: SlackGateway
    incidents: IncidentService  # reads; every change goes through `flows`
    flows: IncidentFlows
    timeline: TimelineService
    alerts: AlertService
    observe: OutcomeObserver = ignore_outcome  # counts command outcomes (bot /metrics)
    # optional capabilities: None when not configured, and every command says so plainly
    metrics: Any = None
    actions: Any = None
    postmortems: Any = None
    patterns: Any = None
    updates: Any = None  # bot.updates.service.UpdateService
    paging: PagingService | None = None
    tracking: TrackerService | None = None

    def has(self, capability: str) -> bool:
        """Whether an optional capability (a field above) is configured."""
        return getattr(self, capability, None) is not None
