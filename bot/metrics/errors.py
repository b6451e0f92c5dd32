"""Typed errors of the metric checks (the Slack side turns them into ephemeral replies)."""

from __future__ import annotations

from bot.errors import IncidentBotError, UsageError


class MetricsQueryError(UsageError):
    """Prometheus rejected a query; `message` is Prometheus's own error text."""

    def __init__(self, message: str, *, promql: str = "") -> None:
        super().__init__(message)
        self.promql = promql


class MetricsUnavailable(IncidentBotError):
    """Prometheus could not be reached or did not answer in time."""


class MetricsUsageError(UsageError):
    """Bad input to a metrics command: unknown service, bad window or step, empty query."""
