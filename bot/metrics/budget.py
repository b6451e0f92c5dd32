"""The error budget an incident consumed, for the postmortem's Impact section: for each
of the incident's services with an SLO, the error ratio between impact start (or the
declaration) and the resolve, as a share of the SLO window's budget:

    consumed = ratio over the incident / (1 - objective) × incident length / SLO window

Read once when the incident is resolved and kept on its timeline, so the postmortem needs
no Prometheus. Sloth's and Pyrra's SLOs are averaged from their shortest recorded ratio;
METRICS_CONFIG's are computed from the request counters' increase.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from bot.metrics.backend import InstantResult
from bot.metrics.config import SloConfig
from bot.metrics.judging import finite
from bot.metrics.models import objective_text, percent
from bot.metrics.promql import Query, matchers, service_selector
from bot.metrics.slos import (
    PYRRA_OBJECTIVE,
    PYRRA_WINDOW,
    SLOTH_OBJECTIVE,
    SLOTH_PERIOD,
    configured,
    days_text,
    seconds,
)

if TYPE_CHECKING:
    from bot.metrics.reader import MetricsReader


class BudgetUse(BaseModel):
    model_config = ConfigDict(frozen=True)

    service: str
    objective: float  # 0.999
    window: str  # the SLO's window, "30d"
    ratio: float  # errors / requests over the incident
    span: timedelta  # the incident's length
    consumed: float  # share of the window's error budget the incident spent

    def describe(self) -> str:
        minutes = max(1, round(self.span.total_seconds() / 60))
        return (
            f"{self.service}: {percent(self.consumed)} of its {self.window} "
            f"{objective_text(self.objective)} error budget ({percent(self.ratio)} of "
            f"requests failed over {minutes} min)"
        )


Found = tuple[str, float, float, str]  # raw service, objective, ratio, window
Parse = Callable[[InstantResult | None], list[Found]]


async def budget_consumed(
    svc: MetricsReader, services: list[str], start: datetime, end: datetime
) -> list[BudgetUse]:
    """What each service's SLO budget lost between `start` and `end` (services without an
    SLO, or without data, are left out). One query per SLO kind and server."""
    span = max(end - start, timedelta(minutes=1))
    rng = f"{int(span.total_seconds())}s"
    fleet = await svc.fleet()
    asks: list[tuple[str, str, Parse]] = []
    for m in fleet.up:
        b = m.bindings
        assert b is not None
        raw = fleet.raw_services(m.name, [s for s in services if s in fleet.services])
        keys = {s: k for s in raw if (k := configured(svc.config, s, fleet.display(m.name, s)))}
        for r in b.requests:
            label = b.label_of(r)
            mine = [s for s in keys if b.requests_for(s) is r]
            if label and mine:
                sel = service_selector(label, mine)
                err, every = matchers(sel, r.error_selector), matchers(sel)
                promql = (
                    f"sum by ({label}) (increase({r.metric}{err}[{rng}])) / "
                    f"sum by ({label}) (increase({r.metric}{every}[{rng}]))"
                )
                slos = {s: svc.config.slos[keys[s]] for s in mine}
                asks.append((m.name, promql, _config_parser(label, slos)))
        for slo in b.slos:
            mine = [s for s in raw if s in slo.services and s not in keys]
            if not mine:
                continue
            if slo.kind == "sloth":
                sel = matchers(service_selector("sloth_service", mine))
                promql = (
                    f"avg_over_time(slo:sli_error:ratio_rate5m{sel}[{rng}])"
                    f" or {SLOTH_OBJECTIVE}{sel} or {SLOTH_PERIOD}{sel}"
                )
                asks.append((m.name, promql, _sloth_parser(set(mine))))
            elif slo.metrics:
                label = slo.service_label or "slo"
                sel = matchers(service_selector(label, mine))
                promql = (
                    f"avg_over_time({slo.metrics[0]}{sel}[{rng}])"
                    f" or {PYRRA_OBJECTIVE} or {PYRRA_WINDOW}"
                )
                asks.append((m.name, promql, _pyrra_parser(label, set(mine), slo.objectives)))
    outcomes = await asyncio.gather(
        *(svc.runner(member).run({"q": Query(promql=q, key=None)}, end) for member, q, _ in asks)
    )
    uses: list[BudgetUse] = []
    for (member, _, parse), out in zip(asks, outcomes, strict=True):
        for service, objective, ratio, window in parse(out.results.get("q")):
            if not 0 < objective < 1:
                continue
            share = ratio / (1 - objective) * span.total_seconds() / seconds(window)
            uses.append(
                BudgetUse(
                    service=fleet.display(member, service),
                    objective=objective,
                    window=window,
                    ratio=ratio,
                    span=span,
                    consumed=share,
                )
            )
    return sorted(uses, key=lambda u: (-u.consumed, u.service))


def _config_parser(label: str, slos: dict[str, SloConfig]) -> Parse:
    def parse(result: InstantResult | None) -> list[Found]:
        found: list[Found] = []
        for s in result.samples if result else []:
            service = s.labels.get(label, "")
            if service in slos and (ratio := finite(s.value)) is not None:
                found.append((service, slos[service].objective / 100, ratio, slos[service].window))
        return found

    return parse


def _sloth_parser(services: set[str]) -> Parse:
    def parse(result: InstantResult | None) -> list[Found]:
        ratio: dict[tuple[str, str], float] = {}
        objective: dict[tuple[str, str], float] = {}
        days: dict[tuple[str, str], float] = {}
        for s in result.samples if result else []:
            key = (s.labels.get("sloth_service", ""), s.labels.get("sloth_slo", ""))
            if key[0] not in services or (v := finite(s.value)) is None:
                continue
            name = s.labels.get("__name__")
            table = {SLOTH_OBJECTIVE: objective, SLOTH_PERIOD: days}.get(name or "", ratio)
            table[key] = v
        return [
            (key[0], objective[key], r, f"{days.get(key, 30):g}d")
            for key, r in sorted(ratio.items())
            if key in objective
        ]

    return parse


def _pyrra_parser(label: str, services: set[str], objectives: dict[str, float]) -> Parse:
    def parse(result: InstantResult | None) -> list[Found]:
        objective = dict(objectives)
        window: dict[str, float] = {}
        ratio: dict[tuple[str, str], float] = {}
        for s in result.samples if result else []:
            slo, name = s.labels.get("slo", ""), s.labels.get("__name__")
            if (v := finite(s.value)) is None:
                continue
            if name == PYRRA_OBJECTIVE:
                objective[slo] = v
            elif name == PYRRA_WINDOW:
                window[slo] = v
            elif s.labels.get(label, "") in services:
                ratio[(s.labels[label], slo)] = v
        return [
            (service, objective[slo], r, days_text(window.get(slo)))
            for (service, slo), r in sorted(ratio.items())
            if slo in objective
        ]

    return parse


def budget_text(uses: list[BudgetUse]) -> str:
    return "Error budget consumed: " + "; ".join(u.describe() for u in uses)
