"""The status page when everyone hits refresh: `/status` (the HTML page) and
`/status/api/v2/summary.json` served by one `incident-bot serve` process at 1,000
requests/s, during an incident on a page of 20 components with 200 past incidents, measured
two ways: wrk paced by a `delay()` script (N connections each waiting N ms between
requests: a closed loop), and bench/openloop.py in its own process (a fixed arrival rate,
latency counted from when each request was due, so a stall cannot hide). Goals: p99 <= 50
ms and no errors, at the rate.

The page comes from the process's snapshot (rebuilt on change), never from Redis per
request; the bench publishes once more mid-run so a rebuild happens under load."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis as sync_redis

from bench import (
    INCIDENT_BOT,
    append_result,
    bot_env,
    free_port,
    log_path,
    start_process,
    stop_process,
    wait_http,
)

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
RATE = 1000
DELAY_MS = 50
CONNECTIONS = 53  # each waits DELAY_MS after an answer: 53 / (50 ms + ~2 ms) = ~1,000 req/s
SECONDS = 15
P99_GOAL_MS = 50.0
COMPONENTS = 20
PAST = 200
PATHS = ("/status", "/status/api/v2/summary.json")
BROWSER_ENCODINGS = "gzip, deflate, br, zstd"  # what Chrome and Firefox send


def components_file(directory: Path) -> Path:
    path = directory / "components.yml"
    lines = ["components:"]
    for i in range(COMPONENTS):
        lines += [f"  - name: Component {i:02d}", f"    group: Group {i // 5}",
                  f"    services: [svc-{i:02d}]"]
    path.write_text("\n".join(lines) + "\n")
    return path


async def seed(api_url: str, components: Path) -> None:
    """200 resolved public incidents over 90 days and one open one, written through the
    status page's own store (as publishes would have)."""
    from bot.statuspage.models import ComponentStatus, PublicIncident, PublicStatus, PublicUpdate
    from bot.store.connection import connect
    from bot.store.statuspage import StatusPageStore

    pages = StatusPageStore(connect(REDIS_URL))
    now = datetime.now(UTC)
    for n in range(PAST + 1):
        start = now - timedelta(hours=10 * n + 1)
        name = f"Component {n % COMPONENTS:02d}"
        done = n > 0
        updates = [PublicUpdate(id=f"u{n}a", status="investigating", at=start,
                                body="We are investigating errors.",
                                components={name: ComponentStatus.MAJOR})]
        if done:
            updates.append(PublicUpdate(id=f"u{n}b", status="resolved",
                                        at=start + timedelta(minutes=40), body="Resolved.",
                                        components={name: ComponentStatus.OPERATIONAL}))
        await pages.create_incident(PublicIncident(
            id=f"bench{n:07d}", incident_id=f"INC-BENCH-{n}", name=f"{name} errors",
            status=PublicStatus.RESOLVED if done else PublicStatus.INVESTIGATING,
            components={name: ComponentStatus.OPERATIONAL if done else ComponentStatus.MAJOR},
            created_at=start, updated_at=updates[-1].at, started_at=start,
            resolved_at=updates[-1].at if done else None, updates=updates))
    await pages.aclose()


def wrk(url: str, seconds: int) -> dict[str, Any]:
    delay_ms = DELAY_MS
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(f"function delay() return {delay_ms} end\n")
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", script.name,
         "-H", f"Accept-Encoding: {BROWSER_ENCODINGS}", url],
        capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)

    def ms(label: str) -> float:
        m = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        assert m, out
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                        out)
    errors = (int(bad.group(1)) if bad else 0) + (sum(int(g) for g in sockets.groups())
                                                   if sockets else 0)
    return {"requests": total, "rate": round(rate, 1), "p50_ms": round(ms("50%"), 2),
            "p90_ms": round(ms("90%"), 2), "p99_ms": round(ms("99%"), 2), "errors": errors}


