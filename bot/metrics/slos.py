"""SLOs and burn rates: the team's own SLOs where they already are (Sloth's and Pyrra's
recording rules) or in METRICS_CONFIG (`slos:`, computed from the request family), read
in one query per kind, and judged by the multiwindow, multi-burn-rate rule of the Google
SRE workbook (chapter "Alerting on SLOs").

A burn rate is the error ratio over a window divided by the error budget (1 - objective):
1× spends the budget exactly over the SLO's window, 14.4× spends 2% of a 30-day budget in
an hour.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Literal

from bot.metrics.backend import InstantResult
from bot.metrics.bindings import Bindings, RequestsBinding, SloBinding
from bot.metrics.config import MetricsConfig, SloConfig
from bot.metrics.models import SloReading, Verdict
from bot.metrics.promql import Query, matchers, service_selector

WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
# (burn rate, long window, short window, verdict): both windows at or above the rate
PAIRS: tuple[tuple[float, str, str, Verdict], ...] = (
    (14.4, "1h", "5m", Verdict.CRITICAL),
    (6.0, "6h", "30m", Verdict.CRITICAL),
    (3.0, "1d", "2h", Verdict.HIGH),
    (1.0, "3d", "6h", Verdict.HIGH),
)
SLOTH_RATIO = "slo:sli_error:ratio_rate"
SLOTH_OBJECTIVE = "slo:objective:ratio"
SLOTH_REMAINING = "slo:period_error_budget_remaining:ratio"
SLOTH_PERIOD = "slo:time_period:days"
PYRRA_BURN = re.compile(r"^(?P<metric>[A-Za-z_:][\w:]*?):burnrate(?P<window>(\d+[smhdwy])+)$")
PYRRA_OBJECTIVE = "pyrra_objective"
PYRRA_WINDOW = "pyrra_window"
PYRRA_AVAILABILITY = "pyrra_availability"
PYRRA_TARGET = re.compile(r"\(1\s*-\s*(0?\.\d+|1(?:\.0+)?)\)")  # `> (14 * (1-0.99))`
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def seconds(duration: str) -> float:
    """A Prometheus duration, compound ones too (`1h4m`)."""
    parts = re.findall(r"(\d+)(ms|[smhdwy])", duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise ValueError(f"{duration!r} is not a Prometheus duration")
    return sum(int(n) * _UNITS[u] for n, u in parts)


def burn_verdict(burn: dict[str, float]) -> Verdict:
    for rate, long, short, verdict in PAIRS:
        if long in burn and short in burn and burn[long] >= rate and burn[short] >= rate:
            return verdict
    return Verdict.OK


def canonical(recorded: Sequence[str]) -> dict[str, str]:
    """Recorded windows (Pyrra scales its windows to the SLO's, e.g. 1h4m for 30d) mapped
    to the workbook's: by position when there are seven, else each to the nearest."""
    ordered = sorted(set(recorded), key=seconds)
    if len(ordered) == len(WINDOWS):
        return dict(zip(ordered, WINDOWS, strict=True))
    out: dict[str, str] = {}
    for w in ordered:
        near = min(WINDOWS, key=lambda c: abs(math.log(seconds(w) / seconds(c))))
        if near not in out.values():
            out[w] = near
    return out


# --- queries (one per kind of SLO and server) ---------------------------------------


def sloth_query(services: list[str] | None) -> Query:
    names = f"{SLOTH_RATIO}.+|{SLOTH_OBJECTIVE}|{SLOTH_REMAINING}"
    sel = service_selector("sloth_service", services) or 'sloth_service!=""'
    return Query(promql=f'{{__name__=~"{names}", {sel}}}', key="sloth_service")


def pyrra_queries(b: SloBinding, services: list[str] | None) -> dict[str, Query]:
    label = b.service_label or "slo"
    sel = service_selector(label, services) or f'{label}!=""'
    return {
        "burn": Query(promql=f'{{__name__=~".+:burnrate.+", {sel}, slo!=""}}', key=label),
        "objective": Query(
            promql=f'{{__name__=~"{PYRRA_OBJECTIVE}|{PYRRA_WINDOW}|{PYRRA_AVAILABILITY}"}}',
            key="slo",
        ),
    }


def config_query(
    b: Bindings, r: RequestsBinding, slos: dict[str, SloConfig], services: list[str]
) -> Query | None:
    """The error ratio of `services` over every window (and each SLO's own window) in one
    query: one `sum by (label)` ratio per window, tagged with a `window` label."""
    label = b.label_of(r)
    if label is None or not services:
        return None
    sel = service_selector(label, services)
    windows = list(dict.fromkeys([*WINDOWS, *(slos[s].window for s in services)]))
    parts = [
        f"label_replace(sum by ({label}) (rate({r.metric}{matchers(sel, r.error_selector)}[{w}]))"
        f' / sum by ({label}) (rate({r.metric}{matchers(sel)}[{w}])), "window", "{w}", "", "")'
        for w in windows
    ]
    return Query(promql=" or ".join(parts), key=label)


# --- readings ----------------------------------------------------------------------------


def _finite(v: float) -> float | None:
    return None if math.isnan(v) or math.isinf(v) else v


def _reading(
    service: str,
    name: str,
    source: Literal["sloth", "pyrra", "config"],
    objective: float,
    window: str,
    ratios: dict[str, float],
    budget_left: float | None,
) -> SloReading | None:
    if not 0 < objective < 1:
        return None
    budget = 1.0 - objective
    burn = {w: ratios[w] / budget for w in WINDOWS if w in ratios}
    return SloReading(
        service=service,
        name=name,
        source=source,
        objective=objective,
        window=window,
        burn=burn,
        budget_left=budget_left,
        verdict=burn_verdict(burn),
    )


def sloth_readings(result: InstantResult | None, services: set[str]) -> list[SloReading]:
    found: dict[tuple[str, str], dict[str, float]] = {}
    objective: dict[tuple[str, str], float] = {}
    remaining: dict[tuple[str, str], float] = {}
    for s in result.samples if result else []:
        key = (s.labels.get("sloth_service", ""), s.labels.get("sloth_slo", ""))
        if key[0] not in services or (v := _finite(s.value)) is None:
            continue
        name = s.labels.get("__name__", "")
        if name == SLOTH_OBJECTIVE:
            objective[key] = v
        elif name == SLOTH_REMAINING:
            remaining[key] = v
        elif name.startswith(SLOTH_RATIO):
            found.setdefault(key, {})[name.removeprefix(SLOTH_RATIO)] = v
    readings: list[SloReading] = []
    for key in sorted(objective):
        ratios = found.get(key, {})
        period = [w for w in ratios if w not in WINDOWS]
        window = max(period, key=seconds) if period else "30d"
        left = remaining.get(key)
        if left is None and period:
            left = 1.0 - ratios[window] / (1.0 - objective[key])
        reading = _reading(key[0], key[1], "sloth", objective[key], window, ratios, left)
        if reading is not None:
            readings.append(reading)
    return readings


def pyrra_readings(
    b: SloBinding, burn: InstantResult | None, meta: InstantResult | None, services: set[str]
) -> list[SloReading]:
    label = b.service_label or "slo"
    objective = dict(b.objectives)
    window_s: dict[str, float] = {}
    available: dict[str, float] = {}
    for s in meta.samples if meta else []:
        slo, name = s.labels.get("slo", ""), s.labels.get("__name__", "")
        if (v := _finite(s.value)) is None:
            continue
        if name == PYRRA_OBJECTIVE:
            objective[slo] = v
        elif name == PYRRA_WINDOW:
            window_s[slo] = v
        elif name == PYRRA_AVAILABILITY:
            available[slo] = v
    found: dict[tuple[str, str], dict[str, float]] = {}
    for s in burn.samples if burn else []:
        m = PYRRA_BURN.match(s.labels.get("__name__", ""))
        key = (s.labels.get(label, ""), s.labels.get("slo", ""))
        if m and key[0] in services and (v := _finite(s.value)) is not None:
            found.setdefault(key, {})[m.group("window")] = v
    readings: list[SloReading] = []
    for (service, slo), recorded in sorted(found.items()):
        if slo not in objective:
            continue
        names = canonical(list(recorded))
        ratios = {names[w]: v for w, v in recorded.items() if w in names}
        obj = objective[slo]
        left = None
        if slo in available and obj < 1:
            left = 1.0 - (1.0 - available[slo]) / (1.0 - obj)
        window = days_text(window_s.get(slo))
        reading = _reading(service, slo, "pyrra", obj, window, ratios, left)
        if reading is not None:
            readings.append(reading)
    return readings


def days_text(window_seconds: float | None) -> str:
    if not window_seconds:
        return "28d"
    days = window_seconds / 86400
    return f"{days:g}d" if days == int(days) else f"{window_seconds:g}s"


def config_readings(
    result: InstantResult | None, label: str, slos: dict[str, SloConfig], names: dict[str, str]
) -> list[SloReading]:
    """`names`: raw service name -> the SLO key it was configured under."""
    ratios: dict[str, dict[str, float]] = {}
    for s in result.samples if result else []:
        service, window = s.labels.get(label, ""), s.labels.get("window", "")
        if service in names and (v := _finite(s.value)) is not None:
            ratios.setdefault(service, {})[window] = v
    readings: list[SloReading] = []
    for service, key in sorted(names.items()):
        slo = slos[key]
        got = ratios.get(service, {})
        objective = slo.objective / 100.0
        left = 1.0 - got[slo.window] / (1.0 - objective) if slo.window in got else None
        reading = _reading(service, "availability", "config", objective, slo.window, got, left)
        if reading is not None:
            readings.append(reading)
    return readings


def configured(config: MetricsConfig, raw: str, shown: str) -> str | None:
    """The METRICS_CONFIG SLO key naming a service (by its shown or its own name)."""
    for key in (shown, raw):
        if key in config.slos:
            return key
    return None
