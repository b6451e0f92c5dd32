"""The seed-000 scenario for a real Prometheus: OpenMetrics generator and a server helper.

Timeline (30 s grid, k = 0 is `ramp_start`, the correlation table's "0s" row):

- start = ramp_start - 20 min … ramp_start: healthy (0.10 / 0.05 errors/s, P99 150 / 200 ms,
  45/100 connections, api-server CPU 35 %, memory 50 %);
- ramp_start + 30 s … + 120 s: the seed's correlation ramp (0.12 → 12.50 errors/s,
  52 → 98 connections, 160 → 2800 ms);
- from ramp_start + 120 s: the incident state (12.50 / 8.30 errors/s, 2800 / 3100 ms,
  98/100 connections, api-server CPU 85 %, web-service memory 78 %), until `now + extend`
  so that instant queries at "now" see the incident.

Counters are built so that `rate(x[1m])` evaluated ON the grid returns exactly the table:
v(k) = v(k-2) + 60·R(k) during the ramp, linear before and after it.  P99 comes from
histogram buckets whose cumulative fractions put the 0.99 rank at the target by linear
interpolation inside the target's bucket.

`PrometheusServer` backfills the data with `promtool tsdb create-blocks-from openmetrics`
and runs `prometheus` on a free 127.0.0.1 port (no scrape targets, temporary data dir).
Missing binaries raise PrometheusNotInstalled: tests must fail, never skip.
"""

from __future__ import annotations

import json
import math
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

STEP = 30  # seconds between samples
HEALTHY_BEFORE = 40  # grid steps of healthy data before ramp_start (20 min)
RAMP_STEPS = 4  # ramp rows after "0s": 30s, 60s, 90s, 120s
BUCKETS: tuple[float, ...] = (100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, math.inf)

# Per phase: index 0 = healthy (and the "0s" row), 1-4 = ramp rows 30s-120s, 5 = incident.
API = "api-server"
WEB = "web-service"
ERRORS = {
    API: (0.10, 0.12, 1.20, 6.50, 12.50, 12.50),
    WEB: (0.05, 0.05, 0.30, 3.00, 8.30, 8.30),
}
REQUESTS = {  # total requests/s (traffic spike: 2.5x on api-server)
    API: (20.0, 24.0, 32.0, 42.0, 50.0, 50.0),
    WEB: (30.0, 32.0, 36.0, 40.0, 48.0, 48.0),
}
P99_MS = {
    API: (150.0, 160.0, 450.0, 1200.0, 2800.0, 2800.0),
    WEB: (200.0, 210.0, 600.0, 1500.0, 3100.0, 3100.0),
}
CPU = {API: (0.35, 0.40, 0.55, 0.72, 0.85, 0.85), WEB: (0.30, 0.32, 0.38, 0.45, 0.55, 0.55)}
MEMORY = {API: (0.50, 0.50, 0.53, 0.57, 0.60, 0.60), WEB: (0.45, 0.48, 0.60, 0.70, 0.78, 0.78)}
DB_ACTIVE = (45.0, 52.0, 75.0, 92.0, 98.0, 98.0)
DB_WAITING = (0.0, 0.0, 3.0, 18.0, 37.0, 37.0)
DB_MAX = 100.0


@dataclass(frozen=True)
class ScenarioTimes:
    start: datetime  # first sample
    healthy_at: datetime  # a moment in the healthy state (rate windows fully healthy)
    ramp_start: datetime  # the correlation table's "0s" row
    ramp_end: datetime  # its "120s" row ([INCIDENT])
    incident_at: datetime  # a moment in the steady incident state
    now: datetime  # the "now" the data was generated for (incident state)
    end: datetime  # last sample


def scenario_times(
    now: datetime | None = None, extend: timedelta = timedelta(hours=1)
) -> ScenarioTimes:
    current = (now or datetime.now(UTC)).astimezone(UTC)
    ramp = datetime.fromtimestamp(math.floor(current.timestamp()) - 600, UTC)
    return ScenarioTimes(
        start=ramp - timedelta(seconds=STEP * HEALTHY_BEFORE),
        healthy_at=ramp - timedelta(minutes=5),
        ramp_start=ramp,
        ramp_end=ramp + timedelta(seconds=STEP * RAMP_STEPS),
        incident_at=ramp + timedelta(minutes=5),
        now=ramp + timedelta(minutes=10),
        end=ramp + timedelta(minutes=10) + extend,
    )


def _phase(k: int) -> int:
    return 0 if k <= 0 else min(k, RAMP_STEPS + 1)


