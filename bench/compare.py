"""One change measured on its own, before and after side by side in one run: `serve` from
a git ref (BEFORE, checked out in a temporary worktree) and `serve` from this tree (AFTER),
plus a bare Bolt AsyncApp (the floor), all three taking the same signed `message` events at
RATE req/s each, interleaved request by request (bench/load.py), on a Redis this bench
starts. `--block-before hiredis,uvloop` hides modules from one side (a directory on its
PYTHONPATH whose `hiredis.py` raises ImportError), so a dependency is measured with and
without it on the same code.

Per side: ack p50/p99, CPU per event (utime+stime of its process), errors, every
acknowledged event stored exactly once. Appends a `compare_<label>` line to
bench/results.jsonl with the machine, its load average and both commits. Not part of
`make bench`.

Run: .venv/bin/python -m bench.compare --before HEAD~1 --label orjson [--events 4000]
     [--after REF] (default: this tree as it is on disk)"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import (
    BOT_TOKEN,
    ROOT,
    append_result,
    bot_env,
    code_version,
    free_port,
    log_path,
    start_process,
    stop_process,
    wait_http,
)
from bench.bench_ack import start_bare
from bench.load import Target, declare, git_worktree, machine, run_load, stored_once, summary
from sandbox.redis_servers import start_server
from sandbox.slack_emulator import SlackEmulator


def blocker(into: Path, modules: list[str]) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    for name in modules:
        (into / f"{name}.py").write_text(
            f'raise ImportError("{name} hidden by bench.compare")\n')
    return into


def serve_from(tree: Path, blocked: Path, api_url: str, redis_url: str, name: str
               ) -> tuple[subprocess.Popen[bytes], int]:
    """`python -m bot serve` with `tree`'s code (started in `tree`, whose bot/, commands/
    and sandbox/ come first on the path), ready at /healthz."""
    port = free_port()
    env = bot_env(api_url, redis_url, port, PYTHONPATH=f"{blocked}:{tree}")
    proc = start_process([sys.executable, "-m", "bot", "serve"], env, log_path(name), cwd=tree)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", proc)
        assert os.readlink(f"/proc/{proc.pid}/cwd") == str(tree), "not started in its tree"
    except Exception:
        stop_process(proc)
        raise
    return proc, port


def rev(ref: str) -> str:
    return subprocess.run(["git", "rev-parse", "--short", ref], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.strip()


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ib-compare-") as tmp_:
        tmp = Path(tmp_)
        server = start_server(tmp)
        url = f"redis://127.0.0.1:{server.port}/0"
        emu = SlackEmulator(token=BOT_TOKEN).start()
        tree = git_worktree(args.before, ROOT, tmp / "before")
        after_tree = git_worktree(args.after, ROOT, tmp / "after") if args.after else ROOT
        procs: list[subprocess.Popen[bytes]] = []
        try:
            before_proc, before_port = serve_from(
                tree, blocker(tmp / "block-before", args.block_before), emu.api_url, url,
                "compare-before")
            procs.append(before_proc)
            after_proc, after_port = serve_from(
                after_tree, blocker(tmp / "block-after", args.block_after), emu.api_url, url,
                "compare-after")
            procs.append(after_proc)
            bare_proc, bare_port = start_bare(emu.api_url)
            procs.append(bare_proc)
            channel = await declare(emu, after_port, url)
            targets = [Target("before", before_port, before_proc.pid),
                       Target("after", after_port, after_proc.pid),
                       Target("bare", bare_port, bare_proc.pid, stores=False)]
            await run_load(targets, channel, args.events, args.rate)
            await asyncio.sleep(0.5)
            out = {}
            for t in targets:
                out[t.name] = summary(t, args.events)
                if t.stores:
                    out[t.name].update(stored_once(url, channel, t.acked))
            return out
        finally:
            for p in procs:
                stop_process(p)
            emu.stop()
            server.stop()
            for t in {tree, after_tree} - {ROOT}:
                subprocess.run(["git", "worktree", "remove", "--force", str(t)], cwd=ROOT,
                               capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.compare")
    parser.add_argument("--before", default="HEAD~1", help="git ref of the 'before' code")
    parser.add_argument("--after", help="git ref of the 'after' code (default: this tree)")
    parser.add_argument("--label", required=True, help="what changed (names the result)")
    parser.add_argument("--block-before", default="", help="modules hidden from 'before'")
    parser.add_argument("--block-after", default="", help="modules hidden from 'after'")
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--rate", type=float, default=200.0)
    args = parser.parse_args()
    args.block_before = [m for m in args.block_before.split(",") if m]
    args.block_after = [m for m in args.block_after.split(",") if m]
    r = asyncio.run(measure(args))
    before, after, bare = r["before"], r["after"], r["bare"]
    sides = (f"before `{rev(args.before)}`"
             + (f" without {', '.join(args.block_before)}" if args.block_before else "")
             + f", after `{rev(args.after) if args.after else code_version()}`"
             + (f" without {', '.join(args.block_after)}" if args.block_after else ""))

    def line(s: dict[str, Any]) -> str:
        once = f", stored once {s['stored_once']}/{s['n']}" if "stored_once" in s else ""
        return (f"p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms, {s['cpu_us_per_event']} µs "
                f"CPU/event, errors {sum(s['errors'].values())}{once}")

    numbers = f"{sides}. before: {line(before)}; after: {line(after)}; bare: {line(bare)}"
    append_result({
        "bench": f"compare_{args.label}",
        "how": (f"{args.events} signed message events at {args.rate:g} req/s to each of "
                "`serve` before, `serve` after and a bare Bolt AsyncApp, interleaved request "
                "by request, stored before the ack; CPU = utime+stime per process"),
        "code": rev(args.after) if args.after else code_version(),
        "before_ref": rev(args.before), "after_ref": rev(args.after) if args.after else None,
        "blocked_before": args.block_before,
        "blocked_after": args.block_after, **r, "machine": machine(),
        "checks": [
            {"what": f"{args.label}: CPU per event, after / before", "numbers": numbers,
             "value": round(after["cpu_us_per_event"] / before["cpu_us_per_event"], 2),
             "unit": "x"},
            {"what": f"{args.label}: ack p99 / bare Bolt's, before → after",
             "numbers": numbers,
             "value": (f"{before['p99_ms'] / bare['p99_ms']:.2f} → "
                       f"{after['p99_ms'] / bare['p99_ms']:.2f}"),
             "unit": "x"},
        ],
    })


if __name__ == "__main__":
    main()
