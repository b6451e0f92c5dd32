"""The collaborators listeners need, built once by the composition root (bot/wiring.py):
the core ones, then each installed feature's (bot/features.py `Installed.provides`)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.actions.service import ActionItemService
from bot.alerts import AlertService
from bot.clock import Clock
from bot.conferencing.service import CallService
from bot.incidents.flows import IncidentFlows
from bot.incidents.service import IncidentService
from bot.insights.service import InsightsService
from bot.integrations.paging import PagingService
from bot.integrations.tracking import TrackerService
from bot.metrics import MetricsService
from bot.patterns.service import PatternService
from bot.postmortem.service import PostmortemService
from bot.publishing.service import PublishService
from bot.registry import OutcomeObserver, ignore_outcome
from bot.settings import Settings
from bot.slack.gateway import SlackGateway
from bot.statuspage.bundle import StatusPage
from bot.store.redis_store import RedisStore
from bot.timeline.service import TimelineService
from bot.updates.service import UpdateService


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
    metrics: MetricsService | None = None
    actions: ActionItemService | None = None
    postmortems: PostmortemService | None = None
    patterns: PatternService | None = None
    updates: UpdateService | None = None
    paging: PagingService | None = None
    tracking: TrackerService | None = None
    calls: CallService | None = None
    publishing: PublishService | None = None
    statuspage: StatusPage | None = None
    insights: InsightsService | None = None

    def has(self, capability: str) -> bool:
        """Whether an optional capability (a field above) is configured."""
        return getattr(self, capability, None) is not None
