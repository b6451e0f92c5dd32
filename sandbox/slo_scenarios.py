"""A fleet whose teams run SLOs, in the client libraries' defaults (the service in `job`),
under names that appear nowhere in bot/ or commands/:

- tidepool-api: Sloth SLO 99.9%; 0.05% errors, then 5% for the last ten minutes: it burns
  fast in every window (page-worthy);
- kelp-router: Pyrra SLO 99%; 4% errors all along: a slow, steady burn (ticket-worthy);
- reef-ledger: an SLO of 99.5% given in METRICS_CONFIG; busy (3,000 requests/s) with 0.1%
  errors: 3 errors/s is HIGH by the absolute band, yet it burns only 0.2× its budget;
- coral-web: no SLO.

Prometheus evaluates the rules itself, so the data must end at "now" (`generate(…,
extend=timedelta(0))`): a TSDB refuses rule results older than its newest block's end.
"""

from __future__ import annotations

from sandbox.scenario_kit import Scenario, Svc, _ok, _Writer, ramp, steady
from sandbox.slo_rules import RatioSlo, pyrra_rules, rules_file, sloth_rules

SERVICES: tuple[Svc, ...] = (
    Svc("tidepool-api", steady(40.0), ramp(0.02, 2.0), steady(120.0), steady(0.2), steady(0)),
    Svc("kelp-router", steady(50.0), steady(2.0), steady(90.0), steady(0.2), steady(0)),
    Svc("reef-ledger", steady(3000.0), steady(3.0), steady(60.0), steady(0.2), steady(0)),
    Svc("coral-web", steady(20.0), steady(0.01), steady(150.0), steady(0.2), steady(0)),
)
ERRORS = 'code=~"5.."'
SLOTH = [
    RatioSlo(
        "tidepool-api",
        "requests-availability",
        99.9,
        "http_requests_total",
        'job="tidepool-api"',
        ERRORS,
    ),
]
PYRRA = [
    RatioSlo(
        "kelp-router",
        "kelp-router-availability",
        99.0,
        "http_requests_total",
        'job="kelp-router"',
        ERRORS,
    ),
]
RULES = rules_file(sloth_rules(SLOTH), pyrra_rules(PYRRA))
METRICS_CONFIG = "slos:\n  reef-ledger: {objective: 99.5, window: 30d}\nrate_window: 5m\n"


def _write(sc: Scenario, w: _Writer) -> None:
    w.family("http_requests", "counter")
    w.family("http_request_duration_seconds", "histogram", "seconds")
    for s in sc.services:
        w.series(
            "http_requests_total",
            {"job": s.name, "code": "200"},
            w.counter(_ok(s.requests, s.errors)),
        )
        w.series("http_requests_total", {"job": s.name, "code": "503"}, w.counter(s.errors))
        w.histogram(
            "http_request_duration_seconds", [({"job": s.name}, s.requests)], s.p99_ms, 0.001
        )
    w.family("up", "gauge")
    for s in sc.services:
        w.series("up", {"job": s.name}, w.gauge(steady(1.0)))


SLOS = Scenario(
    name="slos",
    description="SLOs recorded by Sloth and Pyrra rules, and one given in METRICS_CONFIG",
    services=SERVICES,
    declare_services=("tidepool-api",),
    write=_write,
)
