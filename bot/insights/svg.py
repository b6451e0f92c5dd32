"""Charts drawn on the server as SVG, by hand: no script and no library in the browser.

Every text that reaches the drawing (labels, series names, titles) is escaped here, so a
service named `<script>` is drawn as those characters. Each chart is an `<svg role="img">`
with a `<title>`; the page puts a table of the same numbers beside it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 48
COLOURS = ("#b42318", "#dc6803", "#2e90fa", "#667085", "#12b76a", "#7a5af8", "#ee46bc")

Format = Callable[[float], str]


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]  # one per label; None: nothing to draw that week


def _e(text: str) -> str:
    return escape(text, quote=True)


def nice_ceiling(value: float) -> float:
    """The axis top: 1, 2, 2.5 or 5 times a power of ten, at or above `value`."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _frame(title: str, top: float, labels: Sequence[str], fmt: Format, body: list[str]) -> str:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'aria-label="{_e(title)}"><title>{_e(title)}</title>'
    ]
    for n in range(5):
        value = top * n / 4
        y = TOP + plot_h - plot_h * n / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#e4e7ec"/><text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
            f'font-size="11" fill="#475467">{_e(fmt(value))}</text>'
        )
    step = max(1, math.ceil(len(labels) / 12))
    for n, label in enumerate(labels):
        if n % step == 0:
            x = LEFT + plot_w * (n + 0.5) / max(len(labels), 1)
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                f'font-size="11" fill="#475467">{_e(label)}</text>'
            )
    parts.extend(body)
    return "".join(parts) + "</svg>"


def _legend(names: Sequence[str]) -> list[str]:
    out, x = [], LEFT
    for n, name in enumerate(names):
        colour = COLOURS[n % len(COLOURS)]
        out.append(
            f'<rect x="{x}" y="{HEIGHT - 18}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="{HEIGHT - 9}" font-size="11" fill="#344054">{_e(name)}</text>'
        )
        x += 24 + 7 * len(name)
    return out


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    fmt: Format,
    ceiling: Callable[[float], float] = nice_ceiling,
) -> str:
    """A trend line per series over the weeks (gaps where a week has no value); `ceiling`
    picks the axis top (its quarters are the grid lines)."""
    top = ceiling(max((v for s in series for v in s.values if v is not None), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    body: list[str] = []
    for n, s in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        runs: list[list[str]] = [[]]
        for i, value in enumerate(s.values):
            if value is None:
                runs.append([])
                continue
            x = LEFT + plot_w * (i + 0.5) / max(len(labels), 1)
            y = TOP + plot_h - plot_h * value / top
            runs[-1].append(f"{x:.1f},{y:.1f}")
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
                f"<title>{_e(f'{s.name}, {labels[i]}: {fmt(value)}')}</title></circle>"
            )
        body.extend(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(run)}"/>'
            for run in runs
            if len(run) > 1
        )
    return _frame(title, top, labels, fmt, body + _legend([s.name for s in series]))


def stacked_bars(title: str, labels: Sequence[str], series: Sequence[Series]) -> str:
    """One bar per week, stacked by series (incidents per week by severity)."""
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
    top = nice_ceiling(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(labels), 1)
    body: list[str] = []
    for i, label in enumerate(labels):
        base = float(TOP + plot_h)
        for n, s in enumerate(series):
            value = s.values[i] or 0
            if not value:
                continue
            h = plot_h * value / top
            base -= h
            body.append(
                f'<rect x="{LEFT + slot * i + slot * 0.15:.1f}" y="{base:.1f}" '
                f'width="{slot * 0.7:.1f}" height="{h:.1f}" fill="{COLOURS[n % len(COLOURS)]}">'
                f"<title>{_e(f'{s.name}, {label}: {value:g}')}</title></rect>"
            )
    return _frame(title, top, labels, lambda v: f"{v:g}", body + _legend([s.name for s in series]))


def hbars(title: str, rows: Sequence[tuple[str, float]], fmt: Format) -> str:
    """Horizontal bars, one per row (after-hours load, recurring causes)."""
    height = TOP + 22 * max(len(rows), 1) + 8
    label_w = 160
    top = nice_ceiling(max((v for _, v in rows), default=0))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'aria-label="{_e(title)}"><title>{_e(title)}</title>'
    ]
    for n, (label, value) in enumerate(rows):
        y = TOP + 22 * n
        w = (WIDTH - label_w - RIGHT - 48) * value / top
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" font-size="12" '
            f'fill="#344054">{_e(label[:28])}</text><rect x="{label_w}" y="{y + 2}" '
            f'width="{w:.1f}" height="16" fill="{COLOURS[2]}"/><text x="{label_w + w + 4:.1f}" '
            f'y="{y + 14}" font-size="11" fill="#475467">{_e(fmt(value))}</text>'
        )
    return "".join(parts) + "</svg>"
