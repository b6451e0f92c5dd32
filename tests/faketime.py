"""Debian's libfaketime for the bot's own processes: a process started with
`FakeTime(at).env()` in its environment believes it is `at`, and its clock runs on from there
(a relative offset, so every process started with it shares one fake clock). The test's own
process keeps the real clock and reads the fake one with `FakeTime.now()`. Redis keeps the
real clock too (sandbox/redis_servers.py leaves libfaketime out of its environment).

A missing library fails the test loudly (`make test` installs the `faketime` package)."""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

LIBRARY_PATTERNS = (
    "/usr/lib/*/faketime/libfaketime.so.1",  # Debian and Ubuntu (multiarch)
    "/usr/lib/faketime/libfaketime.so.1",
    "/usr/local/lib/faketime/libfaketime.so.1",
)
SATURDAY = 5


def library() -> str:
    for pattern in LIBRARY_PATTERNS:
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    raise AssertionError(
        "libfaketime is required by the any-day, any-hour tests and was not found "
        f"(looked for {', '.join(LIBRARY_PATTERNS)}); install Debian's `faketime` package"
    )


def last(weekday: int, at: time, zone: str, *, before: datetime | None = None) -> datetime:
    """The latest `weekday` (0 = Monday) at wall-clock `at` in `zone` that is already past:
    the fake clock stays in the past, where Prometheus' blocks and Redis' TTLs are at home."""
    tz = ZoneInfo(zone)
    now = (before or datetime.now(UTC)).astimezone(tz)
    day = now.date() - timedelta(days=(now.weekday() - weekday) % 7)
    when = datetime.combine(day, at, tzinfo=tz)
    if when >= now - timedelta(minutes=5):
        when = datetime.combine(day - timedelta(days=7), at, tzinfo=tz)
    return when.astimezone(UTC)


@dataclass
class FakeTime:
    """A fake clock that reads `at` now and runs on at the real pace."""

    at: datetime
    offset: timedelta = field(init=False)

    def __post_init__(self) -> None:
        self.offset = self.at - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def env(self, host_zone: str | None = None) -> dict[str, str]:
        """Environment variables for a process that lives on this clock (in `host_zone`,
        the host's time zone, when given)."""
        # a test process that itself runs under a relative FAKETIME (a whole-suite proof
        # run) hands its children the sum: their clock is this one's plus the offset
        outer = os.environ.get("FAKETIME", "")
        seconds = self.offset.total_seconds() + (
            float(outer) if re.fullmatch(r"[+-]\d+(\.\d+)?", outer) else 0.0
        )
        env = {"LD_PRELOAD": library(), "FAKETIME": f"{round(seconds):+d}"}
        if host_zone is not None:
            env["TZ"] = host_zone
        return env
