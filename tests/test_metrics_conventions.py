"""The convention tables: every module under bot/metrics/conventions/ is one table the
matcher walks, and the tables are well formed."""

from __future__ import annotations

import importlib
import pkgutil
import re

import bot.metrics.conventions as conventions
from bot.metrics.conventions import CONVENTIONS, Convention

METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


def test_every_convention_module_is_walked() -> None:
    tables: list[Convention] = []
    for info in pkgutil.iter_modules(conventions.__path__):
        if info.name == "table":
            continue
        module = importlib.import_module(f"{conventions.__name__}.{info.name}")
        assert isinstance(getattr(module, "CONVENTION", None), Convention), info.name
        tables.append(module.CONVENTION)
    assert sorted(c.name for c in tables) == sorted(c.name for c in CONVENTIONS)
    assert len({c.name for c in CONVENTIONS}) == len(CONVENTIONS)


def test_tables_name_valid_families() -> None:
    for c in CONVENTIONS:
        metrics = [r.counter for r in c.requests] + [r.histogram or "x" for r in c.requests]
        metrics += [lat.metric for lat in c.latency]
        metrics += [m or "x" for p in c.pools for m in (p.active, p.max, p.waiting)]
        metrics += [m or "x" for r in (*c.cpu, *c.memory) for m in (r.usage, r.limit)]
        assert all(METRIC_NAME.match(m) for m in metrics), c.name
        assert all(r.statuses for r in c.requests), c.name
        assert any((c.requests, c.latency, c.pools, c.cpu, c.memory)), c.name
