"""docs/benchmarks.md (and the README's one-paragraph summary) from bench/results.jsonl:
every bench appends one line per run, with its date (`at`) and the commit it measured
(`code`; `+dirty` when the tree had changes). Lines from before commits were recorded carry
`recorded_in`, the commit that added them to the file."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

Row = dict[str, Any]
Line = dict[str, str]

# What the older benches (whose lines carry no "checks") measure, and how.
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


# Benches whose every figure the README's summary names (the issue asks for them there).
HEADLINED = {
    "web_app": "The web app over 10,000 incidents x 100 timeline events (`bench/bench_web.py`)",
    "status_page": "The status page at 1,000 req/s on one `serve` process, 20 components and 200 "
    "past incidents (`bench/bench_status.py`)",
}


def read_lines(path: Path) -> list[Row]:
    rows: list[Row] = []
    if not path.exists():
        return rows
    for text in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(text)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and "bench" in row:
            rows.append(row)
    return rows


def newest(rows: list[Row]) -> dict[str, Row]:
    out: dict[str, Row] = {}
    for row in rows:
        out[str(row["bench"])] = row  # later lines win
    return out


def fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def met(value: float, goal: float, op: str) -> bool:
    return value >= goal if op == ">=" else value <= goal


def date_of(row: Row) -> str:
    return str(row.get("at", ""))[:10] or "—"


def commit_of(row: Row) -> str:
    if row.get("code") and row.get("landed_as"):  # measured on a branch, then rebased
        return f"`{row['code']}` (landed as `{row['landed_as']}`)"
    if row.get("code"):
        return f"`{row['code']}`"
    if row.get("recorded_in"):
        return f"— (added in `{row['recorded_in']}`)"
    return "—"


def _line(row: Row, what: str, how: str, numbers: str, value: str, goal: str, ok: bool | None
          ) -> Line:
    result = "-" if ok is None else ("pass" if ok else "**miss**")
    return {"bench": str(row["bench"]), "what": what, "how": how, "numbers": numbers,
            "value": value, "goal": goal, "result": result}


def _checks(row: Row) -> list[Line]:
    out = []
    for check in row["checks"]:
        unit = check.get("unit", "")
        op = check.get("op", "<=")
        value = f"{fmt(check['value'])} {unit}".strip()
        if "goal" not in check:  # a figure shown for what it is (a profile's, a comparison's)
            out.append(_line(row, check["what"], str(row.get("how", "")),
                             check.get("numbers", ""), value, "(none)", None))
            continue
        ok = check.get("ok", met(float(check["value"]), float(check["goal"]), op))
        out.append(_line(row, check["what"], str(row.get("how", "")), check.get("numbers", ""),
                         value, f"{op} {fmt(check['goal'])} {unit}".strip(), bool(ok)))
    return out


def _patterns(row: Row) -> list[Line]:
    what, how = DESCRIBED["patterns_match"]
    goal = float(row.get("goal_ms_at_10k", 100))
    out = []
    for r in row.get("results", []):
        at_10k = r.get("size") == 10_000
        out.append(_line(
            row, f"{what}, {r.get('size'):,} past incidents",
            how + f"; {row.get('queries')} declares",
            f"mean {r.get('mean_ms')} ms, p50 {r.get('p50_ms')} ms, max {r.get('max_ms')} ms, "
            f"{r.get('matches_per_declare')} matches",
            f"p95 {fmt(r.get('p95_ms'))} ms", f"<= {goal:g} ms" if at_10k else "(none)",
            float(r.get("p95_ms", 0)) <= goal if at_10k else None))
    return out


def _metrics_check(row: Row) -> list[Line]:
    what, how = DESCRIBED["metrics_check"]
    goal = float(row["goal"])
    runs = [("real Prometheus", "")]
    if "simulated_ratio" in row:
        runs.append((f"+{row.get('simulated_latency_seconds')} s simulated latency per query",
                     "simulated_"))
    out = []
    for label, prefix in runs:
        ratio = float(row[f"{prefix}ratio"])
        out.append(_line(
            row, f"{what} ({label})", how + f"; {row.get('queries')} queries, "
            f"{row.get('rounds')} rounds",
            f"check {float(row[f'{prefix}check_seconds']) * 1000:.1f} ms, slowest query "
            f"{float(row[f'{prefix}slowest_query_seconds']) * 1000:.1f} ms, all queries one by "
            f"one {float(row[f'{prefix}sequential_seconds']) * 1000:.1f} ms",
            f"{fmt(ratio)} x", f"<= {goal:g} x", ratio <= goal))
    return out


def _plain(row: Row) -> list[Line]:
    what, how = DESCRIBED.get(str(row["bench"]), (str(row["bench"]), ""))
    skip = {"bench", "at", "goal", "ratio", "value", "how", "code", "recorded_in"}
    numbers = ", ".join(f"{k} {fmt(v)}" for k, v in row.items()
                        if k not in skip and isinstance(v, int | float))
    measured = row.get("ratio", row.get("value"))
    goal = row.get("goal")
    ok = None
    if isinstance(measured, int | float) and isinstance(goal, int | float):
        ok = met(float(measured), float(goal), "<=")
    suffix = "x" if "ratio" in row else ""
    return [_line(row, what, how, numbers, f"{fmt(measured)} {suffix}".strip(),
                  f"<= {fmt(goal)} {suffix}".strip() if goal is not None else "(none)", ok)]


def lines_of(row: Row) -> list[Line]:
    """One table line per measurement of a result row (a bench measures one or more)."""
    try:
        if "checks" in row:
            return _checks(row)
        if row["bench"] == "patterns_match":
            return _patterns(row)
        if row["bench"] == "metrics_check" and "ratio" in row:
            return _metrics_check(row)
        return _plain(row)
    except (KeyError, TypeError, ValueError) as exc:
        return [_line(row, f"(unreadable result line: {exc!r})", "", "", "", "", None)]


def cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def render(rows: list[Row]) -> str:
    latest = newest(rows)
    out = [
        "# Benchmarks",
        "",
        "`make bench` runs every `bench/bench_*.py` (each docstring says exactly what it does); "
        "each appends a line to `bench/results.jsonl` with its date and the commit it "
        "measured, and this page is generated from that file (`make bench` rewrites it, as "
        "does `make docs`). Ratios are measured side by side in one run, because machines are "
        "noisy; absolute times are this project's 2-core CI machine.",
        "",
        "## Latest measurement of each bench",
        "",
        "| bench | what | result | goal | | numbers | date | commit |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in sorted(latest):
        row = latest[name]
        for line in lines_of(row):
            out.append("| " + " | ".join(cell(c) for c in (
                name, line["what"], line["value"], line["goal"], line["result"],
                line["numbers"], date_of(row), commit_of(row))) + " |")
    out += ["", "## How each bench measures", ""]
    for name in sorted(latest):
        how = lines_of(latest[name])[0]["how"]
        out.append(f"- **{name}**: {cell(how) or '(see its docstring)'}")
    out += ["", "## Every run", "", "Oldest first, as appended to `bench/results.jsonl`.", "",
            "| date | commit | bench | results |", "|---|---|---|---|"]
    for row in rows:
        results = "; ".join(
            f"{line['value']}" + (f" ({line['result']})" if line["result"] != "-" else "")
            for line in lines_of(row))
        out.append(f"| {cell(str(row.get('at', '—')))} | {cell(commit_of(row))} "
                   f"| {cell(str(row['bench']))} | {cell(results)} |")
    return "\n".join(out) + "\n"


def summary(rows: list[Row]) -> str:
    """The README's paragraph: how many goals the latest runs meet, and which they miss."""
    lines = [line for row in newest(rows).values() for line in lines_of(row)]
    judged = [line for line in lines if line["result"] != "-"]
    missed = [line for line in judged if line["result"] != "pass"]
    text = (f"The latest run of each bench meets {len(judged) - len(missed)} of its "
            f"{len(judged)} goals")
    if missed:
        text += "; it misses " + "; ".join(
            f"{line['what']}: {line['value']} (goal {line['goal']})" for line in missed)
    text += "."
    for name, words in HEADLINED.items():
        row = newest(rows).get(name)
        if row is not None:
            text += f" {words}: " + "; ".join(
                f"{line['what']} {line['value']} ({line['result']}, goal {line['goal']})"
                for line in lines_of(row)) + "."
    link = "[docs/benchmarks.md](docs/benchmarks.md)"
    text += f" Every number, with its date and commit: {link}."
    hot = hot_path(rows)
    return text + ("\n\n" + hot if hot else "")


