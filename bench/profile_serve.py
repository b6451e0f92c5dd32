"""Where one `serve` spends its time on the hot path: py-spy samples `incident-bot serve`
while it takes EVENTS signed `message` events at RATE req/s (each stored in Redis before
the ack), and a bare Bolt AsyncApp takes the same events at the same rate, interleaved
request by request (bench/load.py), on a Redis this bench starts.

Writes out/profile/serve-<commit>.txt (py-spy's collapsed stacks, busy samples only: open
it in speedscope.app or flamegraph.pl) and out/profile/serve-<commit>.md (the busy samples
by library and the functions that take most, inclusive), prints the summary and appends a
line to bench/results.jsonl: ack p50/p99 and CPU per event, bot and bare side by side, and
that every acknowledged event was stored once. Not part of `make bench` (a minute of load).

Run: .venv/bin/python -m bench.profile_serve [--events 10000] [--rate 200]"""

from __future__ import annotations

import argparse
import asyncio
import pstats
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from bench import (
    BOT_TOKEN,
    ROOT,
    append_result,
    code_version,
    serve_bot,
    stop_process,
)
from bench.bench_ack import start_bare
from bench.load import Target, declare, machine, run_load, stored_once, summary
from sandbox.redis_servers import start_server
from sandbox.slack_emulator import SlackEmulator

OUT = ROOT / "out" / "profile"
SAMPLE_RATE = 250  # py-spy samples per second
# a frame's library is the first part of its path as py-spy prints it ("redis/…/x.py")
NAMES = {"selectors.py": "waiting in epoll", "pydantic_core": "pydantic", "yarl": "yarl/multidict",
         "multidict": "yarl/multidict", "bot": "bot (ours)", "commands": "commands (ours)"}
SPINE = 0.75  # frames in more than this share of the samples are the process's main loop


def py_spy() -> str:
    path = shutil.which("py-spy") or str(Path(__file__).resolve().parents[1] / ".venv/bin/py-spy")
    if not Path(path).exists():
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy (a dev extra)")
    return path


def area(frame: str) -> str:
    first = frame.rsplit("(", 1)[-1].split(":", 1)[0].split("/", 1)[0]
    return NAMES.get(first, first.removesuffix(".py") or "other")


def function(frame: str) -> str:
    """`name (path:line)` → `name (short path)` (lines dropped, so a function counts once)."""
    name, _, where = frame.rpartition(" (")
    return f"{name} ({where.rstrip(')').rsplit(':', 1)[0]})"


def digest(stacks: Path, top: int = 25) -> dict[str, Any]:
    """Busy samples by the leaf frame's library, and the functions present in most stacks."""
    total = 0
    leaf_areas: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for line in stacks.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        leaf_areas[area(frames[-1])] += n
        for f in {function(f) for f in frames if "(" in f}:
            inclusive[f] += n
    return {
        "samples": total,
        "areas": {k: round(v / total * 100, 1) for k, v in leaf_areas.most_common()
                  if v >= 0.003 * total},
        "top": [(f, round(n / total * 100, 1)) for f, n in inclusive.most_common()
                if n < SPINE * total][:top],
    }


def render(d: dict[str, Any], row: dict[str, Any]) -> str:
    out = [f"# Profile of one `serve`, {row['events']} message events at {row['rate']:g} req/s",
           "", f"commit `{row['code']}`, {row['at']}, {row['machine']['nproc']} cores "
           f"({row['machine']['cpu']}), load average {row['machine']['loadavg']}", "",
           f"{d['samples']} samples at {SAMPLE_RATE}/s of the running thread (py-spy counts "
           "time in epoll as running when the thread is on the CPU around it).", "",
           "| library of the running frame | share |", "|---|---|"]
    out += [f"| {k} | {v} % |" for k, v in d["areas"].items()]
    out += ["", "| function (in the stack) | share of busy samples |", "|---|---|"]
    out += [f"| `{f}` | {v} % |" for f, v in d["top"]]
    return "\n".join(out) + "\n"


def serve_under_cprofile(api_url: str, redis_url: str, stats: Path
                         ) -> tuple[subprocess.Popen[bytes], int]:
    """`python -m cProfile -m bot serve`: the stats are written when SIGINT ends it."""
    return serve_bot(api_url, redis_url, "profile-cprofile",
                     [sys.executable, "-m", "cProfile", "-o", str(stats), "-m", "bot", "serve"])


def cprofile_digest(stats: Path, events: int, top: int = 30) -> str:
    """The functions with the most own time (tottime), per event, from cProfile's stats."""
    st = pstats.Stats(str(stats))
    rows = sorted(st.stats.items(), key=lambda kv: kv[1][2], reverse=True)  # type: ignore[attr-defined]
    out = ["| function | calls/event | own µs/event | with callees µs/event |", "|---|---|---|---|"]
    for (path, line, name), (_cc, nc, tt, ct, _callers) in rows[:top]:
        short = path.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
        out.append(f"| `{name}` ({short}:{line}) | {nc / events:.2f} | {tt / events * 1e6:.1f} "
                   f"| {ct / events * 1e6:.1f} |")
    return "\n".join(out) + "\n"


