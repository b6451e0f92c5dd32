"""The bot's real processes (`python -m bot serve|socket|worker`) for tests about processes:
started with an environment, probed over HTTP, stopped. Their logs go to a file that a
failing test prints."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent


class BotProcess:
    def __init__(self, mode: str, env: dict[str, str], port: int, log_dir: Path) -> None:
        self.mode = mode
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_dir / f"{mode}-{port}.log"
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "REDIS_"))}
        self.env = {**clean, **env}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> BotProcess:
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", self.mode],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def get(self, path: str) -> tuple[int, str]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{self.url}{path}", timeout=aiohttp.ClientTimeout(total=10)) as r,
        ):
            return r.status, await r.text()

    async def post_json(
        self, path: str, body: Any, headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{self.url}{path}",
                json=body,
                headers=headers or {},
                timeout=aiohttp.ClientTimeout(total=30),
            ) as r,
        ):
            return r.status, await r.text()

    async def wait_for(
        self, path: str, status: int, *, contains: str = "", limit: float = 30
    ) -> str:
        """Poll until GET `path` answers `status` (and its body has `contains`); the body.
        Fails with the process's log if it never does or the process died."""
        last = "no answer"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while loop.time() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.mode} exited {self.proc.returncode}:\n{self.log}")
            try:
                code, body = await self.get(path)
                last = f"{code} {body}"
                if code == status and contains in body:
                    return body
            except aiohttp.ClientError as exc:
                last = repr(exc)
            await asyncio.sleep(0.1)
        raise AssertionError(
            f"{path} never answered {status} {contains!r} (last: {last})\n{self.log}"
        )

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`incident-bot <args>` with this process's environment."""
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def metric_value(text: str, name: str, /, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        metric, _, rest = series.partition("{")
        if metric != name:
            continue
        found = ",".join(sorted(p for p in rest.rstrip("}").split(",") if p))
        if found == wanted:
            return float(value)
    return 0.0
