"""The seed's correlation table and dependency cascade, as plain text."""

from __future__ import annotations

from bot.metrics.models import Cascade, Correlation, CorrelationRow, Verdict
from bot.metrics.render import duration, ts

CORRELATION_HEADER = "Time    Errors/sec    DB Connections    Latency P99"
CORRELATION_RULE = "----    ----------    --------------    -----------"


def _corr_row(row: CorrelationRow) -> str:
    err = "n/a" if row.errors_per_second is None else f"{row.errors_per_second:.2f}"
    if row.db_active is None or row.db_percent is None:
        db = "n/a"
    else:
        db = f"{round(row.db_active)}/{round(row.pool_size)} ({round(row.db_percent)}%)"
    lat = "n/a" if row.latency_p99_ms is None else f"{round(row.latency_p99_ms)}ms"
    line = f"{duration(row.offset):<8}{err:<13}{db:<18}{lat}"
    return f"{line} [INCIDENT]" if row.incident else line


def render_correlation(corr: Correlation) -> str:
    """The seed's correlation table; `[INCIDENT]` marks the first row where error rate,
    pool and P99 are all at least HIGH."""
    lines = [
        f"Error Rate vs Database Connections: {corr.service}, "
        f"{ts(corr.start)} to {ts(corr.end)}, step {duration(corr.step)}",
        CORRELATION_HEADER,
        CORRELATION_RULE,
        *(_corr_row(r) for r in corr.rows),
    ]
    turn = corr.turning_point
    if turn is not None:
        lines.append(f"Turning point: {duration(turn.offset)} ({ts(turn.at)}).")
    else:
        lines.append("No turning point in this window.")
    for name, why in corr.failures.items():
        lines.append(f"Could not run {name}: {why}")
    return "\n".join(lines)


def render_cascade(cascade: Cascade) -> str:
    """The seed's dependency diagram plus where the failure starts."""
    chain = cascade.chain
    names = [n.name for n in chain]
    top = " --> ".join(names)
    starts: list[int] = []
    col = 0
    for name in names:
        starts.append(col)
        col += len(name) + len(" --> ")
    pipe_cols = [
        s + (len(n.name) - 1) // 2
        for s, n in zip(starts, chain, strict=True)
        if n.kind == "service"
    ]

    def marks(ch: str) -> str:
        row = [" "] * (max(pipe_cols) + 1 if pipe_cols else 0)
        for c in pipe_cols:
            row[c] = ch
        return "".join(row).rstrip()

    stats: list[list[str]] = []
    for node in chain:
        if node.kind == "database":
            db = node.db
            conn = f"{round(db.active)}/{round(db.pool_size)}" if db else "n/a"
            stats.append([f"Connections: {conn}"])
        else:
            err = "n/a" if node.error_rate is None else f"{node.error_rate:.1f}/s"
            lat = "n/a" if node.latency_p99_ms is None else f"{node.latency_p99_ms / 1000:.1f}s"
            stats.append([f"Error: {err}", f"Latency: {lat}"])
    widths = [
        max(len(c[0]) + 3, *(len(x) + 2 for x in c[1:])) if c[1:] else len(c[0]) + 3 for c in stats
    ]
    stat_lines: list[str] = []
    for i in range(max(len(c) for c in stats) if stats else 0):
        cells = [(c[i] if i < len(c) else "").ljust(w) for c, w in zip(stats, widths, strict=True)]
        stat_lines.append("".join(cells).rstrip())

    lines = [top]
    if pipe_cols:
        lines += [marks("|"), marks("v")]
    lines += stat_lines
    lines.append("")
    if cascade.origin is None:
        lines.append("No failure: every node of the chain is OK.")
    else:
        origin = next(n for n in chain if n.name == cascade.origin)
        lines.append(f"Failure starts at: {origin.name} [{origin.verdict}]")
        idx = names.index(origin.name)
        followers = [
            n.name
            for n in reversed(chain[:idx])
            if n.verdict is not None and n.verdict is not Verdict.OK
        ]
        if followers:
            lines.append("Then: " + " → ".join(followers) + " (each depends on the one before)")
    return "\n".join(lines)
