"""Discovery: ask Prometheus what exists and bind each check to it.

Three rounds of concurrent catalog calls: (1) metric names and metadata, (2) the label
names of every candidate family present, (3) the values of the candidate labels. The
matcher (bot/metrics/matcher.py) plans rounds 2 and 3 and binds the checks by walking the
convention tables in bot/metrics/conventions/. The result is cached for
METRICS_DISCOVERY_TTL; `refresh=True` asks again. METRICS_CONFIG pins always win.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import yaml

from bot.metrics.backend import CatalogSource
from bot.metrics.bindings import Bindings
from bot.metrics.config import MetricsConfig
from bot.metrics.errors import MetricsQueryError, MetricsUnavailable
from bot.metrics.matching import Catalog, bind, families_to_label, labels_to_value

T = TypeVar("T")


class Discovery:
    """Finds and caches the bindings. One discovery at a time; callers share its result."""

    def __init__(
        self,
        *,
        source: CatalogSource | None,
        config: MetricsConfig,
        clock: Callable[[], datetime],
        ttl: timedelta = timedelta(minutes=10),
    ) -> None:
        self.source = source
        self.config = config
        self.clock = clock
        self.ttl = ttl
        self._cached: Bindings | None = None
        self._cached_at = 0.0
        self._lock = asyncio.Lock()

    @property
    def timeout(self) -> float:
        return self.config.prometheus.query_timeout_seconds

    def cached(self) -> Bindings | None:
        if (
            self._cached is not None
            and time.monotonic() - self._cached_at < self.ttl.total_seconds()
        ):
            return self._cached
        return None

    async def bindings(self, *, refresh: bool = False) -> Bindings:
        """The cached bindings, or a new discovery (raises MetricsUnavailable when
        Prometheus cannot be asked; nothing is cached then)."""
        if not refresh and (hit := self.cached()) is not None:
            return hit
        async with self._lock:
            if not refresh and (hit := self.cached()) is not None:
                return hit
            started = time.perf_counter()
            found = await self._discover()
            found = found.model_copy(
                update={"discovered_at": self.clock(), "seconds": time.perf_counter() - started}
            )
            self._cached, self._cached_at = found, time.monotonic()
            return found

    # --- plumbing --------------------------------------------------------------------

    async def _ask(self, call: Awaitable[T]) -> T:
        try:
            return await asyncio.wait_for(call, self.timeout)
        except TimeoutError as exc:
            raise MetricsUnavailable(f"timeout after {self.timeout:g}s") from exc

    async def _maybe(self, call: Awaitable[T], default: T) -> T:
        try:
            return await self._ask(call)
        except (MetricsUnavailable, MetricsQueryError):
            return default

    def _pinned_only(self) -> Bindings | None:
        """When METRICS_CONFIG pins everything, Prometheus is not asked at all."""
        c = self.config
        p = c.checks
        if not (c.service_label and c.services) or None in (p.requests, p.latency, p.pools):
            return None
        if None in (p.cpu, p.memory, p.up):
            return None
        return Bindings(
            service_label=c.service_label,
            services=list(c.services),
            requests=list(p.requests or []),
            latency=list(p.latency or []),
            pools=list(p.pools or []),
            cpu=list(p.cpu or []),
            memory=list(p.memory or []),
            up=list(p.up or []),
            pinned=[
                "service_label",
                "services",
                "requests",
                "latency",
                "db",
                "cpu",
                "memory",
                "up",
            ],
        )

    # --- discovery -------------------------------------------------------------------

    async def _discover(self) -> Bindings:
        pinned = self._pinned_only()
        if pinned is not None:
            return pinned
        if self.source is None:
            raise MetricsUnavailable("no Prometheus to discover metrics from")
        src = self.source
        end = self.clock()
        start = end - _lookback(self.config.discovery.lookback)

        names, metadata, rules = await asyncio.gather(
            self._ask(src.metric_names(start, end)),
            self._maybe(src.metadata(), {}),
            self._maybe(src.rules(), []),
        )
        cat = Catalog(names=set(names), metadata=metadata, rules=rules)
        order = families_to_label(cat.names)
        label_lists = await asyncio.gather(
            *(self._maybe(src.label_names(m, start, end), list[str]()) for m in order)
        )
        cat.labels_of = {m: set(ls) for m, ls in zip(order, label_lists, strict=True)}
        asks = labels_to_value(cat, self.config)
        value_lists = await asyncio.gather(
            *(self._maybe(src.label_values(lbl, m, start, end), list[str]()) for lbl, m in asks)
        )
        cat.values = {k: set(v) for k, v in zip(asks, value_lists, strict=True)}
        return bind(cat, self.config)


def _lookback(text: str) -> timedelta:
    amount, unit = int(text[:-1] if not text.endswith("ms") else text[:-2]), text[-1]
    if text.endswith("ms"):
        return timedelta(milliseconds=amount)
    return timedelta(seconds=amount * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit])


def bindings_yaml_data(b: Bindings) -> dict[str, Any]:
    """The pins `metrics discover --write` emits (a METRICS_CONFIG fragment)."""
    checks: dict[str, Any] = {}
    for name in ("requests", "latency", "pools", "cpu", "memory", "up"):
        found = getattr(b, name)
        if found:
            checks[name] = [item.model_dump(mode="json", exclude_defaults=True) for item in found]
    return {"service_label": b.service_label, "services": list(b.services), "checks": checks}


def pins_yaml(b: Bindings, source: str) -> str:
    """A METRICS_CONFIG file pinning what was found, with a header saying how to edit it."""
    header = (
        f"# Metric bindings discovered in {source}"
        + (f" at {b.discovered_at:%Y-%m-%d %H:%M} UTC" if b.discovered_at else "")
        + ".\n"
        "# Pass this file as METRICS_CONFIG: what it pins always wins over discovery.\n"
        "# Delete `services` to keep finding new services; delete a check under `checks` to\n"
        "# let discovery choose it again; add `thresholds`, `dependencies` or `pool_size`\n"
        "# (see bot/metrics/defaults.yml) to change those too.\n"
    )
    body = yaml.safe_dump(bindings_yaml_data(b), sort_keys=False, allow_unicode=True)
    return header + body
