"""`make run` without credentials: the whole local demo, end to end (real Redis db 14, real
Prometheus, the Slack emulator, the Anthropic stand-in)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.demo import run_demo
from tests.conftest import redis_db_url


async def test_demo_plays_a_whole_incident(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await run_demo(out_dir=str(tmp_path), redis_url=redis_db_url(14))
    out = capsys.readouterr().out
    assert code == 0, out
    assert redis_db_url(14) in out and "flushed" in out
    assert "#inc-" in out
    assert re.search(r"PagerDuty \(stand-in\) paged: INC-\S+:", out), out
    assert "tracked in Jira (stand-in): OPS-1" in out
    assert "Ops Lead: @bob" in out and "Comms Lead: @charlie" in out
    assert "12.50 errors/sec (25.0% of requests) [CRITICAL]" in out
    assert "98/100 (98%) [CRITICAL]" in out
    # /metrics correlate runs at the scenario's "now": the seed-000 ramp, turning at 120s
    assert re.search(r"120s\s+12\.50\s+98/100 \(98%\)\s+2800ms \[INCIDENT\]", out), out
    assert "### DM with @bob" in out
    dm_bob = out.split("### DM with @bob", 1)[1].split("###", 1)[0]
    assert "AI-0001" in dm_bob and "Add DB pool alert at 80%" in dm_bob
    assert "Resolved" in out
    # a status update to the channel, the announcement's thread and a follower; its cadence
    dm_diana = out.split("### DM with @diana", 1)[1].split("###", 1)[0]
    assert "Status update #1" in dm_diana and "You follow this incident" in dm_diana
    incidents = out.split("### #incidents", 1)[1].split("###", 1)[0]
    assert "Status update #1" in incidents and "*Resolved* after" in incidents
    dm_charlie = out.split("### DM with @charlie", 1)[1].split("###", 1)[0]
    assert "A status update for" in dm_charlie and "[Post update]" in dm_charlie
    assert "(only you)" in out
    assert "<@U0" not in out
    files = list(tmp_path.glob("postmortem-INC-*.md"))
    assert len(files) == 1
    text = files[0].read_text(encoding="utf-8")
    assert "## Timeline" in text
    assert "root cause" in text.lower()
    # one classifier: the recurrence note and the postmortem name the same cause, the deploy
    # the rollback undid (not the traffic spike the metrics' runbook section mentions)
    assert "Root-cause category: *bad deploy* — what fixed it: “Rolled back v2.3.4”" in out
    primary = text.split("### Primary Root Cause", 1)[1].split("###", 1)[0]
    assert "Change introduced by a recent deployment (v2.3.4)" in primary
    assert "Root-cause category: bad deploy." in text  # the postmortem's Pattern Recognition
    assert "action items" in text.lower()
