"""Benchmarks (`make bench` = `python -m bench`): each bench_*.py appends one JSON line to
bench/results.jsonl; bench/__main__.py runs them all and rewrites docs/benchmarks.md.

Shared helpers for the benches that start the real bot: the signing secret and token the
bot and the Slack emulator agree on, a free loopback port, starting `incident-bot serve`
(or `worker`) as a subprocess with its environment pointing at the emulator and Redis,
and appending a result line."""

from __future__ import annotations

import gc
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results.jsonl"
SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench-token"
INCIDENT_BOT = Path(sys.executable).with_name("incident-bot")


@contextmanager
def steady_load_generator() -> Iterator[None]:
    """While a latency phase runs, the load generator (this process, with the Slack
    emulator's growing history) never pauses for its own garbage collection: a 25 ms
    full collection here would be counted against whichever server was being measured."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def code_version() -> str:
    """HEAD's short hash, `+dirty` when bot/, commands/ or sandbox/ have uncommitted changes
    (several people work in this tree: the numbers are for the code as it was on disk)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "bot", "commands", "sandbox"],
            cwd=ROOT, capture_output=True, text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head}+dirty" if dirty else head


def append_result(row: dict[str, Any]) -> None:
    """Print the row and append it to bench/results.jsonl."""
    row.setdefault("code", code_version())
    row.setdefault("at", now_iso())
    line = json.dumps(row)
    print(line, flush=True)
    with RESULTS.open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def bot_env(api_url: str, redis_url: str, port: int, **extra: str) -> dict[str, str]:
    """The environment `incident-bot serve|worker` reads (see bot/settings.py)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ANTHROPIC_"))}
    env.update(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": api_url,
            "REDIS_URL": redis_url,
            "PORT": str(port),
            "INCIDENTS_CHANNEL": "incidents",
            "SNAPSHOT_ON_DECLARE": "false",
        }
    )
    env.pop("PROMETHEUS_URL", None)
    # the code of this tree, whichever checkout the installed `incident-bot` points at
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def in_process_settings(api_url: str, redis_url: str) -> Settings:
    """Settings for a bot built in this process: the emulator, no Prometheus, no model."""
    from bot.settings import Settings

    return Settings.model_validate(
        {
            "slack_bot_token": BOT_TOKEN,
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": api_url,
            "redis_url": redis_url,
            "incidents_channel": "incidents",
            "snapshot_on_declare": False,
            "prometheus_url": None,
            "anthropic_api_key": None,
        }
    )


def log_path(name: str) -> Path:
    return Path(tempfile.gettempdir()) / f"incident-bench-{name}.log"


def start_process(
    args: list[str], env: dict[str, str], log_path: Path, cwd: Path = ROOT
) -> subprocess.Popen[bytes]:
    """`python -m …` puts `cwd` first on sys.path, before PYTHONPATH: a process that must
    run another checkout's code starts in that checkout."""
    log = log_path.open("wb")
    return subprocess.Popen(args, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Poll `url` until it answers 200 (or the process dies / the timeout passes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} was ready")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} not ready after {timeout}s")


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before port {port} opened")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} not open after {timeout}s")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def serve_bot(
    api_url: str, redis_url: str, name: str, command: list[str] | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """`incident-bot serve` (or `command`, e.g. a bench variant of it) on a free loopback
    port, ready at /healthz."""
    port = free_port()
    proc = start_process(
        command or [str(INCIDENT_BOT), "serve"],
        bot_env(api_url, redis_url, port),
        log_path(name),
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", proc)
    except Exception:
        stop_process(proc)
        raise
    return proc, port
