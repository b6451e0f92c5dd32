"""`make eval` keeps working: on two recorded incidents, a faithful answer is kept whole and
an inventing one shows nothing invented as fact (the full run is `make eval`)."""

from __future__ import annotations

import pytest

from bench.eval_postmortem import evaluate
from sandbox.recorded_incidents import DEMO, THIN
from tests.conftest import redis_db_url


async def test_eval_on_recorded_incidents(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVAL_REDIS_URL", redis_db_url(3))
    rows = await evaluate((DEMO, THIN), ("faithful", "invent_all"))
    faithful = [r for r in rows if r.mode == "faithful"]
    inventing = [r for r in rows if r.mode == "invent_all"]
    assert all(r.ai_written and r.kept > 20 and not (r.flagged or r.dropped) for r in faithful)
    assert all(r.flagged >= 5 and r.dropped >= 1 and r.leaked == 0 for r in inventing)
    assert all(0 < r.first_ms <= r.ai_ms for r in rows)
