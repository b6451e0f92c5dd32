"""Small line charts of the metric readings an incident's checks recorded (each check puts
its numbers on the timeline: db_pool_percent, p99_ms.<service>…): SVG drawn on the server,
no script, with the readings' table beside it on the page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.timeline.models import TimelineEntry

WIDTH, HEIGHT, PAD = 320, 90, 6


@dataclass(frozen=True)
class Series:
    name: str
    points: list[tuple[datetime, float]]

    @property
    def low(self) -> float:
        return min(v for _, v in self.points)

    @property
    def high(self) -> float:
        return max(v for _, v in self.points)

    def polyline(self) -> str:
        """The `points` attribute of an SVG polyline over WIDTH x HEIGHT (numbers only)."""
        times = [t.timestamp() for t, _ in self.points]
        t0, span = times[0], (times[-1] - times[0]) or 1.0
        low, rise = self.low, (self.high - self.low) or 1.0
        coords = []
        for (_, value), t in zip(self.points, times, strict=True):
            x = PAD + (t - t0) / span * (WIDTH - 2 * PAD)
            y = HEIGHT - PAD - (value - low) / rise * (HEIGHT - 2 * PAD)
            coords.append(f"{x:.1f},{y:.1f}")
        return " ".join(coords)


def series(readings: list[TimelineEntry]) -> list[Series]:
    """Every number that two or more readings recorded, as a series over time."""
    found: dict[str, list[tuple[datetime, float]]] = {}
    for entry in readings:
        for name, raw in entry.event.data.items():
            try:
                value = float(raw)
            except ValueError:
                continue
            found.setdefault(name, []).append((entry.event.at, value))
    return [Series(name, sorted(points)) for name, points in sorted(found.items())
            if len(points) >= 2]
