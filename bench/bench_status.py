"""The status page when everyone hits refresh: `/status` and `/status/api/v2/summary.json`
served by one `incident-bot serve` process at 1,000 requests/s (wrk, paced by a `delay()`
script: N connections each waiting N ms between requests), during an incident on a page of
20 components with 200 past incidents. Goals: p99 <= 50 ms and no errors, at the rate.

The page comes from the process's snapshot (rebuilt on change), never from Redis per
request; the bench publishes once more mid-run so a rebuild happens under load."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import tempfile
import threading
import time
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
         url], capture_output=True, text=True, check=True).stdout
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
    try:
        wait_http(f"http://127.0.0.1:{port}/status/api/v2/summary.json", proc)
        for path in PATHS:
            wrk(f"http://127.0.0.1:{port}{path}", 2)  # warm-up

            def change_mid_run() -> None:  # a publish lands while the page is hammered
                time.sleep(SECONDS / 2)
                sync_redis.Redis.from_url(REDIS_URL).incr(keys.status_version())

            mid = threading.Thread(target=change_mid_run)
            mid.start()
            results[path] = wrk(f"http://127.0.0.1:{port}{path}", SECONDS)
            mid.join()
    finally:
        stop_process(proc)
        emu.stop()
    checks = []
    for path, r in results.items():
        checks.append({"what": f"`{path}` p99 at {RATE} req/s, one `serve` process",
                       "numbers": f"{r['rate']} req/s achieved, p50 {r['p50_ms']} ms, p90 "
                       f"{r['p90_ms']} ms, {r['requests']} requests, {r['errors']} errors",
                       "value": r["p99_ms"], "unit": "ms", "goal": P99_GOAL_MS, "op": "<="})
        checks.append({"what": f"`{path}` errors at {RATE} req/s", "numbers": "",
                       "value": r["errors"], "goal": 0, "op": "<="})
        checks.append({"what": f"`{path}` rate reached (of {RATE} req/s)", "numbers": "",
                       "value": r["rate"], "unit": "req/s", "goal": RATE * 0.95, "op": ">="})
    append_result({
        "bench": "status_page",
        "how": f"wrk, {CONNECTIONS} connections paced to {RATE} req/s for {SECONDS} s per path "
        f"against one `incident-bot serve`; {COMPONENTS} components, {PAST} past incidents and "
        "one open; a publish (version bump) mid-run",
        "paths": results, "checks": checks,
    })


if __name__ == "__main__":
    main()
