"""Idle memory of each process kind, started as `incident-bot <kind>` subprocesses against
the local Slack emulator and a Redis this bench starts:

* `serve`, after one `/incident help` so the command path is loaded;
* `socket` (Socket Mode, the emulator's socket stand-in), once connected;
* `worker`, with REMINDER_SCAN_INTERVAL=1 so a few (empty) scans have run;
* `serve` with the optional parts on: the web app (Sign in with Slack configured), the
  status page (STATUS_PAGE_COMPONENTS), Prometheus and the model (they load their
  libraries only on first use), plus any `--env KEY=VALUE` given.

VmRSS from /proc/<pid>/status SETTLE seconds after ready; for scale, the same reading for a
bare Bolt AsyncApp process (bench.bench_ack's floor). Goals (issue 31): each <= 100 MB,
<= 120 MB with the web app and the status page.

Run: .venv/bin/python -m bench.bench_memory [--env KEY=VALUE]"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import aiohttp

from bench import (
    BOT_TOKEN,
    INCIDENT_BOT,
    SIGNING_SECRET,
    append_result,
    bot_env,
    free_port,
    log_path,
    start_process,
    stop_process,
    wait_http,
)
from bench.bench_ack import start_bare
from bench.load import machine
from sandbox import slack_requests as sr
from sandbox.redis_servers import start_server
from sandbox.slack_emulator import SlackEmulator

GOAL_MB = 100.0
GOAL_FULL_MB = 120.0
SETTLE = 3.0
APP_TOKEN = "xapp-1-A0APP-bench-memory"
COMPONENTS = "components:\n  - name: Checkout\n    services: [checkout]\n"


def status_mb(pid: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = round(int(value.split()[0]) / 1024, 1)
    return out


async def help_once(emu: SlackEmulator, port: int) -> int:
    incidents = emu.channel_by_name("incidents")
    assert incidents is not None
    body = sr.slash_command(
        "/incident", "help", "U0ALICE", incidents.id,
        emu.new_response_url(incidents.id), "trig-mem",
    )
    async with aiohttp.ClientSession() as session, session.post(
        f"http://127.0.0.1:{port}/slack/events",
        data=body.encode(),
        headers=sr.signed_headers(SIGNING_SECRET, body),
    ) as resp:
        return resp.status


def process_rss(kind: str, env: dict[str, str], port: int, emu: SlackEmulator | None
                ) -> dict[str, float]:
    """Start `incident-bot <kind>`, wait for its /healthz, settle, read its memory."""
    proc = start_process([str(INCIDENT_BOT), kind], env, log_path(f"memory-{kind}"))
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", proc, timeout=60)
        if emu is not None:
            assert asyncio.run(help_once(emu, port)) == 200
        time.sleep(SETTLE)
        assert proc.poll() is None, f"{kind} exited; see {log_path(f'memory-{kind}')}"
        return status_mb(proc.pid)
    finally:
        stop_process(proc)


def bare_rss(emu: SlackEmulator) -> dict[str, float]:
    proc, _port = start_bare(emu.api_url)
    try:
        time.sleep(SETTLE)
        return status_mb(proc.pid)
    finally:
        stop_process(proc)


# the web app on (Sign in with Slack configured; nothing is fetched until someone signs in)
WEB_APP = {
    "SLACK_CLIENT_ID": "1000000001.2000000002",
    "SLACK_CLIENT_SECRET": "bench-client-secret",
    "WEB_BASE_URL": "http://127.0.0.1:3000",
    "WEB_SESSION_SECRET": "bench-session-secret-of-at-least-32-characters",
}


def measure(redis_url: str, tmp: Path, extra: dict[str, str]) -> dict[str, dict[str, float]]:
    emu = SlackEmulator(token=BOT_TOKEN).start()
    emu.add_app_token(APP_TOKEN)
    components = tmp / "components.yml"
    components.write_text(COMPONENTS)
    dead = f"http://127.0.0.1:{free_port()}"  # configured, never called while idle
    try:
        out = {}
        port = free_port()
        out["serve"] = process_rss("serve", bot_env(emu.api_url, redis_url, port), port, emu)
        port = free_port()
        env = bot_env(emu.api_url, redis_url, port, SLACK_APP_TOKEN=APP_TOKEN)
        env.pop("SLACK_SIGNING_SECRET")
        out["socket"] = process_rss("socket", env, port, None)
        port = free_port()
        env = bot_env(emu.api_url, redis_url, free_port(), WORKER_PORT=str(port),
                      REMINDER_SCAN_INTERVAL="1")
        out["worker"] = process_rss("worker", env, port, None)
        port = free_port()
        env = bot_env(emu.api_url, redis_url, port, STATUS_PAGE_COMPONENTS=str(components),
                      PROMETHEUS_URL=dead, ANTHROPIC_API_KEY="sk-ant-bench", **WEB_APP, **extra)
        out["serve_full"] = process_rss("serve", env, port, emu)
        out["bare"] = bare_rss(emu)
        return out
    finally:
        emu.stop()


def main(extra: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory(prefix="ib-bench-") as tmp:
        server = start_server(Path(tmp))
        try:
            rss = measure(f"redis://127.0.0.1:{server.port}/0", Path(tmp), extra)
        finally:
            server.stop()
    bare = rss["bare"]["VmRSS"]
    full_label = "the web app, status page, Prometheus, model" + (
        f", {', '.join(sorted(extra))}" if extra else "")

    def check(kind: str, what: str, goal: float) -> dict[str, object]:
        r = rss[kind]
        return {
            "what": f"idle RSS, {what}",
            "numbers": (f"VmRSS {r['VmRSS']} MB (peak {r['VmHWM']} MB); bare Bolt AsyncApp "
                        f"process {bare} MB"),
            "value": r["VmRSS"], "unit": "MB", "goal": goal, "op": "<=",
        }

    append_result(
        {
            "bench": "idle_memory",
            "how": (
                "`incident-bot serve|socket|worker` subprocesses against the emulator and "
                f"a Redis of their own; VmRSS from /proc/<pid>/status {SETTLE:.0f} s after "
                "ready (serve after one /incident help)"
            ),
            "rss_mb": rss,
            "machine": machine(),
            "value": max(r["VmRSS"] for k, r in rss.items() if k != "bare"),
            "goal": GOAL_MB,
            "checks": [
                check("serve", "`incident-bot serve`", GOAL_MB),
                check("socket", "`incident-bot socket`", GOAL_MB),
                check("worker", "`incident-bot worker`", GOAL_MB),
                check("serve_full", f"`incident-bot serve` with {full_label}", GOAL_FULL_MB),
            ],
        }
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.bench_memory")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra setting for the 'with everything' serve (the web app's)")
    args = parser.parse_args()
    main(dict(kv.split("=", 1) for kv in args.env))
