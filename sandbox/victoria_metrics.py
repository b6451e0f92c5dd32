"""A real VictoriaMetrics (Debian's `victoria-metrics`, single node) on a free 127.0.0.1
port with a temporary data dir, loaded through its import API
(`/api/v1/import/prometheus`, the text format with millisecond timestamps) from the same
OpenMetrics scenarios the Prometheus tests backfill, then flushed so queries see it.

VictoriaMetrics answers the Prometheus query API; `/api/v1/metadata` and `/api/v1/rules`
answer empty (rules live in vmalert). A missing binary raises: tests fail, never skip.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from sandbox.prometheus_scenario import ScenarioTimes, free_port

CHUNK_LINES = 50_000


class VictoriaMetricsNotInstalled(RuntimeError):
    """`victoria-metrics` is not on PATH."""


def find_binary() -> str:
    found = shutil.which("victoria-metrics") or shutil.which("victoria-metrics-prod")
    if not found:
        raise VictoriaMetricsNotInstalled(
            "victoria-metrics not found on PATH: install the Debian package 'victoria-metrics' "
            "(apt-get install victoria-metrics); the metrics tests need the real binary"
        )
    return found


def import_lines(openmetrics: str) -> list[str]:
    """OpenMetrics samples (timestamps in seconds) as Prometheus text lines (milliseconds)."""
    out: list[str] = []
    for line in openmetrics.splitlines():
        if not line or line.startswith("#"):
            continue
        head, value, ts = line.rsplit(" ", 2)
        out.append(f"{head} {value} {int(float(ts) * 1000)}")
    return out


class VictoriaMetricsServer:
    """with VictoriaMetricsServer(openmetrics=generator) as vm: vm.url, vm.times"""

    def __init__(
        self,
        *,
        openmetrics: Callable[[], tuple[str, ScenarioTimes]],
        ready_timeout: float = 30.0,
    ) -> None:
        self._make = openmetrics
        self._ready_timeout = ready_timeout
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.times: ScenarioTimes | None = None
        self.samples = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> VictoriaMetricsServer:
        binary = find_binary()
        self._tmp = tempfile.TemporaryDirectory(prefix="vm-scenario-")
        base = Path(self._tmp.name)
        self.port = free_port()
        log = (base / "victoria-metrics.log").open("wb")
        self._proc = subprocess.Popen(
            [
                binary,
                f"-storageDataPath={base / 'data'}",
                f"-httpListenAddr=127.0.0.1:{self.port}",
                "-retentionPeriod=100y",
                "-search.latencyOffset=0s",  # answer for "now" from the samples at now
                "-search.disableCache",
                "-loggerLevel=ERROR",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self._wait_ready(base / "victoria-metrics.log")
        text, self.times = self._make()
        lines = import_lines(text)
        for i in range(0, len(lines), CHUNK_LINES):
            body = ("\n".join(lines[i : i + CHUNK_LINES]) + "\n").encode()
            self._post("/api/v1/import/prometheus", body)
        self.samples = len(lines)
        self._post("/internal/force_flush", b"", method="GET")
        return self

    def _post(self, path: str, body: bytes, method: str = "POST") -> None:
        req = urllib.request.Request(
            f"{self.url}{path}", data=body if method == "POST" else None, method=method
        )
        with urllib.request.urlopen(req, timeout=60) as resp:
            if resp.status >= 300:
                raise RuntimeError(f"victoria-metrics {path} answered {resp.status}")

    def _wait_ready(self, log: Path) -> None:
        deadline = time.monotonic() + self._ready_timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"victoria-metrics exited with {self._proc.returncode}: {tail}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"victoria-metrics not ready after {self._ready_timeout:g}s")

    def stop(self) -> None:
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

    def __enter__(self) -> VictoriaMetricsServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
