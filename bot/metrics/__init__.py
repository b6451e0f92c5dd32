"""Metric checks against Prometheus (seed 000): config, adapter, service, renderers."""

from bot.metrics.backend import MetricsSource
from bot.metrics.config import MetricsConfig, load_config
from bot.metrics.errors import MetricsQueryError, MetricsUnavailable, MetricsUsageError
from bot.metrics.models import Cascade, CheckReport, Correlation, QueryResult, Verdict
from bot.metrics.prometheus import PrometheusSource
from bot.metrics.render import render_check, render_query
from bot.metrics.render_discovery import render_discovery, render_fleet_discovery
from bot.metrics.render_over_time import render_cascade, render_correlation
from bot.metrics.service import MetricsService

__all__ = [
    "Cascade",
    "CheckReport",
    "Correlation",
    "MetricsConfig",
    "MetricsQueryError",
    "MetricsService",
    "MetricsSource",
    "MetricsUnavailable",
    "MetricsUsageError",
    "PrometheusSource",
    "QueryResult",
    "Verdict",
    "load_config",
    "render_cascade",
    "render_check",
    "render_correlation",
    "render_discovery",
    "render_fleet_discovery",
    "render_query",
]