def counter_values(rates: tuple[float, ...], ks: range, base: float = 10_000.0) -> list[float]:
    """Counter values on the grid ks so that rate[1m] at grid point k equals rates[phase(k)]
    for every k up to the end of the ramp, and the rate is steady after it."""
    k0 = ks.start
    values: dict[int, float] = {}
    for k in ks:
        if k <= 0:
            v = base + rates[0] * STEP * (k - k0)
        else:
            # each point is 1m (two steps) after the one it is rated against, so rate[1m]
            # is exact at every grid point, in the ramp and after it
            v = values[k - 2] + 2 * STEP * rates[_phase(k)]
        if k - 1 in values and v < values[k - 1]:
            raise ValueError(f"counter would decrease at step {k}: rates {rates}")
        values[k] = v
    return [values[k] for k in ks]


def bucket_fractions(p99: float) -> list[float]:
    """Cumulative fractions per BUCKETS bound so that histogram_quantile(0.99) == p99."""
    upper_i = next(i for i, b in enumerate(BUCKETS) if p99 < b)
    lower = 0.0 if upper_i == 0 else BUCKETS[upper_i - 1]
    upper = BUCKETS[upper_i]
    a = (p99 - lower) / (upper - lower)
    below = (0.99 - a) / (1 - a)  # mass at or below `lower`
    if not 0 <= below < 1:
        raise ValueError(f"cannot place P99 {p99} in bucket ({lower}, {upper}]")
    return [below if b <= lower else 1.0 for b in BUCKETS]


def _fmt_le(b: float) -> str:
    return "+Inf" if math.isinf(b) else f"{b:g}"


def generate_openmetrics(
    now: datetime | None = None, extend: timedelta = timedelta(hours=1)
) -> tuple[str, ScenarioTimes]:
    """The scenario as OpenMetrics text (timestamps in seconds, final `# EOF`)."""
    times = scenario_times(now, extend)
    ramp_ts = int(times.ramp_start.timestamp())
    last_k = int((times.end - times.ramp_start).total_seconds()) // STEP
    ks = range(-HEALTHY_BEFORE, last_k + 1)
    stamps = [ramp_ts + STEP * k for k in ks]
    out: list[str] = []

    def series(name: str, labels: str, values: list[float]) -> None:
        for ts, v in zip(stamps, values, strict=True):
            out.append(f"{name}{{{labels}}} {v!r} {ts}")

    def gauge(per_phase: tuple[float, ...]) -> list[float]:
        return [per_phase[_phase(k)] for k in ks]

    services = (API, WEB)
    out.append("# TYPE up gauge")
    for s in services:
        series("up", f'service="{s}"', [1.0] * len(ks))

    out.append("# TYPE http_requests counter")
    for s in services:
        errors = ERRORS[s]
        ok = tuple(q - e for q, e in zip(REQUESTS[s], errors, strict=True))
        series("http_requests_total", f'service="{s}",status="200"', counter_values(ok, ks))
        series("http_requests_total", f'service="{s}",status="500"', counter_values(errors, ks))

    out.append("# TYPE http_request_duration_milliseconds histogram")
    for s in services:
        fractions = [bucket_fractions(p) for p in P99_MS[s]]
        for i, b in enumerate(BUCKETS):
            rates = tuple(q * f[i] for q, f in zip(REQUESTS[s], fractions, strict=True))
            series(
                "http_request_duration_milliseconds_bucket",
                f'service="{s}",le="{_fmt_le(b)}"',
                counter_values(rates, ks),
            )
        series(
            "http_request_duration_milliseconds_count",
            f'service="{s}"',
            counter_values(REQUESTS[s], ks),
        )
        sums = tuple(q * p * 0.4 for q, p in zip(REQUESTS[s], P99_MS[s], strict=True))
        series(
            "http_request_duration_milliseconds_sum",
            f'service="{s}"',
            counter_values(sums, ks, base=1e7),
        )

    for name, per_phase in (
        ("db_connections_active", DB_ACTIVE),
        ("db_connections_waiting", DB_WAITING),
        ("db_connections_max", (DB_MAX,) * (RAMP_STEPS + 2)),
    ):
        out.append(f"# TYPE {name} gauge")
        series(name, 'database="primary"', gauge(per_phase))

    for name, table in (
        ("container_cpu_usage_ratio", CPU),
        ("container_memory_usage_ratio", MEMORY),
    ):
        out.append(f"# TYPE {name} gauge")
        for s in services:
            series(name, f'service="{s}"', gauge(table[s]))

    out.append("# EOF")
    return "\n".join(out) + "\n", times


class PrometheusNotInstalled(RuntimeError):
    """`prometheus` or `promtool` is not on PATH."""


def find_binaries() -> tuple[str, str]:
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if not prometheus or not promtool:
        missing = [n for n, p in (("prometheus", prometheus), ("promtool", promtool)) if not p]
        raise PrometheusNotInstalled(
            f"{' and '.join(missing)} not found on PATH: install the Debian package "
            "'prometheus' (apt-get install prometheus); the metrics tests need the real binaries"
        )
    return prometheus, promtool


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


