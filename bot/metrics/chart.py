"""A PNG of a correlation window: error rate, P99 latency and DB pool use over time, the
turning point marked. matplotlib (Agg backend) is imported only when a chart is drawn,
so the bot starts and answers without it."""

from __future__ import annotations

import io
from typing import Any

from bot.metrics.models import Correlation


def correlation_png(corr: Correlation) -> bytes:
    """Three stacked panels sharing the time axis; gaps where a reading is missing."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    times = [r.at for r in corr.rows]
    panels: list[tuple[str, list[float | None], str]] = [
        ("5xx errors/sec", [r.errors_per_second for r in corr.rows], "#d62728"),
        ("P99 latency (ms)", [r.latency_p99_ms for r in corr.rows], "#1f77b4"),
        ("DB pool used (%)", [r.db_percent for r in corr.rows], "#2ca02c"),
    ]
    fig: Any
    fig, axes = plt.subplots(3, 1, figsize=(8, 6.5), sharex=True)
    try:
        for ax, (label, values, color) in zip(axes, panels, strict=True):
            ys = [float("nan") if v is None else v for v in values]
            ax.plot(times, ys, color=color, linewidth=1.8)
            ax.set_ylabel(label, fontsize=9)
            ax.grid(True, alpha=0.3)
            if corr.turning_point is not None:
                ax.axvline(corr.turning_point.at, color="#555", linestyle="--", linewidth=1)
        axes[0].set_title(
            f"{corr.service}: {corr.start:%H:%M}–{corr.end:%H:%M} UTC"
            + (f", turning point {corr.turning_point.at:%H:%M:%S}" if corr.turning_point else ""),
            fontsize=10,
        )
        axes[-1].set_xlabel("time (UTC)", fontsize=9)
        fig.autofmt_xdate()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
        return buf.getvalue()
    finally:
        plt.close(fig)
