"""What the metric checks need from a metrics backend (the port): instant and range
queries (`MetricsSource`) and, for discovery, the catalog (`CatalogSource`). The
Prometheus HTTP API adapter is bot/metrics/prometheus.py; anything that speaks that API
(VictoriaMetrics, Thanos Query, Mimir) is reached through it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from bot.metrics.models import InstantSample, RangeSeries

ResultType = Literal["vector", "scalar", "matrix", "string"]


class InstantResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    result_type: ResultType
    samples: list[InstantSample]  # matrix: one per series, its last value
    text: str | None = None  # string results


class MetricsSource(Protocol):
    """What the service needs from a metrics backend. Implementations raise
    MetricsQueryError when the backend rejects the query and MetricsUnavailable when it
    cannot be reached."""

    async def instant(self, promql: str, at: datetime | None = None) -> InstantResult:
        """Evaluate `promql` at `at` (default: the backend's now)."""
        ...

    async def range(
        self, promql: str, start: datetime, end: datetime, step: timedelta
    ) -> list[RangeSeries]:
        """Evaluate `promql` at start, start+step, … up to end."""
        ...


class CatalogSource(Protocol):
    """What discovery needs: Prometheus's names, metadata and label values. Times bound
    the series looked at (the label APIs default to all of the TSDB)."""

    async def metric_names(self, start: datetime, end: datetime) -> list[str]: ...

    async def metadata(self) -> dict[str, list[dict[str, str]]]: ...

    async def label_names(self, match: str, start: datetime, end: datetime) -> list[str]: ...

    async def label_values(
        self, label: str, match: str, start: datetime, end: datetime
    ) -> list[str]: ...

    async def rules(self) -> list[dict[str, Any]]: ...