def openloop(url: str, seconds: int, *, compressed: bool = True) -> dict[str, Any]:
    headers = [f"Accept-Encoding: {BROWSER_ENCODINGS}"] if compressed else []
    out = subprocess.run([sys.executable, "-m", "bench.openloop", url, str(RATE), str(seconds),
                          *headers], capture_output=True, text=True, check=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def check_page(url: str) -> int:
    """The page is the real one: HTML with every component's 90 bars (its size in bytes)."""
    import urllib.request

    with urllib.request.urlopen(url) as r:
        assert r.headers["Content-Type"].startswith("text/html"), r.headers["Content-Type"]
        body = r.read()
    assert body.count(b'<ol class="bars"') == COMPONENTS, "not the status page"
    return len(body)


def main() -> None:
    from bot.store import keys
    from sandbox.slack_emulator import SlackEmulator

    sync_redis.Redis.from_url(REDIS_URL).flushdb()
    emu = SlackEmulator(token="xoxb-bench-token")
    emu.start()
    tmp = Path(tempfile.mkdtemp())
    components = components_file(tmp)
    asyncio.run(seed(emu.api_url, components))
    port = free_port()
    env = bot_env(emu.api_url, REDIS_URL, port, STATUS_PAGE_COMPONENTS=str(components),
                  STATUS_PAGE_URL=f"http://127.0.0.1:{port}/status", LOG_LEVEL="WARNING")
    proc = start_process([str(INCIDENT_BOT), "serve"], env, log_path("status"))
    results: dict[str, Any] = {}
    fixed: dict[str, Any] = {}
    runs: list[tuple[str, str, Callable[[str, int], dict[str, Any]]]] = [
        (path, f"{kind} {path}", load) for path in PATHS
        for kind, load in (("wrk", wrk), ("open loop", openloop))
    ]
    # clients that do not take gzip (scripts, some aggregators): the whole page each time
    runs.append(("/status", "open loop /status (uncompressed)",
                 lambda url, seconds: openloop(url, seconds, compressed=False)))
    try:
        wait_http(f"http://127.0.0.1:{port}/status/api/v2/summary.json", proc)
        page_bytes = check_page(f"http://127.0.0.1:{port}/status")
        wrk(f"http://127.0.0.1:{port}/status", 2)  # warm-up
        for path, label, load in runs:

            def change_mid_run() -> None:  # a publish lands while the page is hammered
                time.sleep(SECONDS / 2)
                sync_redis.Redis.from_url(REDIS_URL).incr(keys.status_version())

            mid = threading.Thread(target=change_mid_run)
            mid.start()
            result = load(f"http://127.0.0.1:{port}{path}", SECONDS)
            (results if label.startswith("wrk") else fixed)[label] = result
            mid.join()
    finally:
        stop_process(proc)
        emu.stop()
    checks: list[dict[str, Any]] = []
    for label, r in results.items():
        checks.append({"what": f"{label}: p99 at {RATE} req/s (paced closed loop), one "
                       "`serve` process",
                       "numbers": f"{r['rate']} req/s achieved, p50 {r['p50_ms']} ms, p90 "
                       f"{r['p90_ms']} ms, {r['requests']} requests, {r['errors']} errors",
                       "value": r["p99_ms"], "unit": "ms", "goal": P99_GOAL_MS, "op": "<="})
        checks.append({"what": f"{label}: errors", "numbers": "",
                       "value": r["errors"], "goal": 0, "op": "<="})
        checks.append({"what": f"{label}: rate reached (of {RATE} req/s)", "numbers": "",
                       "value": r["rate"], "unit": "req/s", "goal": RATE * 0.95, "op": ">="})
    for label, o in fixed.items():
        checks.append({"what": f"{label}: p99 at a fixed {RATE} req/s, from when each was due",
                       "numbers": f"p50 {o['p50_ms']} ms, p90 {o['p90_ms']} ms, max "
                       f"{o['max_ms']} ms, {o['answered']}/{o['requests']} answered, "
                       f"{o['body_bytes']} bytes each",
                       "value": o["p99_ms"], "unit": "ms", "goal": P99_GOAL_MS, "op": "<="})
        checks.append({"what": f"{label}: errors", "numbers": "",
                       "value": o["errors"], "goal": 0, "op": "<="})
    with open("/proc/loadavg") as fh:
        load_average = fh.read().split()[0]
    append_result({
        "bench": "status_page",
        "how": f"wrk ({CONNECTIONS} connections paced to {RATE} req/s) and bench/openloop.py (a "
        f"fixed {RATE} req/s, its own process), {SECONDS} s each, browsers' Accept-Encoding "
        f"(and once without), against one `incident-bot serve`; {COMPONENTS} components, "
        f"{PAST} past incidents and one open (the HTML page {page_bytes} bytes); a publish "
        f"(version bump) mid-run each; 2 shared cores, load average {load_average} after",
        "paths": results, "open_loop": fixed, "page_bytes": page_bytes, "checks": checks,
    })


if __name__ == "__main__":
    main()
