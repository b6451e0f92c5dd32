"""`make run` without credentials: every scenario in sandbox/demo/scenarios/ is played end to
end (real Redis db 14, real Prometheus, the Slack emulator, the stand-ins), and each step's
checks must pass; a broken step fails loudly, naming itself and what was missing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from sandbox.demo import run_demo
from sandbox.demo.scenario import names
from tests.conftest import redis_db_url


def seed_output_is_the_whole_incident(out: str) -> None:
    assert re.search(r"PagerDuty \(stand-in\) paged: INC-\S+:", out), out
    assert "tracked in Jira (stand-in): OPS-1" in out
    assert "Ops Lead: @bob" in out and "Comms Lead: @charlie" in out
    assert "12.50 errors/sec (25.0% of requests) [CRITICAL]" in out
    assert "98/100 (98%) [CRITICAL]" in out
    # /metrics correlate runs at the scenario's "now": the seed-000 ramp, turning at 120s
    assert re.search(r"120s\s+12\.50\s+98/100 \(98%\)\s+2800ms \[INCIDENT\]", out), out
    dm_bob = out.split("### DM with @bob", 1)[1].split("###", 1)[0]
    assert "AI-0001" in dm_bob and "Add DB pool alert at 80%" in dm_bob
    # a status update to the channel, the announcement's thread and a follower; its cadence
    dm_diana = out.split("### DM with @diana", 1)[1].split("###", 1)[0]
    assert "Status update #1" in dm_diana and "You follow this incident" in dm_diana
    incidents = out.split("### #incidents", 1)[1].split("###", 1)[0]
    assert "Status update #1" in incidents and "*Resolved* after" in incidents
    dm_charlie = out.split("### DM with @charlie", 1)[1].split("###", 1)[0]
    assert "A status update for" in dm_charlie and "[Post update]" in dm_charlie
    assert "[Resolve anyway]" in out and "(only you)" in out
    assert "call link (the fixed bridge): https://meet.acme.example/incident-bridge" in out
    assert re.search(r"Postmortem published to Confluence \(stand-in\): "
                     r"http://127\.0\.0\.1:\d+/wiki/spaces/OPS/pages/\d+/\S+ "
                     r"\(“Postmortem INC-[^”]+”, page version \d\)", out)
    assert "<@U0" not in out


@pytest.mark.parametrize("scenario", names())
async def test_every_scenario_plays_to_the_end(
    scenario: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await run_demo(out_dir=str(tmp_path), redis_url=redis_db_url(14), scenario=scenario)
    out = capsys.readouterr().out
    assert code == 0, out
    assert redis_db_url(14) in out and "flushed" in out
    assert "Every step worked." in out and "✗" not in out
    assert "#inc-" in out and "Postmortem written to" in out
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
    if scenario == "seed":
        seed_output_is_the_whole_incident(out)


BROKEN = """
about: a step that does not show what it says
stand-ins: []
steps:
  - do: "alice declares in #incidents"
    as: alice
    in: "#incidents"
    command: /incident declare Disk full on the build farm sev:3
    shows:
      - in: "#incidents"
        text: "Disk full on the build farm — declared by @alice"
  - do: bob is made Ops lead
    as: alice
    command: /incident role ops @bob
    shows:
      - in: incident
        text: "Ops Lead: @charlie"
  - do: never played
    as: alice
    command: /incident note too late
"""


async def test_a_broken_step_fails_loudly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.yml"
    path.write_text(BROKEN, encoding="utf-8")
    code = await run_demo(out_dir=str(tmp_path), redis_url=redis_db_url(14), scenario=str(path))
    out = capsys.readouterr().out
    assert code == 1, out
    assert "✓ alice declares in #incidents" in out
    assert "✗ bob is made Ops lead: expected 'Ops Lead: @charlie' in incident; it showed:" in out
    assert "Ops Lead: @bob" in out.split("✗ bob is made Ops lead", 1)[1].splitlines()[0]
    assert "never played" not in out and "1 step(s) failed" in out


async def test_a_mistake_in_a_scenario_file_is_named_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "typo.yml"
    path.write_text(BROKEN.replace("command: /incident note", "comand: /incident note"))
    code = await run_demo(out_dir=str(tmp_path), redis_url=redis_db_url(14), scenario=str(path))
    out = capsys.readouterr().out
    assert code == 2
    assert "typo.yml, step 3 ('never played'): give exactly one action of" in out
    assert "(found comand)" in out and "flushed" not in out
    assert await run_demo(scenario="no-such-scenario") == 2
    refused = capsys.readouterr().out
    assert "unknown scenario 'no-such-scenario'; choose one of" in refused and "seed" in refused


async def test_a_scenario_played_like_another_names_what_its_values_lack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`like: otel` plays otel's steps with the file's own `expect:` values; a file that
    lacks one, names one otel does not use, or gives steps too is refused before anything
    runs, naming the file and the value."""
    header = "about: mine\nprometheus: otel\nservices: [ledger-svc, basket-api]\n"
    cases = {
        "lacking.yml": (header + "like: otel\nexpect:\n  errors: x\n  pool: y\n",
                        "like: otel needs expect: values for errors, pool, turn (missing: turn;"),
        "unknown.yml": (header + "like: otel\nexpect:\n  errors: x\n  pool: y\n  turn: z\n"
                        "  extra: w\n", "unknown: extra)"),
        "both.yml": (header + "like: otel\nexpect: {}\nsteps: []\n",
                     "both.yml: give `like:` or `steps:`, not both"),
        "stray.yml": (BROKEN.replace("Ops Lead: @charlie", "${nowhere}"),
                      "stray.yml: ${nowhere} has no value under expect:"),
    }
    for name, (text, said) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        code = await run_demo(out_dir=str(tmp_path), redis_url=redis_db_url(14),
                              scenario=str(path))
        out = capsys.readouterr().out
        assert code == 2 and said in out and "flushed" not in out, (name, out)


async def test_the_demo_serves_the_web_app_for_a_newcomer(tmp_path: Path, capsys: Any) -> None:
    """After the transcript `make run` keeps the world up: its printed sign-in link signs a
    bundled user in through the emulator and lands on the demo incident's page."""
    import aiohttp

    seen: dict[str, str] = {}

    async def newcomer(world: Any, incident_id: str | None) -> None:
        out = capsys.readouterr().out
        link = next(line.split()[-1] for line in out.splitlines()
                    if line.strip().startswith("sign in as bob"))
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http, http.get(link) as page:
            seen["status"], seen["url"] = str(page.status), str(page.url)
            seen["page"] = await page.text()
        seen["incident"] = incident_id or ""
        status_page = next(line.split()[2] for line in out.splitlines()
                           if line.startswith("Status page: "))
        async with aiohttp.ClientSession() as http, http.get(status_page) as page:
            seen["status page"] = await page.text()

    code = await run_demo(out_dir=str(tmp_path), redis_url=redis_db_url(14), serve=newcomer)
    assert code == 0
    assert seen["status"] == "200" and seen["url"].endswith(f"/incidents/{seen['incident']}")
    assert "Bob Brown" in seen["page"] and seen["incident"] in seen["page"]
    assert 'id="timeline"' in seen["page"]
    # the status page it prints: the demo's outage, published and resolved
    assert "All Systems Operational" in seen["status page"]
    assert "Checkout degraded" in seen["status page"].split('id="past-h"')[1]
