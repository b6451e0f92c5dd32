"""The shape of a metric convention: which families it names, their labels, units and how
a failed request reads. Pure data; `bot/metrics/matcher.py` walks the tables.

A convention lists only what it defines. Where two conventions offer the same reading
(CPU from cAdvisor and from the process), the order of `CONVENTIONS` in `__init__.py`
says which one wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# How a status label says "server error":
CODE_OR_CLASS = '=~"5.."'  # a code (503) or a class (5xx): the regex matches both
SERVER_ERROR = '="SERVER_ERROR"'  # Micrometer's outcome tag


@dataclass(frozen=True)
class Status:
    """A label that tells failed requests apart, and the matcher that selects them."""

    label: str
    error_match: str = CODE_OR_CLASS

    def reads(self, seen: set[str]) -> str:
        """The matcher for the values seen: an outcome value wins whatever the label."""
        return SERVER_ERROR if "SERVER_ERROR" in seen else self.error_match


@dataclass(frozen=True)
class Requests:
    """A request counter, the labels that say which failed, and the histogram of the same
    family (its latency)."""

    counter: str
    statuses: tuple[Status, ...]
    histogram: str | None = None
    name: str = ""  # how /metrics discover names it; "": the convention's name


@dataclass(frozen=True)
class Latency:
    """A latency family: histogram buckets (P99 by histogram_quantile) or a summary with a
    precomputed quantile="0.99". The unit comes from metadata, else the name's suffix."""

    metric: str
    kind: Literal["histogram", "summary"] = "histogram"
    name: str = ""


@dataclass(frozen=True)
class Pool:
    """Connection-pool gauges: in use, the pool's size and (if known) waiters. The pool is
    named by the first of `pool_labels` present; `max_pool_labels` when the size metric
    names it differently."""

    active: str
    max: str | None
    waiting: str | None
    pool_labels: tuple[str, ...]
    max_pool_labels: tuple[str, ...] = ()
    name: str = ""


@dataclass(frozen=True)
class Resource:
    """CPU (cores) or memory (bytes) per service, as a percent of a limit when one is known.

    usage_kind: `counter` (CPU seconds: rate is cores), `gauge` (summed), `ratio` (already
    0..1; the highest instance counts). `joins`: the usage may be keyed by a container or
    app label instead of the service label (cAdvisor). `limit_skip`: a limit value that
    means "undefined" and is left out of the sum (the JVM's -1)."""

    usage: str
    usage_kind: Literal["counter", "gauge", "ratio"]
    limit: str | None = None
    limit_filter: str = ""
    usage_filter: str = ""
    joins: bool = False
    limit_skip: str = ""
    name: str = ""


@dataclass(frozen=True)
class Convention:
    name: str
    requests: tuple[Requests, ...] = ()
    latency: tuple[Latency, ...] = ()
    pools: tuple[Pool, ...] = ()
    cpu: tuple[Resource, ...] = ()
    memory: tuple[Resource, ...] = ()

    def label(self, family: Requests | Latency | Pool | Resource) -> str:
        """How a family is named to users: its own name, else the convention's."""
        return family.name or self.name
