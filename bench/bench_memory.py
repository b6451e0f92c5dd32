"""Idle memory of the web process (`incident-bot serve`) and of the worker
(`incident-bot worker`), each started as a subprocess with its environment pointing at the
local Slack emulator and Redis (db 12, flushed).

web: VmRSS from /proc/<pid>/status SETTLE seconds after /healthz answers, after one
`/incident help` so the command path is loaded. worker: VmRSS SETTLE seconds after it logs
`worker_started`, with REMINDER_SCAN_INTERVAL=1 so a few (empty) scans have run. For
scale, the same reading for a bare Bolt AsyncApp process (bench.bench_ack's floor).
Goal: <= 150 MB each.

Run: .venv/bin/python -m bench.bench_memory"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import redis as sync_redis

from bench import (
    BOT_TOKEN,
    INCIDENT_BOT,
    SIGNING_SECRET,
    append_result,
    bot_env,
    free_port,
    log_path,
    serve_bot,
    start_process,
    stop_process,
)
from bench.bench_ack import start_bare
from sandbox import slack_requests as sr
from sandbox.slack_emulator import SlackEmulator

REDIS_URL = "redis://127.0.0.1:6379/12"
GOAL_MB = 150.0
SETTLE = 3.0


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


def web_rss(emu: SlackEmulator) -> dict[str, float]:
    proc, port = serve_bot(emu.api_url, REDIS_URL, "memory-web")
    try:
        assert asyncio.run(help_once(emu, port)) == 200
        time.sleep(SETTLE)
        return status_mb(proc.pid)
    finally:
        stop_process(proc)


def worker_rss(emu: SlackEmulator) -> dict[str, float]:
    log = log_path("memory-worker")
    env = bot_env(emu.api_url, REDIS_URL, free_port(), REMINDER_SCAN_INTERVAL="1")
    proc = start_process([str(INCIDENT_BOT), "worker"], env, log)
    try:
        deadline = time.monotonic() + 30
        while b"worker_started" not in log.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start; see {log}")
            time.sleep(0.05)
        time.sleep(SETTLE)
        assert proc.poll() is None, f"worker exited; see {log}"
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


def main() -> None:
    r = sync_redis.Redis.from_url(REDIS_URL)
    r.flushdb()
    emu = SlackEmulator(token=BOT_TOKEN).start()
    try:
        web = web_rss(emu)
        worker = worker_rss(emu)
        bare = bare_rss(emu)
    finally:
        emu.stop()
        r.flushdb()
    append_result(
        {
            "bench": "idle_memory",
            "how": (
                "subprocess against the emulator and Redis; VmRSS from /proc/<pid>/status "
                f"{SETTLE:.0f} s after ready"
            ),
            "web_rss_mb": web["VmRSS"],
            "web_peak_mb": web["VmHWM"],
            "worker_rss_mb": worker["VmRSS"],
            "worker_peak_mb": worker["VmHWM"],
            "bare_bolt_rss_mb": bare["VmRSS"],
            "value": max(web["VmRSS"], worker["VmRSS"]),
            "goal": GOAL_MB,
            "checks": [
                {
                    "what": "idle RSS, web process (`incident-bot serve`)",
                    "numbers": (
                        f"VmRSS {web['VmRSS']} MB (peak {web['VmHWM']} MB); bare Bolt "
                        f"AsyncApp process {bare['VmRSS']} MB"
                    ),
                    "value": web["VmRSS"],
                    "unit": "MB",
                    "goal": GOAL_MB,
                    "op": "<=",
                },
                {
                    "what": "idle RSS, worker process (`incident-bot worker`)",
                    "numbers": f"VmRSS {worker['VmRSS']} MB (peak {worker['VmHWM']} MB)",
                    "value": worker["VmRSS"],
                    "unit": "MB",
                    "goal": GOAL_MB,
                    "op": "<=",
                },
            ],
        }
    )


if __name__ == "__main__":
    main()
