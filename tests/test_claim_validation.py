"""The claim checks on their own (bot.postmortem.validation): what passes, what is flagged and
why, what is dropped — on a small record built in memory (no I/O in these checks)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.incidents.models import Incident, Role, Severity, Status
from bot.postmortem.grounding import FactSheet, build_fact_sheet, render_placeholders
from bot.postmortem.validation import check_claim
from bot.runbooks import RunbookLibrary
from bot.timeline.models import EventKind, TimelineEntry, TimelineEvent

RUNBOOKS = Path(__file__).resolve().parent.parent / "runbooks"
T0 = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)


def entry(
    minutes: int, kind: EventKind, text: str, actor: str | None = "U0OPS1", **data: str
) -> TimelineEntry:
    at = T0 + timedelta(minutes=minutes)
    event = TimelineEvent(
        kind=kind,
        at=at,
        actor=actor,
        text=text,
        key=True,
        message_ts=f"{at.timestamp():.6f}",
        data=data,
    )
    return TimelineEntry(event=event, stream_id=f"{minutes}-0")


@pytest.fixture(scope="module")
def sheet() -> FactSheet:
    incident = Incident(
        id="INC-20260304-0007",
        title="Orders queue backing up",
        severity=Severity.SEV2,
        status=Status.RESOLVED,
        services=["orders-worker"],
        channel_id="C0ORDERS",
        channel_name="inc-orders",
        roles={Role.IC: "U0LEAD1", Role.OPS: "U0OPS1"},
        declared_by="U0LEAD1",
        declared_at=T0,
        mitigated_at=T0 + timedelta(minutes=30),
        resolved_at=T0 + timedelta(minutes=40),
        resolution_summary="Rolled back v4.2.0",
    )
    library = RunbookLibrary.from_folder(RUNBOOKS)
    entries = [
        entry(0, EventKind.DECLARED, "Incident declared", "U0LEAD1"),
        entry(5, EventKind.NOTE, "Queue depth 12,400 and climbing; v4.2.0 went out at 08:40"),
        entry(8, EventKind.METRICS, "worker p99 2400ms [HIGH]; error rate 7.5%", None, p99="2400"),
        entry(20, EventKind.NOTE, "Decision: roll back v4.2.0"),
        entry(25, EventKind.NOTE, "Rolled back v4.2.0", "U0OPS2"),
    ]
    cite = library.find(["ConnectionPoolTimeoutError", "Traffic Spike"])
    assert cite is not None
    s = build_fact_sheet(incident, entries, citations=[cite], library=library, now=T0)
    s.names.update({"lena": "U0LEAD1", "omar": "U0OPS1"})
    return s


def verdict(
    sheet: FactSheet, text: str, evidence: list[str] | None = None, **kw: bool
) -> tuple[str, str]:
    c = check_claim("summary", [text], evidence or [], sheet, **kw)
    return c.verdict, c.reason


def test_the_sheet_numbers_the_record(sheet: FactSheet) -> None:
    assert [f.id for f in sheet.facts.values()] == ["E1", "E2", "M1", "E3", "E4", "R1"]
    assert sheet.facts["E4"].is_fix and not sheet.facts["E3"].is_fix  # a decision is not the fix
    assert sheet.facts["E2"].permalink is not None
    assert set(sheet.people) == {"U0LEAD1", "U0OPS1", "U0OPS2"}


def test_placeholders_are_filled_from_the_record(sheet: FactSheet) -> None:
    text, unknown = render_placeholders(
        "{person:ic} rolled back at {time:E4} after {duration:ttm}; p99 was {value:M1.p99} ms",
        sheet,
    )
    assert text == "@U0LEAD1 rolled back at 09:25 UTC after 30m 0s; p99 was 2400 ms"
    assert unknown == []
    _, unknown = render_placeholders("{time:E99} {person:comms} {value:M1.nope}", sheet)
    assert unknown == ["{time:E99}", "{person:comms}", "{value:M1.nope}"]


@pytest.mark.parametrize(
    "text",
    [
        "The queue reached 12,400 jobs and p99 2400ms.",  # numbers of the record
        "Error rate was about 7.6%.",  # within tolerance of 7.5
        "v4.2.0 shipped at 08:40, before the incident.",  # a time the record mentions
        "It was rolled back at 09:25.",  # inside the window
        "Two workers and 3 retries were involved.",  # small counts are not measurements
        "Ops lead @omar and <@U0OPS2> rolled it back.",  # people of the record
        "See Engineering Runbook: Database Connection Issues → Root Causes → 1. Traffic Spike.",
        "It took {duration:ttr} in total.",
        "The Ops Lead and the Comms Lead were assigned; Omar, the on-call engineer, paged Lena.",
        "The Platform team was paged; Database Connection Issues runbook was followed.",
    ],
)
def test_what_the_record_supports_is_kept(sheet: FactSheet, text: str) -> None:
    assert verdict(sheet, text, ["E2"]) == ("kept", "")


@pytest.mark.parametrize(
    ("text", "evidence", "why"),
    [
        ("Error rate peaked at 47%.", [], "gives 47%, which matches no reading"),
        ("Error rate hit 40%.", [], "gives 40%"),  # 40 is in the record, as minutes only
        ("The queue hit 90,000 jobs.", [], "gives 90,000"),
        ("It started at 03:12 UTC.", [], "gives the time 03:12, outside the incident (09:00–09:40"),
        ("Decided on 2026-02-01.", [], "gives the date 2026-02-01, not the incident's"),
        ("A partition in eu-west-1 cut it off.", [], "names region eu-west-1"),
        ("As the runbook “Kafka Rebalancing” says.", [], "cites the runbook “Kafka Rebalancing”"),
        (
            "See Runbook: Queues → Backpressure Playbook.",
            [],
            "cites runbook section “Backpressure Playbook”",
        ),
        ("Per E42, workers stalled.", [], "cites E42, which is not in the record"),
        ("Workers stalled.", ["E42"], "cites 'E42', which is not in the record"),
        ("Workers stalled.", ["https://example.com/x"], "which is not in the record"),
        ("Stalled at {time:E77}.", [], "refers to {time:E77}"),
    ],
)
def test_what_the_record_does_not_support_is_flagged_with_the_reason(
    sheet: FactSheet, text: str, evidence: list[str], why: str
) -> None:
    v, reason = verdict(sheet, text, evidence)
    assert v == "flagged" and why in reason, reason


@pytest.mark.parametrize(
    "text",
    [
        "Incident commander Priya Raman took over.",
        "@priya restarted the workers.",
        "<@U0PRIYA99> restarted the workers.",
        "The on-call engineer, Priya, missed the page.",
        "Because Priya Raman, the incident commander, was asleep.",
        "Because Priya (IC) missed the alert.",
        "The alert was escalated to Priya.",
    ],
)
def test_a_person_the_record_does_not_know_drops_the_claim(sheet: FactSheet, text: str) -> None:
    v, reason = verdict(sheet, text, ["E2"])
    assert v == "dropped" and "not in the record" in reason


def test_a_root_cause_needs_evidence_that_exists(sheet: FactSheet) -> None:
    assert verdict(sheet, "The v4.2.0 rollout", [], needs_evidence=True)[0] == "flagged"
    assert (
        verdict(sheet, "The v4.2.0 rollout", ["E2", "M1", "R1"], needs_evidence=True)[0] == "kept"
    )
    by_link = sheet.facts["E2"].permalink
    assert by_link is not None
    assert verdict(sheet, "The v4.2.0 rollout", [by_link], needs_evidence=True)[0] == "kept"


def test_kept_text_names_people_the_way_the_draft_does(sheet: FactSheet) -> None:
    c = check_claim("summary", ["<@U0OPS2> rolled back at {time:E4}."], ["E4"], sheet)
    assert c.verdict == "kept" and c.text == "@U0OPS2 rolled back at 09:25 UTC."