def _where(row: Row) -> str:
    m = row.get("machine") or {}
    load = m.get("loadavg") or ["?"]
    return (f"{date_of(row)}, {commit_of(row)}, {m.get('nproc', '?')} cores "
            f"({m.get('cpu', '?')}), load average {fmt(load[0])}")


def hot_path(rows: list[Row]) -> str:
    """Issue 31's figures with both sides of each ratio, where and when they were taken."""
    latest = newest(rows)
    parts = []
    scale = latest.get("scale")
    if scale and scale.get("machine"):
        a = scale["acks"]
        bare = a["bare"]
        before = a.get("before")
        was = (f"; the code before this work, {fmt(before['p99_ms'])} ms "
               f"(p50 {fmt(before['p50_ms'])} ms)") if before else ""
        runs = [r["acks"]["one"]["p99_ms"] / r["acks"]["bare"]["p99_ms"]
                for r in rows if r["bench"] == "scale" and r.get("machine")][-5:]
        rounds = [
            statistics.median(x / y for x, y in zip(
                r["acks"]["one"]["round_p99_ms"], r["acks"]["bare"]["round_p99_ms"],
                strict=True))
            for r in rows if r["bench"] == "scale" and "round_p99_ms" in r["acks"]["one"]
        ][-5:]
        one, two, bare2, io = a["one"], a["two"], a.get("bare2"), a.get("no_redis_io")
        split = (
            f"the same `serve` with its writes skipping Redis {fmt(io['p99_ms'])} ms "
            f"({io['p99_ms'] / bare['p99_ms']:.2f}x, p50 {fmt(io['p50_ms'])} ms): the rest "
            "is the Redis round trip before the ack; " if io else "")
        pair = (
            f"two replicas {fmt(two['p99_ms'])} ms vs two bare Bolt replicas "
            f"{fmt(bare2['p99_ms'])} ms ({two['p99_ms'] / bare2['p99_ms']:.2f}x; goal 1.2x; "
            f"{two['p99_ms'] / bare['p99_ms']:.2f}x one bare process, p50 "
            f"{fmt(two['p50_ms'])} vs {fmt(bare2['p50_ms'])} ms)"
            if bare2 else
            f"two replicas {fmt(two['p99_ms'])} ms ({two['p99_ms'] / bare['p99_ms']:.2f}x "
            f"bare Bolt; goal 1.2x; p50 {fmt(two['p50_ms'])} ms)")
        parts.append(
            f"ack p99 at 200 req/s: one `serve` {fmt(one['p99_ms'])} ms vs bare Bolt "
            f"{fmt(bare['p99_ms'])} ms ({one['p99_ms'] / bare['p99_ms']:.2f}x; goal 1.2x; p50 "
            f"{fmt(one['p50_ms'])} vs {fmt(bare['p50_ms'])} ms{was}); {split}{pair}; p99 at these "
            f"few milliseconds moves with the shared machine: one `serve`'s "
            f"ratio in the last {len(runs)} runs was {', '.join(f'{x:.2f}' for x in runs)}"
            + (f" (the median over each run's rounds of that round's ratio: "
               f"{', '.join(f'{x:.2f}' for x in rounds)})" if rounds else "")
            + f" [{_where(scale)}]")
    ingest = latest.get("timeline_ingest")
    if ingest and ingest.get("machine") and "sides" in ingest:
        bot, bare = ingest["sides"]["bot"], ingest["sides"]["bare"]
        before = ingest["sides"].get("before") if "note" not in ingest else None
        was = (f"; the code before this work, {fmt(before['events_per_second'])}/s"
               if before else "")
        parts.append(
            f"timeline ingest {fmt(bot['events_per_second'])} events stored/s vs bare Bolt "
            f"{fmt(bare['acks_per_second'])} acks/s ({fmt(ingest['value'])}x; goal 0.8x{was}), "
            + ("each stored once" if ingest.get("verify", {}).get("bot", {}).get("exactly_once")
               else "NOT each stored once") + f" [{_where(ingest)}]")
    memory = latest.get("idle_memory")
    if memory and memory.get("machine") and "rss_mb" in memory:
        r = memory["rss_mb"]
        parts.append(
            f"idle RSS `serve` {fmt(r['serve']['VmRSS'])} MB, `socket` "
            f"{fmt(r['socket']['VmRSS'])} MB, `worker` {fmt(r['worker']['VmRSS'])} MB, `serve` "
            f"with the status page, Prometheus and the model {fmt(r['serve_full']['VmRSS'])} MB "
            f"vs a bare Bolt process {fmt(r['bare']['VmRSS'])} MB (goals 100 and 120 MB) "
            f"[{_where(memory)}]")
    if not parts:
        return ""
    return ("Hot path (issue 31), each ratio's two sides measured in one run, interleaved: "
            + "; ".join(parts) + ".")
