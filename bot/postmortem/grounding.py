"""What the model may draft from, by id (the claims it answers with: claims.py).

The bot gives the model a fact sheet: every timeline event (`E1`…), metric reading (`M1`…) and
runbook section (`R1`…) of this incident, with its time, author and permalink, and the people
the record knows. The model answers with claims in prose; each claim lists the ids it rests
on, and refers to times, people, durations and readings only through placeholders the bot
fills from the record:

    {time:E3}      the time of event E3 (or reading M2), e.g. "14:37 UTC"
    {person:E3}    who wrote event E3;  {person:ic} / {person:ops} / {person:comms}: the role
    {duration:ttr} time to detect / mitigate / resolve (ttd, ttm, ttr), from the record
    {value:M2}     reading M2 as recorded;  {value:M2.db_percent}: one of its recorded values

bot.postmortem.validation checks every claim against this sheet before anything is posted."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from bot.causes.classifier import is_fix, recovery_time
from bot.incidents.models import Incident, Role, format_duration
from bot.mrkdwn import hhmm, plain
from bot.runbooks import Citation, RunbookLibrary
from bot.timeline.models import EventKind, TimelineEntry

MAX_MESSAGES = 60  # non-key chat messages given to the model (the most recent ones)
MAX_SECTION_CHARS = 2500
PLACEHOLDER = re.compile(r"\{(time|person|duration|value):([^{}\s]+)\}")
NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?![\w.]*\d)")
FactKind = Literal["event", "reading", "runbook"]
ROLE_KEYS = {"ic": Role.IC, "ops": Role.OPS, "comms": Role.COMMS}


def permalink(channel_id: str, message_ts: str | None) -> str | None:
    """Slack's archive link for a message (redirects to the workspace's own domain)."""
    if not message_ts:
        return None
    return f"https://slack.com/archives/{channel_id}/p{message_ts.replace('.', '')}"


def numbers_in(text: str) -> list[float]:
    out: list[float] = []
    for m in NUMBER.finditer(text):
        whole = m.group(1).replace(",", "")
        out.append(float(f"{whole}.{m.group(2)}" if m.group(2) else whole))
    return out


def percents_in(text: str) -> list[float]:
    return [float(m.group(1)) for m in re.finditer(r"(\d+(?:\.\d+)?)\s*%", text)]


def _is_percent(key: str, value: str) -> bool:
    return ("percent" in key or "rate" in key) and re.fullmatch(r"\d+(\.\d+)?", value) is not None


@dataclass(frozen=True)
class Fact:
    id: str
    kind: FactKind
    text: str
    at: datetime | None = None
    actor: str | None = None
    data: Mapping[str, str] = field(default_factory=dict)
    citation: str | None = None
    permalink: str | None = None
    is_fix: bool = False  # a rollback, revert, restart… recorded before the recovery

    def shown(self) -> str:
        """How the bot renders this fact as evidence."""
        if self.kind == "runbook":
            return f"Runbook: {self.citation}"
        return f"{hhmm(self.at)} {self.text}" if self.at else self.text


@dataclass
class FactSheet:
    """Everything the record says about one incident, by id. Built by `build_fact_sheet`."""

    incident: Incident
    facts: dict[str, Fact]
    people: dict[str, str]  # user id -> how the record knows them
    names: dict[str, str]  # lower-case display / real names -> user id
    window_start: datetime
    window_end: datetime
    has_metrics: bool
    runbook_titles: set[str]  # every heading title in the runbook library, lower case
    runbook_paths: set[str]  # every rendered heading path
    corpus: str  # the record's text, lower case
    numbers: list[float]
    record_times: set[str]  # "HH:MM" at which something happened or that the record mentions
    durations: dict[str, timedelta | None]
    baseline_numbers: list[float] = field(default_factory=list)
    percents: list[float] = field(default_factory=list)  # numbers the record gives as a %

    def fact(self, ref: str) -> Fact | None:
        ref = ref.strip()
        if ref in self.facts:
            return self.facts[ref]
        bare = ref.removeprefix("Runbook:").strip()
        for f in self.facts.values():
            if f.permalink and f.permalink == ref:
                return f
            if f.citation and f.citation == bare:
                return f
        return None

    def person(self, who: str) -> str | None:
        """The user id for `U123`, `<@U123>`, `@U123`, a role key or a known name."""
        key = who.strip().removeprefix("<").removesuffix(">").lstrip("@").split("|")[0]
        if key in self.people:
            return key
        if key.lower() in ROLE_KEYS:
            return self.incident.roles.get(ROLE_KEYS[key.lower()])
        return self.names.get(key.lower())

    def prompt_json(self) -> str:
        inc = self.incident
        doc: dict[str, Any] = {
            "incident": {
                "id": inc.id,
                "title": plain(inc.title),
                "description": plain(inc.description),
                "severity": inc.severity.label,
                "status": inc.status.value,
                "services": inc.services,
                "tags": inc.tags,
                "window_utc": [_iso(self.window_start), _iso(self.window_end)],
                "resolution_summary": plain(inc.resolution_summary or ""),
                "durations": {
                    k: format_duration(v) for k, v in self.durations.items() if v is not None
                },
            },
            "people": [
                {"id": uid, "known_as": why, "placeholder": f"{{person:{uid}}}"}
                for uid, why in self.people.items()
            ],
            "roles": {r.value: uid for r, uid in inc.roles.items()},
            "events": [
                {
                    "id": f.id,
                    "at": _iso(f.at),
                    "by": f.actor,
                    "text": f.text,
                    **({"permalink": f.permalink} if f.permalink else {}),
                }
                for f in self.facts.values()
                if f.kind == "event"
            ],
            "metric_readings": [
                {"id": f.id, "at": _iso(f.at), "reading": f.text, "values": dict(f.data)}
                for f in self.facts.values()
                if f.kind == "reading"
            ],
            "runbook_sections": [
                {"id": f.id, "citation": f.citation}
                for f in self.facts.values()
                if f.kind == "runbook"
            ],
        }
        return json.dumps(doc, indent=1, ensure_ascii=False)


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_fact_sheet(
    incident: Incident,
    entries: Sequence[TimelineEntry],
    *,
    citations: Sequence[Citation],
    library: RunbookLibrary | None,
    now: datetime,
    names: Mapping[str, str] | None = None,
    baseline_text: str = "",
) -> FactSheet:
    """`names`: user id -> display name, for the people the record knows (looked up by the
    caller); `baseline_text`: the bot's own deterministic draft, whose numbers are allowed."""
    facts: dict[str, Fact] = {}
    people: dict[str, str] = {}

    def know(uid: str | None, why: str) -> None:
        if uid and uid not in people:
            people[uid] = why

    for role, uid in incident.roles.items():
        know(uid, role.display_name)
    know(incident.declared_by, "declared the incident")
    recovered = recovery_time(incident, entries)
    live = [e for e in entries if not e.deleted]
    keep_messages = {
        id(e)
        for e in [e for e in live if not e.is_key and e.event.kind is EventKind.MESSAGE][
            -MAX_MESSAGES:
        ]
    }
    n_event = n_reading = 0
    for e in live:
        ev = e.event
        text = plain(ev.text) or ev.kind.value
        if ev.kind is EventKind.METRICS:
            n_reading += 1
            fid = f"M{n_reading}"
            facts[fid] = Fact(id=fid, kind="reading", text=text, at=ev.at, data=dict(ev.data))
            continue
        if not e.is_key and id(e) not in keep_messages:
            continue
        n_event += 1
        fid = f"E{n_event}"
        fix = recovered is not None and ev.at <= recovered and is_fix(text)
        facts[fid] = Fact(
            id=fid,
            kind="event",
            text=text,
            at=ev.at,
            actor=ev.actor,
            data=dict(ev.data),
            permalink=permalink(incident.channel_id, ev.message_ts),
            is_fix=fix and "root_cause_category" not in ev.data,
        )
        know(ev.actor, f"wrote {fid}")
    for i, c in enumerate(citations, 1):
        fid = f"R{i}"
        facts[fid] = Fact(id=fid, kind="runbook", text=c.text, citation=c.rendered)
    titles: set[str] = set()
    paths: set[str] = set()
    for c in library.sections() if library else []:
        paths.add(c.rendered)
        titles.update(p.lower() for p in c.path)
    corpus_parts = [
        incident.title,
        incident.description,
        incident.resolution_summary or "",
        " ".join(incident.services),
        " ".join(incident.tags),
        *(f.text for f in facts.values() if f.kind != "runbook"),
        *(v for f in facts.values() for v in f.data.values()),
    ]
    corpus = plain(" ".join(corpus_parts)).lower()
    durations = {
        "ttd": incident.time_to_detect,
        "ttm": incident.time_to_mitigate,
        "ttr": incident.time_to_resolve,
    }
    # generous on the record's side: digits inside tokens (p99, 5xx, v2) count too
    numbers = numbers_in(corpus) + [float(x) for x in re.findall(r"\d+(?:\.\d+)?", corpus)]
    for d in durations.values():
        if d is not None:
            secs = d.total_seconds()
            numbers += [secs, secs / 60, secs / 3600, float(int(secs // 60)), float(int(secs % 60))]
    times = {m.group(0)[:5].zfill(5) for m in re.finditer(r"\b\d{1,2}:\d\d\b", corpus)}
    times |= {hhmm(f.at) for f in facts.values() if f.at is not None}
    lookup = {n.lower(): uid for uid, n in (names or {}).items() if n}
    end = incident.resolved_at or now
    return FactSheet(
        incident=incident,
        facts=facts,
        people=people,
        names=lookup,
        window_start=min(incident.started_at, incident.declared_at),
        window_end=max(end, incident.declared_at),
        has_metrics=n_reading > 0,
        runbook_titles=titles,
        runbook_paths=paths,
        corpus=corpus,
        numbers=numbers,
        record_times=times,
        durations=durations,
        baseline_numbers=numbers_in(baseline_text),
        percents=percents_in(corpus + " " + baseline_text)
        + [float(v) for f in facts.values() for k, v in f.data.items() if _is_percent(k, v)],
    )


def runbook_prompt(sheet: FactSheet) -> str:
    """The runbook sections retrieved for this incident, by id (the cached part of the prompt)."""
    parts: list[str] = []
    for f in sheet.facts.values():
        if f.kind != "runbook":
            continue
        text = f.text if len(f.text) <= MAX_SECTION_CHARS else f.text[:MAX_SECTION_CHARS] + "…"
        parts += [
            f'<runbook_section id="{f.id}" citation="{f.citation}">',
            text,
            "</runbook_section>",
        ]
    return "\n".join(parts)


def render_placeholders(text: str, sheet: FactSheet) -> tuple[str, list[str]]:
    """The text with every placeholder filled from the record, and the placeholders that
    name nothing in the record (left as they are)."""
    unknown: list[str] = []

    def fill(m: re.Match[str]) -> str:
        kind, ref = m.group(1), m.group(2)
        value = _placeholder_value(kind, ref, sheet)
        if value is None:
            unknown.append(m.group(0))
            return m.group(0)
        return value

    return PLACEHOLDER.sub(fill, text), unknown


def _placeholder_value(kind: str, ref: str, sheet: FactSheet) -> str | None:
    if kind == "time":
        fact = sheet.facts.get(ref)
        return f"{hhmm(fact.at)} UTC" if fact and fact.at else None
    if kind == "person":
        fact = sheet.facts.get(ref)
        uid = fact.actor if fact is not None else sheet.person(ref)
        return f"@{uid}" if uid else None
    if kind == "duration":
        if ref not in sheet.durations:
            return None
        d = sheet.durations[ref]
        return None if d is None else format_duration(d)
    fid, _, key = ref.partition(".")
    fact = sheet.facts.get(fid)
    if fact is None or fact.kind != "reading":
        return None
    if not key:
        return fact.text
    return fact.data.get(key)


def placeholder_ids(text: str) -> Iterable[str]:
    for m in PLACEHOLDER.finditer(text):
        ref = m.group(2).partition(".")[0]
        if re.fullmatch(r"[EMR]\d+", ref):
            yield ref
