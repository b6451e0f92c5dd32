"""`python -m bench` (`make bench`): run every bench/bench_*.py in turn, each in its own
subprocess (one failing does not stop the rest), then write bench/RESULTS.md — one table
row per measurement, from the newest line of each bench in bench/results.jsonl — and print
the table.

Options: `python -m bench --only ack,declare` runs a subset; `--table` only rewrites the
table from bench/results.jsonl."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any

from bench import RESULTS, ROOT, now_iso

BENCH_DIR = ROOT / "bench"
RESULTS_MD = BENCH_DIR / "RESULTS.md"
TIMEOUT = 240  # seconds per bench

# What each older bench (whose lines carry no "checks") measures, and how.
DESCRIBED: dict[str, tuple[str, str]] = {
    "metrics_check": (
        "`/metrics check` wall time / its slowest single query",
        "real Prometheus (seed-000 scenario), median of rounds: full check vs each query alone",
    ),
    "reminder_scan": (
        "reminder scan, 100 due among 100k items / among 1k items",
        "real Redis, ReminderScanner.scan(), best of repeats",
    ),
    "patterns_match": (
        "pattern matching per declare (PatternService.similar)",
        "real Redis, past incidents over 2 years, 40 services",
    ),
}


def run_benches(names: list[str]) -> list[tuple[str, int, float]]:
    outcomes = []
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        started = time.monotonic()
        try:
            code = subprocess.run(
                [sys.executable, "-m", f"bench.{name}"], cwd=ROOT, timeout=TIMEOUT
            ).returncode
        except subprocess.TimeoutExpired:
            print(f"{name}: timed out after {TIMEOUT} s", flush=True)
            code = -1
        elapsed = time.monotonic() - started
        print(f"=== {name}: exit {code} in {elapsed:.1f} s ===", flush=True)
        outcomes.append((name, code, elapsed))
    return outcomes


def newest_lines() -> dict[str, dict[str, Any]]:
    newest: dict[str, dict[str, Any]] = {}
    if not RESULTS.exists():
        return newest
    for line in RESULTS.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and "bench" in row:
            newest[str(row["bench"])] = row  # later lines win
    return newest


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def passed(value: float, goal: float, op: str) -> bool:
    return value >= goal if op == ">=" else value <= goal


def rows_for(row: dict[str, Any]) -> list[dict[str, str]]:
    """Table rows (what, how, numbers, ratio/value, goal, result) from one result line."""
    name = str(row["bench"])
    at = str(row.get("at", "")) + (f" ({row['code']})" if row.get("code") else "")
    out: list[dict[str, str]] = []
    if "checks" in row:
        for check in row["checks"]:
            unit = check.get("unit", "")
            op = check.get("op", "<=")
            ok = check.get("ok", passed(float(check["value"]), float(check["goal"]), op))
            out.append(
                {
                    "bench": name,
                    "what": check["what"],
                    "how": str(row.get("how", "")),
                    "numbers": check.get("numbers", ""),
                    "value": f"{fmt(check['value'])} {unit}".strip(),
                    "goal": f"{op} {fmt(check['goal'])} {unit}".strip(),
                    "result": "pass" if ok else "**miss**",
                    "at": at,
                }
            )
        return out
    what, how = DESCRIBED.get(name, (name, ""))
    if name == "patterns_match":
        goal = float(row.get("goal_ms_at_10k", 100))
        for r in row.get("results", []):
            at_10k = r.get("size") == 10_000
            out.append(
                {
                    "bench": name,
                    "what": f"{what}, {r.get('size'):,} past incidents",
                    "how": how + f"; {row.get('queries')} declares",
                    "numbers": (
                        f"mean {r.get('mean_ms')} ms, p50 {r.get('p50_ms')} ms, "
                        f"max {r.get('max_ms')} ms, {r.get('matches_per_declare')} matches"
                    ),
                    "value": f"p95 {fmt(r.get('p95_ms'))} ms",
                    "goal": f"<= {goal:g} ms" if at_10k else "(none)",
                    "result": (
                        ("pass" if float(r.get("p95_ms", 0)) <= goal else "**miss**")
                        if at_10k
                        else "-"
                    ),
                    "at": at,
                }
            )
        return out
    if name == "metrics_check" and "simulated_ratio" in row:
        goal = float(row["goal"])
        for label, ratio, check, slowest, seq in (
            ("real Prometheus", row["ratio"], row["check_seconds"],
             row["slowest_query_seconds"], row["sequential_seconds"]),
            (f"+{row.get('simulated_latency_seconds')} s simulated latency per query",
             row["simulated_ratio"], row["simulated_check_seconds"],
             row["simulated_slowest_query_seconds"], row["simulated_sequential_seconds"]),
        ):
            out.append(
                {
                    "bench": name,
                    "what": f"{what} ({label})",
                    "how": how + f"; {row.get('queries')} queries, {row.get('rounds')} rounds",
                    "numbers": (
                        f"check {float(check) * 1000:.1f} ms, slowest query "
                        f"{float(slowest) * 1000:.1f} ms, all queries one by one "
                        f"{float(seq) * 1000:.1f} ms"
                    ),
                    "value": f"{fmt(ratio)} x",
                    "goal": f"<= {goal:g} x",
                    "result": "pass" if float(ratio) <= goal else "**miss**",
                    "at": at,
                }
            )
        return out
    skip = {"bench", "at", "goal", "ratio", "value", "how", "code"}
    numbers = ", ".join(
        f"{k} {fmt(v)}" for k, v in row.items() if k not in skip and isinstance(v, int | float)
    )
    measured = row.get("ratio", row.get("value"))
    goal = row.get("goal")
    result = "-"
    if isinstance(measured, int | float) and isinstance(goal, int | float):
        result = "pass" if passed(float(measured), float(goal), "<=") else "**miss**"
    suffix = "x" if "ratio" in row else ""
    out.append(
        {
            "bench": name,
            "what": what,
            "how": how,
            "numbers": numbers,
            "value": f"{fmt(measured)} {suffix}".strip(),
            "goal": f"<= {fmt(goal)} {suffix}".strip() if goal is not None else "(none)",
            "result": result,
            "at": at,
        }
    )
    return out


def table(lines: dict[str, dict[str, Any]]) -> str:
    head = "| Bench | What | How | Numbers | Ratio / value | Goal | Result | Measured at (code) |"
    sep = "|---|---|---|---|---|---|---|---|"
    body = []
    for name in sorted(lines):
        try:
            rows = rows_for(lines[name])
        except (KeyError, TypeError, ValueError) as exc:
            rows = [{"bench": name, "what": f"(unreadable result line: {exc!r})", "how": "",
                     "numbers": "", "value": "", "goal": "", "result": "-", "at": ""}]
        for r in rows:
            cells = [r[k].replace("|", "\\|").replace("\n", " ") for k in
                     ("bench", "what", "how", "numbers", "value", "goal", "result", "at")]
            body.append("| " + " | ".join(cells) + " |")
    return "\n".join([head, sep, *body])


def write_results(outcomes: list[tuple[str, int, float]]) -> str:
    lines = newest_lines()
    text = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (`python -m bench`) at {now_iso()}, from the newest line "
        "per bench in `bench/results.jsonl`. Each bench's docstring says exactly what it "
        "does; ratios are measured side by side in one run because these machines are noisy.",
        "",
        table(lines),
        "",
    ]
    failed = [(n, c) for n, c, _ in outcomes if c != 0]
    if outcomes:
        text.append(
            "This run: "
            + ", ".join(f"{n} {'ok' if c == 0 else f'FAILED (exit {c})'} in {s:.0f} s"
                        for n, c, s in outcomes)
            + "."
        )
    if failed:
        text.append("")
        text.append(
            "Failed benches keep their previous line (if any) in the table above; see the "
            "`Measured at` column."
        )
    md = "\n".join(text) + "\n"
    RESULTS_MD.write_text(md, encoding="utf-8")
    return md


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", help="comma-separated bench names (ack, bench_ack, ...)")
    parser.add_argument("--table", action="store_true", help="only rewrite RESULTS.md")
    args = parser.parse_args()
    names = sorted(p.stem for p in BENCH_DIR.glob("bench_*.py"))
    if args.only:
        wanted = {n if n.startswith("bench_") else f"bench_{n}" for n in args.only.split(",")}
        names = [n for n in names if n in wanted]
    outcomes = [] if args.table else run_benches(names)
    print()
    print(write_results(outcomes))
    print(f"wrote {RESULTS_MD.relative_to(ROOT)}")
    return 1 if any(code != 0 for _, code, _ in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
