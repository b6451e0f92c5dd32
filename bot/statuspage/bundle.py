"""What the status page gives the rest of the bot (`services.statuspage`)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.statuspage.components import Components
from bot.statuspage.maintenance import MaintenanceService
from bot.statuspage.mirror import Mirror
from bot.statuspage.service import StatusPageService
from bot.statuspage.snapshot import Snapshots
from bot.statuspage.subscribers import SubscriberService


@dataclass
class StatusPage:
    publishing: StatusPageService
    maintenance: MaintenanceService
    subscribers: SubscriberService
    snapshots: Snapshots
    components: Components
    url: str
    admins_configured: bool  # ADMIN_USERGROUP is set: only admins schedule maintenance
    mirror: Mirror | None = None  # STATUSPAGE_API_KEY: every publish mirrored there