async def measure_cprofile(events: int, rate: float, stats: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ib-profile-") as tmp:
        server = start_server(Path(tmp))
        url = f"redis://127.0.0.1:{server.port}/0"
        emu = SlackEmulator(token=BOT_TOKEN).start()
        try:
            proc, port = serve_under_cprofile(emu.api_url, url, stats)
            try:
                channel = await declare(emu, port, url)
                bot = Target("bot", port, proc.pid)
                await run_load([bot], channel, events, rate)
            finally:
                proc.send_signal(signal.SIGINT)
                proc.wait(60)
            once = stored_once(url, channel, bot.acked)
        finally:
            emu.stop()
            server.stop()
    return {"bot": {**summary(bot, events), **once}}


async def measure(events: int, rate: float, stacks: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ib-profile-") as tmp:
        server = start_server(Path(tmp))
        url = f"redis://127.0.0.1:{server.port}/0"
        emu = SlackEmulator(token=BOT_TOKEN).start()
        procs: list[subprocess.Popen[bytes]] = []
        try:
            bot_proc, bot_port = serve_bot(emu.api_url, url, "profile-bot")
            procs.append(bot_proc)
            bare_proc, bare_port = start_bare(emu.api_url)
            procs.append(bare_proc)
            channel = await declare(emu, bot_port, url)
            bot = Target("bot", bot_port, bot_proc.pid)
            bare = Target("bare", bare_port, bare_proc.pid, stores=False)
            spy = subprocess.Popen(
                [py_spy(), "record", "--pid", str(bot_proc.pid), "--format", "raw",
                 "--rate", str(SAMPLE_RATE), "--nonblocking", "--output", str(stacks)],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )
            await asyncio.sleep(1.0)  # py-spy attached
            await run_load([bot, bare], channel, events, rate)
            spy.send_signal(signal.SIGINT)
            _, err = spy.communicate(timeout=60)
            if not stacks.exists():
                raise RuntimeError(f"py-spy wrote nothing: {err.decode()[-500:]}")
            await asyncio.sleep(0.5)
            once = stored_once(url, channel, bot.acked)
        finally:
            for p in procs:
                stop_process(p)
            emu.stop()
            server.stop()
    return {"bot": {**summary(bot, events), **once}, "bare": summary(bare, events)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_serve")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--cprofile", action="store_true",
                        help="cProfile instead of py-spy: own time per function and event "
                        "(slower under the profiler; no bare app, nothing appended)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    commit = code_version()
    if args.cprofile:
        stats = OUT / f"serve-{commit}.pstats"
        result = asyncio.run(measure_cprofile(args.events, args.rate, stats))
        text = cprofile_digest(stats, args.events)
        (OUT / f"serve-{commit}-cprofile.md").write_text(text)
        print(result, "\n", text)
        return
    stacks = OUT / f"serve-{commit}.txt"
    stacks.unlink(missing_ok=True)
    result = asyncio.run(measure(args.events, args.rate, stacks))
    d = digest(stacks)
    bot, bare = result["bot"], result["bare"]
    p99 = bot["p99_ms"] / bare["p99_ms"]
    cpu = bot["cpu_us_per_event"] / bare["cpu_us_per_event"]
    row: dict[str, Any] = {
        "bench": "profile_serve",
        "how": (f"py-spy ({SAMPLE_RATE}/s, busy samples) on one `serve` taking "
                f"{args.events} signed message events at {args.rate:g} req/s, stored before "
                "the ack, interleaved request by request with a bare Bolt AsyncApp taking the "
                "same; CPU = utime+stime of each process over the run; own Redis"),
        "events": args.events, "rate": args.rate, **result, "machine": machine(),
        "profile": {"samples": d["samples"], "areas": d["areas"], "top": d["top"][:12]},
        "code": commit,
        "checks": [
            {"what": "profiled `serve`: ack p99 / bare Bolt's, side by side",
             "numbers": (f"bot p50 {bot['p50_ms']} ms, p99 {bot['p99_ms']} ms; bare p50 "
                         f"{bare['p50_ms']} ms, p99 {bare['p99_ms']} ms (py-spy attached to "
                         f"the bot); stored once {bot['stored_once']}/{bot['n']}"),
             "value": round(p99, 2), "unit": "x"},
            {"what": "profiled `serve`: CPU per event / bare Bolt's",
             "numbers": (f"bot {bot['cpu_us_per_event']} µs, bare {bare['cpu_us_per_event']} "
                         f"µs per event; busy samples: " + ", ".join(
                             f"{k} {v} %" for k, v in list(d["areas"].items())[:6])),
             "value": round(cpu, 2), "unit": "x"},
        ],
    }
    from bench import now_iso

    row["at"] = now_iso()
    text = render(d, row)
    (OUT / f"serve-{commit}.md").write_text(text)
    print(text)
    append_result(row)


if __name__ == "__main__":
    main()
