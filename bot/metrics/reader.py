"""What the check, its parts and the queries beside it read of the metrics service: the
servers, the fleet they form, the config and the clock. MetricsService (service.py) is the
one implementation; the modules it calls (check, cascade, correlation, crossings, budget,
freeform) take this instead, so they do not import the service that imports them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from bot.metrics.backend import MetricsSource
from bot.metrics.config import MetricsConfig
from bot.metrics.fleet import Fleet
from bot.metrics.models import CheckReport
from bot.metrics.queries import QueryRunner
from bot.runbooks import RunbookLibrary


class MetricsReader(Protocol):
    sources: dict[str, MetricsSource]
    config: MetricsConfig
    clock: Callable[[], datetime]
    runbooks: RunbookLibrary | None

    @property
    def timeout(self) -> float: ...

    def runner(self, member: str = "") -> QueryRunner: ...

    async def fleet(self, *, refresh: bool = False) -> Fleet: ...

    def resolve(self, service: str, known: Sequence[str]) -> str: ...

    async def check(
        self,
        service: str | None = None,
        at: datetime | None = None,
        *,
        first: Sequence[str] = (),
        services: Sequence[str] | None = None,
    ) -> CheckReport: ...