EMPTY_CONFIG = """global:
  scrape_interval: 1h
  evaluation_interval: 1h
scrape_configs: []
"""


class PrometheusServer:
    """A real Prometheus serving the backfilled seed-000 scenario (context manager).

        with PrometheusServer() as prom:
            prom.url, prom.times.incident_at
    """

    def __init__(
        self,
        *,
        now: datetime | None = None,
        extend: timedelta = timedelta(hours=1),
        openmetrics: Callable[[], tuple[str, ScenarioTimes]] | None = None,
        workdir: Path | None = None,
        ready_timeout: float = 30.0,
        scrape_metadata: str | None = None,
        rules: str | None = None,
        evaluation_interval: str = "1s",
    ) -> None:
        self._make = openmetrics or (lambda: generate_openmetrics(now, extend))
        # OpenMetrics text (# TYPE / # UNIT lines and a sample per family) served over HTTP
        # and scraped, because a backfilled TSDB has no metadata (see DESIGN.md).
        self._scrape_text = scrape_metadata
        # A rules file Prometheus evaluates every second. Rule results are written at the
        # evaluation time, and a TSDB refuses samples older than its newest block's end:
        # backfill data that ends at "now" (extend=0), never into the future (see DESIGN.md).
        self._rules = rules
        self._evaluation_interval = evaluation_interval
        self._exporter: ThreadingHTTPServer | None = None
        self._workdir = workdir
        self._ready_timeout = ready_timeout
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.times: ScenarioTimes | None = None
        self.backfill_seconds = 0.0
        self.startup_seconds = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> PrometheusServer:
        prometheus, promtool = find_binaries()
        if self._workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="prom-scenario-")
            base = Path(self._tmp.name)
        else:
            base = self._workdir
            base.mkdir(parents=True, exist_ok=True)
        text, self.times = self._make()
        data_file = base / "scenario.om"
        data_file.write_text(text, encoding="utf-8")
        data_dir = base / "data"
        started = time.monotonic()
        done = subprocess.run(
            [promtool, "tsdb", "create-blocks-from", "openmetrics", str(data_file), str(data_dir)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"promtool backfill failed: {done.stderr.strip() or done.stdout}")
        self.backfill_seconds = time.monotonic() - started
        config = base / "prometheus.yml"
        text = self._config()
        if self._rules is not None:
            (base / "rules.yml").write_text(self._rules, encoding="utf-8")
            interval = f"evaluation_interval: {self._evaluation_interval}"
            text = text.replace("evaluation_interval: 1h", interval)
            text += f"rule_files: ['{base / 'rules.yml'}']\n"
        config.write_text(text, encoding="utf-8")
        self.port = free_port()
        log = (base / "prometheus.log").open("wb")
        started = time.monotonic()
        self._proc = subprocess.Popen(
            [
                prometheus,
                f"--config.file={config}",
                f"--storage.tsdb.path={data_dir}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=30d",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self._wait_ready(base / "prometheus.log")
        if self._scrape_text is not None:
            self._wait_metadata()
        self.startup_seconds = time.monotonic() - started
        return self

    def _config(self) -> str:
        if self._scrape_text is None:
            return EMPTY_CONFIG
        text = self._scrape_text.encode()

        class Exporter(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header(
                    "Content-Type", "application/openmetrics-text; version=1.0.0; charset=utf-8"
                )
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *args: object) -> None:
                pass

        self._exporter = ThreadingHTTPServer(("127.0.0.1", 0), Exporter)
        threading.Thread(target=self._exporter.serve_forever, daemon=True).start()
        port = self._exporter.server_address[1]
        return (
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1h\n"
            "scrape_configs:\n  - job_name: exporter-metadata\n    honor_labels: true\n"
            f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
        )

    def wait_for_series(self, promql: str, timeout: float = 30.0) -> None:
        """Until `promql` has a result now (e.g. a recording rule's first evaluation)."""
        deadline = time.monotonic() + timeout
        query = urllib.parse.urlencode({"query": promql})
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"{self.url}/api/v1/query?{query}", timeout=2) as resp:
                if json.loads(resp.read())["data"]["result"]:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"prometheus has no result for {promql} after {timeout:g}s")

    def _wait_metadata(self) -> None:
        deadline = time.monotonic() + self._ready_timeout
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"{self.url}/api/v1/metadata", timeout=1) as resp:
                if json.loads(resp.read()).get("data"):
                    return
            time.sleep(0.2)
        raise RuntimeError("prometheus scraped no metadata from the exporter stand-in")

    def _wait_ready(self, log: Path) -> None:
        deadline = time.monotonic() + self._ready_timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"prometheus exited with {self._proc.returncode}: {tail}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"prometheus not ready after {self._ready_timeout:g}s")

    def stop(self) -> None:
        if self._exporter is not None:
            self._exporter.shutdown()
            self._exporter.server_close()
            self._exporter = None
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> PrometheusServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
