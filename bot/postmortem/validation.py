"""Checking what a model wrote against the record, claim by claim. Reusable: any feature
that lets the model write about an incident (postmortems, `/incident summary exec`) builds a
`FactSheet` (bot.postmortem.grounding.build_fact_sheet) and calls `check_claim` per
statement, then shows only `kept` claims as fact.

A claim is checked for
- people: every Slack mention, @handle, user id, placeholder or "commander <Name>" must be
  someone the record knows (roles, the declarer, authors of timeline events);
- citations: every evidence id, id in the prose, permalink, link and runbook path must exist
  (events, readings, the runbook headings);
- times: every clock time or date must fall inside the incident window, or be a time the
  record itself mentions (a deploy before the incident, say);
- numbers: every measured number must match a number of the record within tolerance
  (3 % or 0.5; a percentage only against the record's percentages), or one of the bot's own draft;
- regions: every cloud region or zone named must appear in the record.

Verdicts: `kept`; `flagged` (shown only under "Unverified (model's suggestion)" with the
reason); `dropped` (never shown: it names a person the record does not know)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from bot.mrkdwn import plain
from bot.postmortem.grounding import (
    PLACEHOLDER,
    Fact,
    FactSheet,
    numbers_in,
    placeholder_ids,
    render_placeholders,
)

Verdict = Literal["kept", "flagged", "dropped"]
ProblemKind = Literal["person", "citation", "evidence", "time", "number", "region"]
REL_TOLERANCE = 0.03
ABS_TOLERANCE = 0.5
SMALL_COUNT = 10  # bare small integers ("3 retries", "two of 5 pods") are not measurements

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_HANDLE = re.compile(r"(?<![\w@])@([A-Za-z][\w.\-]*[A-Za-z0-9])")
_USER_ID = re.compile(r"\b[UW](?=[A-Z0-9]*\d)[A-Z0-9]{6,}\b")
_ROLE_NAME = re.compile(
    r"\b(?i:commander|lead|engineer|on-?call|owner|responder|manager|sre|ic)\b"
    r"(?:\s*[,:(]\s*|\s+(?:was|is|named)\s+|\s+)"
    r"([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)"
)
_NAME = r"([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)"
_NAME_THEN_ROLE = re.compile(
    _NAME + r",?\s+(?:\(|(?:was|is)\s+)?(?:the\s+|our\s+)?"
    r"(?i:incident commander|on-?call|engineer|lead|sre|manager|responder|ic)\b"
)
_ACT_ON_NAME = re.compile(
    r"\b(?i:assigned to|paged|pinged|owned by|escalated to|handed (?:over )?to|"
    r"called|woke up|asked)\s+" + _NAME
)
# capitalised words that start a sentence or a team's name, not a person's
_NOT_NAMES_TEXT = (
    "the a an this that these those team channel runbook database slack api service role "
    "assigned assign was is on for and of to in incident response rotation page pager "
    "postmortem review status ops comms communications call oncall support platform "
    "backend frontend security infra infrastructure engineering because our it we they "
    "see per as after before when then no not new each every any some all one two add "
    "set keep make notify require alert agreed while with without also if only first "
    "last next senior junior primary secondary acting former duty shift weekend night "
    "day"
)
NOT_NAMES = frozenset(_NOT_NAMES_TEXT.split())
_FACT_ID = re.compile(r"\b[EMR]\d{1,4}\b")
_URL = re.compile(r"https?://[^\s<>|)\]]+")
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::\d{2})?Z?)?\b")
_CLOCK = re.compile(r"(?<![\d:])([01]?\d|2[0-3]):([0-5]\d)(?::[0-5]\d)?(?![\d:])")
_VERSION = re.compile(r"\bv?\d+(?:\.\d+){2,3}\b|\bv\d+(?:\.\d+)?\b")
_IDS = re.compile(r"\b(?:[A-Z]{2,}-\d[\w-]*|P[0-3]|PA-\d+|AI-\d+|N\+1|[A-Za-z]+\d+[A-Za-z]*)\b")
_MEASURE = re.compile(
    r"\s*(%|x\b|×|ms\b|s\b|sec|min|m\b|h\b|hours?|minutes?|seconds?|req|rps|qps|k\b|"
    r"users|connections|errors|requests|queries|mb|gb|/)",
    re.I,
)
_REGION = re.compile(
    r"\b(?:(?:us|eu|ap|sa|ca|me|af|il|mx)-(?:gov-)?"
    r"(?:north|south|east|west|central|northeast|southeast|northwest|southwest)-\d[a-z]?"
    r"|(?:us|europe|asia|australia|southamerica|northamerica|me|africa)-"
    r"(?:north|south|east|west|central|northeast|southeast|northwest|southwest)\d(?:-[a-c])?"
    r"|(?:east|west|north|south|central|northcentral|southcentral|westcentral)"
    r"(?:us|europe|asia|uk)\d?)\b",
    re.I,
)
_RUNBOOK_QUOTED = re.compile(
    r"runbooks?\s+(?:section\s+)?[\"“']([^\"”']+)[\"”']|[\"“']([^\"”']+)[\"”']\s+runbook", re.I
)


@dataclass(frozen=True)
class Problem:
    kind: ProblemKind
    detail: str  # plain words, shown to people


@dataclass
class ClaimCheck:
    section: str
    text: str  # with placeholders filled from the record (parts joined by " — ")
    verdict: Verdict
    problems: list[Problem] = field(default_factory=list)
    evidence: list[Fact] = field(default_factory=list)  # the cited facts that exist
    parts: list[str] = field(default_factory=list)  # each prose part, placeholders filled

    @property
    def reason(self) -> str:
        return "; ".join(p.detail for p in self.problems)


def check_claim(
    section: str,
    texts: Sequence[str],
    evidence: Sequence[str],
    sheet: FactSheet,
    *,
    needs_evidence: bool = False,
    check_numbers: bool = True,
) -> ClaimCheck:
    """Check one statement (its prose parts and the evidence ids it cites) against the
    record. `needs_evidence`: a claim citing no existing fact is flagged."""
    problems: list[Problem] = []
    cited: list[Fact] = []
    for ref in evidence:
        fact = sheet.fact(ref)
        if fact is None:
            problems.append(
                Problem("citation", f"cites {ref.strip()!r}, which is not in the record")
            )
        elif fact not in cited:
            cited.append(fact)
    rendered: list[str] = []
    for raw in texts:
        text, unknown = render_placeholders(raw, sheet)
        problems += [
            Problem("citation", f"refers to {u}, which is not in the record") for u in unknown
        ]
        for ref in placeholder_ids(raw):
            fact = sheet.facts.get(ref)
            if fact is not None and fact not in cited:
                cited.append(fact)
        prose = PLACEHOLDER.sub(" ", raw)
        allowed = [n for f in cited if f.kind == "runbook" for n in numbers_in(f.text)]
        problems += check_text(prose, sheet, allowed_numbers=allowed, check_numbers=check_numbers)
        rendered.append(plain(text))  # `<@U1>` -> `@U1`, as the rest of the draft
    if needs_evidence and not cited:
        problems.append(Problem("evidence", "cites no event, reading or runbook section"))
    problems = list(dict.fromkeys(problems))
    verdict: Verdict = "kept"
    if any(p.kind == "person" for p in problems):
        verdict = "dropped"
    elif problems:
        verdict = "flagged"
    return ClaimCheck(
        section=section,
        text=" — ".join(t for t in rendered if t),
        verdict=verdict,
        problems=problems,
        evidence=cited,
        parts=rendered,
    )


def check_text(
    text: str,
    sheet: FactSheet,
    *,
    allowed_numbers: Iterable[float] = (),
    check_numbers: bool = True,
) -> list[Problem]:
    """The problems of free prose (placeholders already removed)."""
    problems = check_people(text, sheet)
    problems += check_citations(text, sheet)
    problems += check_regions(text, sheet)
    rest, time_problems = check_times(text, sheet)
    problems += time_problems
    if check_numbers:
        problems += check_numbers_in(rest, sheet, allowed_numbers)
    return problems


def check_people(text: str, sheet: FactSheet) -> list[Problem]:
    found: list[str] = []
    found += _MENTION.findall(text)
    found += [h for h in _HANDLE.findall(text)]
    found += _USER_ID.findall(text)
    problems: list[Problem] = []
    for who in dict.fromkeys(found):
        if sheet.person(who) is None:
            problems.append(Problem("person", f"names @{who}, who is not in the record"))
    named = [
        m.group(1) for p in (_ROLE_NAME, _NAME_THEN_ROLE, _ACT_ON_NAME) for m in p.finditer(text)
    ]
    for candidate in dict.fromkeys(named):
        words = candidate.split()
        while words and words[0].lower() in NOT_NAMES:
            words = words[1:]  # "Because Priya" -> "Priya"
        if not words:
            continue
        name = " ".join(words)
        first = name.split()[0].lower()
        known = any(first == n.split()[0] for n in sheet.names) or sheet.person(name)
        if not known and name.lower() not in sheet.corpus:
            problems.append(Problem("person", f"names {name}, who is not in the record"))
    return problems


def check_citations(text: str, sheet: FactSheet) -> list[Problem]:
    problems: list[Problem] = []
    for ref in dict.fromkeys(_FACT_ID.findall(text)):
        if ref not in sheet.facts:
            problems.append(Problem("citation", f"cites {ref}, which is not in the record"))
    for url in dict.fromkeys(_URL.findall(text)):
        if sheet.fact(url.rstrip(".,;")) is None:
            problems.append(Problem("citation", f"links to {url}, which the record does not have"))
    if "→" in text:
        for seg in re.split(r"\s*→\s*", text)[1:]:
            low = seg.strip().lower()
            if low and not any(low.startswith(t) for t in sheet.runbook_titles):
                leaf = re.split(r"[;,()\n\"”]|\.(?:\s|$)", seg)[0].strip()
                problems.append(
                    Problem("citation", f"cites runbook section “{leaf}”, which no runbook has")
                )
    for m in _RUNBOOK_QUOTED.finditer(text):
        name = (m.group(1) or m.group(2) or "").strip()
        parts = [p.strip().lower() for p in name.split("→")]
        if parts and not all(p in sheet.runbook_titles for p in parts if p):
            problems.append(
                Problem("citation", f"cites the runbook “{name}”, which does not exist")
            )
    return problems


def check_regions(text: str, sheet: FactSheet) -> list[Problem]:
    return [
        Problem("region", f"names region {r}, which the record never mentions")
        for r in dict.fromkeys(m.group(0) for m in _REGION.finditer(text))
        if r.lower() not in sheet.corpus
    ]


def _in_window(at: datetime, sheet: FactSheet) -> bool:
    slack = timedelta(minutes=1)
    return sheet.window_start - slack <= at <= sheet.window_end + slack


def check_times(text: str, sheet: FactSheet) -> tuple[str, list[Problem]]:
    """Problems with dates and clock times; returns the text without them (for numbers)."""
    problems: list[Problem] = []
    start = sheet.window_start.astimezone(UTC)
    end = sheet.window_end.astimezone(UTC)
    days = [(start + timedelta(days=i)).date() for i in range((end.date() - start.date()).days + 1)]
    window = f"{start:%H:%M}–{end:%H:%M} UTC"

    def iso(m: re.Match[str]) -> str:
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        try:
            day = datetime(y, mo, d, tzinfo=UTC)
        except ValueError:
            problems.append(Problem("time", f"gives the impossible date {m.group(0)}"))
            return " "
        if m.group(4):
            at = day.replace(hour=int(m.group(4)), minute=int(m.group(5)))
            if not _in_window(at, sheet) and f"{at:%H:%M}" not in sheet.record_times:
                problems.append(
                    Problem("time", f"gives {m.group(0)}, outside the incident ({window})")
                )
        elif day.date() not in days and m.group(0) not in sheet.corpus:
            problems.append(Problem("time", f"gives the date {m.group(0)}, not the incident's"))
        return " "

    text = _ISO.sub(iso, text)

    def clock(m: re.Match[str]) -> str:
        hh, mm = int(m.group(1)), int(m.group(2))
        label = f"{hh:02d}:{mm:02d}"
        if label in sheet.record_times:
            return " "
        if any(
            _in_window(datetime(d.year, d.month, d.day, hh, mm, tzinfo=UTC), sheet) for d in days
        ):
            return " "
        problems.append(
            Problem(
                "time",
                f"gives the time {label}, outside the incident ({window}) and not in the record",
            )
        )
        return " "

    return _CLOCK.sub(clock, text), problems


def _matches(value: float, known: Iterable[float]) -> bool:
    return any(abs(value - k) <= max(REL_TOLERANCE * abs(k), ABS_TOLERANCE) for k in known)


def check_numbers_in(text: str, sheet: FactSheet, allowed: Iterable[float] = ()) -> list[Problem]:
    text = _VERSION.sub(" ", text)
    text = _IDS.sub(" ", text)
    allowed = list(allowed)
    known = [*sheet.numbers, *sheet.baseline_numbers, *allowed]
    percents = [*sheet.percents, *allowed]
    problems: list[Problem] = []
    for m in re.finditer(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)", text):
        value = float(m.group(1).replace(",", ""))
        unit = _MEASURE.match(text, m.end())
        measured = unit is not None
        if not measured and value <= SMALL_COUNT and value == int(value):
            continue
        percent = unit is not None and unit.group(1) == "%"
        if not _matches(value, percents if percent else known):
            shown = m.group(0) + (text[m.end() : m.end() + 1] if measured else "")
            problems.append(
                Problem("number", f"gives {shown.strip()}, which matches no reading in the record")
            )
    return problems
