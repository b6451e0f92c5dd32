"""`python -m bench` (`make bench`): run every bench/bench_*.py in turn, each in its own
subprocess (one failing does not stop the rest); each appends its result line, with its
date and commit, to bench/results.jsonl. Then rewrite docs/benchmarks.md and the README's
summary from that file (bot/docs/benchmarks_page.py) and print the summary.

Options: `python -m bench --only ack,declare` runs a subset; `--table` only rewrites the
pages from bench/results.jsonl (as `make docs` does)."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from bench import RESULTS, ROOT
from bot.docs import write
from bot.docs.benchmarks_page import read_lines, summary

BENCH_DIR = ROOT / "bench"
TIMEOUT = 240  # seconds per bench
# benches that start big worlds: bench_fleet backfills ~200k series into three Prometheus,
# bench_web seeds 10,000 incidents x 100 events, bench_scale plays 28 phases and a cluster
TIMEOUTS = {"bench_fleet": 600, "bench_web": 480, "bench_scale": 420}


def run_benches(names: list[str]) -> list[tuple[str, int, float]]:
    outcomes = []
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        started = time.monotonic()
        try:
            code = subprocess.run(
                [sys.executable, "-m", f"bench.{name}"],
                cwd=ROOT,
                timeout=TIMEOUTS.get(name, TIMEOUT),
            ).returncode
        except subprocess.TimeoutExpired:
            print(f"{name}: timed out after {TIMEOUTS.get(name, TIMEOUT)} s", flush=True)
            code = -1
        elapsed = time.monotonic() - started
        print(f"=== {name}: exit {code} in {elapsed:.1f} s ===", flush=True)
        outcomes.append((name, code, elapsed))
    return outcomes


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", help="comma-separated bench names (ack, bench_ack, ...)")
    parser.add_argument("--table", action="store_true", help="only rewrite the pages")
    args = parser.parse_args()
    names = sorted(p.stem for p in BENCH_DIR.glob("bench_*.py"))
    if args.only:
        wanted = {n if n.startswith("bench_") else f"bench_{n}" for n in args.only.split(",")}
        names = [n for n in names if n in wanted]
    outcomes = [] if args.table else run_benches(names)
    for name in write(ROOT):
        print(f"wrote {name}")
    print("\n" + summary(read_lines(RESULTS)))
    failed = [f"{n} (exit {c})" for n, c, _ in outcomes if c != 0]
    if failed:
        print("failed, their previous lines stand: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
