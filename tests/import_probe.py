"""Run by tests/test_lazy_imports.py in a subprocess: one process kind (`serve`, `socket`,
`worker`) started the way `incident-bot <kind>` starts it (bot/runners.py, settings from the
environment), until its /healthz answers 200; then print, as JSON, which modules are loaded,
and exit. Nothing here is used by the bot itself."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import urllib.request

from bot.cli import configure_logging
from bot.runners import run_http, run_socket_mode, run_worker_process
from bot.settings import load_settings

RUNNERS = {"serve": run_http, "socket": run_socket_mode, "worker": run_worker_process}


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
            return resp.status == 200
    except OSError:
        return False


async def probe(kind: str) -> None:
    settings = load_settings()
    port = settings.worker_port if kind == "worker" else settings.port
    task = asyncio.create_task(RUNNERS[kind](settings, host="127.0.0.1"))
    for _ in range(400):
        if task.done():
            task.result()  # the process failed to start: raise its error
        if await asyncio.to_thread(ready, port):
            print(json.dumps({"ready": True, "modules": sorted(sys.modules)}), flush=True)
            os._exit(0)
        await asyncio.sleep(0.05)
    print(json.dumps({"ready": False, "modules": sorted(sys.modules)}), flush=True)
    os._exit(1)


if __name__ == "__main__":
    configure_logging("WARNING")
    asyncio.run(probe(sys.argv[1]))
