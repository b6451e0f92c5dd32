"""Rules files in the shapes Sloth and Pyrra generate (recording rules and the alerts
that carry Pyrra's objective), for a real Prometheus to evaluate in the tests, the demo
and the bench. Names, labels and expressions follow the generators' own output: Sloth's
examples/_gen/*.yml and Pyrra's slo/rules.go."""

from __future__ import annotations

from dataclasses import dataclass

SLOTH_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
PYRRA_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "4d")  # Pyrra's for a 4w SLO


@dataclass(frozen=True)
class RatioSlo:
    """An availability SLO over a request counter: errors / total."""

    service: str
    name: str
    objective: float  # percent, e.g. 99.9
    metric: str  # the counter, e.g. http_requests_total
    selector: str  # the service's matcher, e.g. job="tidepool-api"
    errors: str  # the failure matcher, e.g. code=~"5.."


def _ratio(slo: RatioSlo, window: str, by: str = "") -> str:
    group = f"sum{f' by ({by})' if by else ''}"
    return (
        f"({group}(rate({slo.metric}{{{slo.selector},{slo.errors}}}[{window}])))\n"
        f"/\n({group}(rate({slo.metric}{{{slo.selector}}}[{window}])))"
    )


def _yaml_expr(expr: str, indent: int) -> str:
    pad = " " * indent
    return "|\n" + "\n".join(pad + line for line in expr.splitlines())


def sloth_rules(slos: list[RatioSlo], period: str = "30d") -> str:
    """Sloth's SLI recordings (one per window, plus the period's from the 5m one) and meta
    recordings for each SLO."""
    out = ["groups:"]
    for slo in slos:
        sid = f"{slo.service}-{slo.name}"
        ids = f'sloth_id="{sid}", sloth_service="{slo.service}", sloth_slo="{slo.name}"'
        labels = (
            f"      sloth_id: {sid}\n      sloth_service: {slo.service}\n"
            f"      sloth_slo: {slo.name}\n"
        )
        out.append(f"- name: sloth-slo-sli-recordings-{sid}\n  rules:")
        for w in SLOTH_WINDOWS:
            expr = _yaml_expr(_ratio(slo, w), 6)
            out.append(
                f"  - record: slo:sli_error:ratio_rate{w}\n    expr: {expr}\n"
                f"    labels:\n{labels}      sloth_window: {w}"
            )
        period_expr = (
            f"sum_over_time(slo:sli_error:ratio_rate5m{{{ids}}}[{period}])\n"
            f"/ ignoring (sloth_window)\n"
            f"count_over_time(slo:sli_error:ratio_rate5m{{{ids}}}[{period}])"
        )
        expr = _yaml_expr(period_expr, 6)
        out.append(
            f"  - record: slo:sli_error:ratio_rate{period}\n    expr: {expr}\n"
            f"    labels:\n      sloth_window: {period}"
        )
        ratio = slo.objective / 100
        out.append(f"- name: sloth-slo-meta-recordings-{sid}\n  rules:")
        for record, expr in (
            ("slo:objective:ratio", f"vector({ratio!r})"),
            ("slo:error_budget:ratio", f"vector(1-{ratio!r})"),
            ("slo:time_period:days", f"vector({int(period.removesuffix('d'))})"),
        ):
            out.append(f"  - record: {record}\n    expr: {expr}\n    labels:\n{labels.rstrip()}")
    return "\n".join(out) + "\n"


def pyrra_rules(slos: list[RatioSlo], window: str = "4w", service_label: str = "job") -> str:
    """Pyrra's burn-rate recordings (named after the counter, labelled with the SLO's name
    and the selector's equality matchers), its generic objective and window recordings,
    and one of its alerts (which also states the objective)."""
    seconds = {"4w": 2419200, "30d": 2592000, "28d": 2419200}[window]
    out = ["groups:"]
    for slo in slos:
        base = slo.metric.removesuffix("_total").removesuffix("_count")
        service = slo.selector.split("=", 1)[1].strip('"')
        labels = f"      slo: {slo.name}\n      {service_label}: {service}"
        target = slo.objective / 100
        out.append(f"- name: {slo.name}\n  rules:")
        for w in PYRRA_WINDOWS:
            expr = _ratio(slo, w).replace("\n", " ")
            out.append(f"  - record: {base}:burnrate{w}\n    expr: {expr}\n    labels:\n{labels}")
        alert = (
            f'{base}:burnrate5m{{{slo.selector},slo="{slo.name}"}} > (14 * (1-{target!r})) and '
            f'{base}:burnrate1h{{{slo.selector},slo="{slo.name}"}} > (14 * (1-{target!r}))'
        )
        out.append(
            f"  - alert: ErrorBudgetBurn\n    expr: {alert}\n    for: 2m\n"
            f"    labels:\n{labels}\n      severity: critical\n      long: 1h\n      short: 5m"
        )
        out.append(f"- name: {slo.name}-generic\n  rules:")
        for record, value in (("pyrra_objective", repr(target)), ("pyrra_window", str(seconds))):
            out.append(
                f"  - record: {record}\n    expr: vector({value})\n"
                f"    labels:\n      slo: {slo.name}"
            )
    return "\n".join(out) + "\n"


def rules_file(*parts: str) -> str:
    """Several generators' files as one (each starts with `groups:`)."""
    groups = [p.split("\n", 1)[1] for p in parts if p.strip()]
    return "groups:\n" + "".join(groups)
