"""Insights over a hand-made history, written through the real store into a real Redis:
exact medians and p90s per week, severity and service, after-hours load in each person's
zone, action items, postmortems within POSTMORTEM_DUE, recurring causes, and the read rule
(a private incident's title, services, people and cause reach only those who may read it).
Every time is pinned (UTC datetimes, an injected clock): any day, any host time zone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.actions.models import ActionItem, ItemStatus
from bot.clock import ManualClock
from bot.errors import UsageError
from bot.incidents.access import IncidentAccess
from bot.incidents.models import Incident, Role, Severity, Status
from bot.insights.charts import charts, duration_ceiling
from bot.insights.compute import Rules
from bot.insights.models import DurationMetric, Insights
from bot.insights.service import InsightsService, weeks_asked
from bot.insights.stats import percentile, window
from bot.insights.svg import Series, hbars, line_chart, nice_ceiling, stacked_bars
from bot.postmortem.models import Postmortem, RootCause, WhyStep
from bot.store.connection import Db, RedisSettings, connect, open_db
from bot.store.redis_store import RedisStore
from bot.timeline.models import EventKind, TimelineEvent
from bot.workweek import WorkingHours
from tests.fakes import FakeChat

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday
ZONES = {
    "U1": "UTC",
    "U2": "Asia/Tokyo",
    "U3": "America/Los_Angeles",
    "U4": "UTC",
    "UBOT": "UTC",
}
RULES = Rules(
    hours=WorkingHours(),  # mon-fri 09:00-18:00
    postmortem_due_days=2,
    cause_label={"connection_pool": "connection-pool exhaustion", "slow_query": "slow query"},
)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def test_percentile_interpolates_between_the_nearest_ranks() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([float(n) for n in range(1, 11)], 0.9) == pytest.approx(9.1)
    assert percentile([300.0, 2400.0, 600.0, 1200.0], 0.9) == pytest.approx(2040.0)


def test_weeks_start_on_monday_utc_and_end_with_this_one() -> None:
    assert [str(d) for d in window(NOW, 3)] == ["2026-11-09", "2026-11-16", "2026-11-23"]
    sunday_night = datetime(2026, 11, 22, 23, 59, tzinfo=UTC)
    assert [str(d) for d in window(sunday_night, 1)] == ["2026-11-16"]


@pytest.mark.parametrize(("text", "weeks"), [(None, 12), ("", 12), ("4", 4), ("104", 104)])
def test_weeks_asked(text: str | None, weeks: int) -> None:
    assert weeks_asked(text) == weeks


@pytest.mark.parametrize("text", ["0", "105", "-3", "twelve", "4.5"])
def test_weeks_asked_refuses_what_is_not_a_week_count(text: str) -> None:
    with pytest.raises(UsageError, match="from 1 to 104"):
        weeks_asked(text)


async def _incident(
    store: RedisStore,
    n: str,
    *,
    sev: Severity,
    services: list[str],
    declared: datetime,
    ic: str,
    impact_before: timedelta | None = None,
    private: bool = False,
    title: str = "",
) -> Incident:
    incident = Incident(
        id=f"INC-{n}",
        title=title or f"Incident {n}",
        severity=sev,
        services=services,
        channel_id=f"C{n}",
        channel_name=f"inc-{n}",
        roles={Role.IC: ic},
        declared_by=ic,
        declared_at=declared,
        impact_started_at=None if impact_before is None else declared - impact_before,
        private=private,
    )
    first = TimelineEvent(kind=EventKind.DECLARED, at=declared, actor=ic, text="declared")
    await store.create_incident(incident, first)
    return incident


async def _resolve(store: RedisStore, incident_id: str, when: datetime, cause: str) -> None:
    def change(inc: Incident) -> list[TimelineEvent]:
        inc.status, inc.resolved_at, inc.root_cause_category = Status.RESOLVED, when, cause
        return [TimelineEvent(kind=EventKind.RESOLVED, at=when, actor=inc.roles[Role.IC])]

    await store.update_incident(incident_id, change)


async def _message(store: RedisStore, incident_id: str, user: str, when: datetime) -> None:
    ts = f"{when.timestamp():.6f}"
    event = TimelineEvent(
        kind=EventKind.MESSAGE, at=when, actor=user, text="looking", message_ts=ts
    )
    assert await store.record_message(incident_id, event)


async def _postmortem(store: RedisStore, incident: Incident, when: datetime) -> None:
    await store.postmortems.save_new_version(
        Postmortem(
            incident_id=incident.id,
            title=incident.title,
            severity=incident.severity.label,
            status="resolved",
            declared_at=incident.declared_at,
            generated_at=when,
            summary="s",
            impact=["i"],
            root_causes=[
                RootCause(cause="c", category="capacity", kind="technical", confidence=0.5)
            ],
            five_whys=[WhyStep(question="why", answer="because")],
        )
    )


async def _item(
    store: RedisStore, n: int, incident_id: str, due: datetime | None, done: datetime | None
) -> None:
    item = ActionItem(
        id=f"AI-{n:04d}",
        incident_id=incident_id,
        text=f"item {n}",
        owner="U1",
        created_by="U1",
        created_at=at(17, 12),
        due=due,
        status=ItemStatus.DONE if done else ItemStatus.OPEN,
        done_at=done,
    )
    await store.actions.create(item)


async def _history(store: RedisStore) -> None:
    """Week of Nov 16: A, B. Week of Nov 23: C, D, the private P, and E (declined)."""
    a = await _incident(
        store, "A", sev=Severity.SEV2, services=["api"], declared=at(17, 10), ic="U1",
        impact_before=timedelta(minutes=10),
    )  # fmt: skip
    await _message(store, a.id, "U1", at(17, 10, 5))  # acknowledged after 5 min, in hours
    await _message(store, a.id, "U9", at(17, 10, 1))  # not a role holder: not an ack
    await _resolve(store, a.id, at(17, 11), "connection_pool")  # TTR 70 min from impact
    await _postmortem(store, a, at(19, 10))  # due Thu 19 11:00: on time
    await _item(store, 1, a.id, due=at(20, 0), done=at(19, 0))  # on time
    await _item(store, 2, a.id, due=at(20, 0), done=at(22, 0))  # late
    b = await _incident(
        store, "B", sev=Severity.SEV2, services=["api", "db"], declared=at(18, 2), ic="U2",
        impact_before=timedelta(minutes=20),
    )  # fmt: skip
    # 02:15 UTC is 11:15 in Tokyo on a Wednesday: in U2's working hours
    await store.append_event(
        b.id, TimelineEvent(kind=EventKind.NOTE, at=at(18, 2, 15), actor="U2", text="n")
    )
    await _resolve(store, b.id, at(18, 4), "connection_pool")  # TTR 140 min
    await _postmortem(store, b, at(21, 0))  # due Fri 20 13:00 Tokyo (04:00 UTC): late
    c = await _incident(
        store, "C", sev=Severity.SEV1, services=["db"], declared=at(23, 9, 30), ic="U3"
    )
    # 09:31 UTC Monday is 01:31 in Los Angeles: after hours
    await _message(store, c.id, "U3", at(23, 9, 31))
    await _resolve(store, c.id, at(23, 10), "slow_query")  # TTR 30 min, no impact start
    # resolved 02:00 Mon in Los Angeles: due Wed 02:00 there (10:00 UTC), none yet: missing
    await _item(store, 3, c.id, due=at(24, 0), done=None)  # overdue
    await _item(store, 4, c.id, due=datetime(2026, 12, 1, tzinfo=UTC), done=None)  # open
    d = await _incident(
        store, "D", sev=Severity.SEV3, services=["api"], declared=at(24, 20), ic="U1",
        impact_before=timedelta(minutes=40),
    )  # fmt: skip  (nobody acted: U1 counted at the declaration, 20:00 UTC, after hours)
    p = await _incident(
        store, "P", sev=Severity.SEV2, services=["payroll-db"], declared=at(24, 12), ic="U4",
        impact_before=timedelta(minutes=5), private=True, title="Payroll export leaking",
    )  # fmt: skip
    await _message(store, p.id, "U4", at(24, 12, 2))
    await _resolve(store, p.id, at(24, 12, 10), "connection_pool")  # TTR 15 min
    await _item(store, 5, p.id, due=None, done=at(24, 13))  # done, undated
    e = await _incident(
        store, "E", sev=Severity.SEV2, services=["api"], declared=at(24, 9), ic="U1"
    )

    def decline(inc: Incident) -> list[TimelineEvent]:
        inc.declined_at, inc.status = at(24, 9, 5), Status.CLOSED
        return []

    await store.update_incident(e.id, decline)
    await _item(store, 6, e.id, due=at(20, 0), done=None)  # of a false alarm: not counted
    assert d.id and c.id


def _service(store: RedisStore, chat: FakeChat) -> InsightsService:
    return InsightsService(
        store=store,
        users=chat,
        access=IncidentAccess(members=chat),
        clock=ManualClock(NOW),
        rules=RULES,
    )


@pytest.fixture(params=["single", "cluster"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[RedisStore]:
    """A single Redis (the first times read by one script) and a 3-master Redis Cluster
    (read by a pipeline: a script's keys must share a slot there): the same insights."""
    if request.param == "single":
        db = Db(connect(request.getfixturevalue("redis_url")))
    else:
        db = await open_db(RedisSettings(url=request.getfixturevalue("cluster_url"), cluster=True))
    s = RedisStore(db)
    yield s
    await s.aclose()


def _metric(insights: Insights, name: str) -> DurationMetric:
    return next(m for m in insights.durations if m.name == name)


async def test_durations_per_week_severity_and_service_are_exact(store: RedisStore) -> None:
    await _history(store)
    got = await _service(store, FakeChat(users=ZONES)).insights("U4", weeks=2)
    assert [w.label for w in got.weeks] == ["Nov 16", "Nov 23"]
    assert got.incidents == 5 and got.private_aggregated == 0  # E declined: left out

    ttd = _metric(got, "detect")  # A 600, B 1200 | D 2400, P 300 (C: no impact start)
    assert (ttd.overall.total.count, ttd.overall.total.median_seconds) == (4, 900.0)
    assert ttd.overall.total.p90_seconds == pytest.approx(2040.0)
    week1, week2 = ttd.overall.weeks
    assert (week1.median_seconds, week1.p90_seconds) == (900.0, pytest.approx(1140.0))
    assert (week2.median_seconds, week2.p90_seconds) == (1350.0, pytest.approx(2190.0))

    tta = _metric(got, "acknowledge")  # A 300, B 900, C 60, P 120; D nobody acted
    assert (tta.overall.total.count, tta.overall.total.median_seconds) == (4, 210.0)
    assert tta.overall.total.p90_seconds == pytest.approx(720.0)

    ttr = _metric(got, "resolve")  # A 4200, B 8400, C 1800, P 900
    assert (ttr.overall.total.median_seconds, ttr.overall.total.p90_seconds) == (
        3000.0,
        pytest.approx(7140.0),
    )
    by_sev = {row.group: row for row in ttr.by_severity}
    assert sorted(by_sev) == ["SEV1", "SEV2", "SEV3"]
    assert by_sev["SEV2"].total.median_seconds == 4200.0  # 900, 4200, 8400
    assert by_sev["SEV2"].total.p90_seconds == pytest.approx(7560.0)
    assert by_sev["SEV3"].total.count == 0  # D is not resolved
    by_service = {row.group: row for row in ttr.by_service}
    assert sorted(by_service) == ["api", "db", "payroll-db"]
    assert by_service["api"].total.median_seconds == 6300.0  # A, B
    assert [w.median_seconds for w in by_service["db"].weeks] == [8400.0, 1800.0]

    assert {r.severity: r.weeks for r in got.per_week} == {
        "SEV1": [0, 1], "SEV2": [2, 1], "SEV3": [0, 1], "SEV4": [0, 0],
    }  # fmt: skip


async def test_after_hours_load_is_judged_in_each_persons_own_zone(store: RedisStore) -> None:
    await _history(store)
    got = await _service(store, FakeChat(users=ZONES)).insights("U4", weeks=2)
    load = {r.user: (r.tz, r.incidents, r.after_hours) for r in got.responders}
    assert load == {
        "U1": ("UTC", 2, 1),  # A at 10:05 (in hours); D declared 20:00, nobody acted
        "U2": ("Asia/Tokyo", 1, 0),  # 02:15 UTC is 11:15 in Tokyo
        "U3": ("America/Los_Angeles", 1, 1),  # 09:31 UTC is 01:31 in Los Angeles
        "U4": ("UTC", 1, 0),
    }
    assert [r.name for r in got.responders] == ["u1", "u3", "u2", "u4"]  # after hours first
    assert got.working_hours.startswith("mon,tue,wed,thu,fri 09:00–18:00")
    # the zones are cached: a second reading asks Slack for nobody
    quiet = FakeChat(users={})
    again = await _service(store, quiet).insights("U4", weeks=2)
    assert again.responders == got.responders


async def test_a_person_slack_does_not_know_counts_in_utc(store: RedisStore) -> None:
    await _history(store)
    zones = {u: tz for u, tz in ZONES.items() if u != "U3"}  # U3 deactivated
    got = await _service(store, FakeChat(users=zones)).insights("U4", weeks=2)
    u3 = next(r for r in got.responders if r.user == "U3")
    assert (u3.tz, u3.name, u3.after_hours) == ("UTC", "U3", 0)  # 09:31 UTC is in hours
    assert await store.redis.get("ib:user:U3:tz") == "UTC\t"  # not asked again for a day


async def test_action_items_postmortems_and_recurring_causes(store: RedisStore) -> None:
    await _history(store)
    got = await _service(store, FakeChat(users=ZONES)).insights("U4", weeks=2)
    items = got.action_items
    assert (items.total, items.open, items.overdue, items.done) == (5, 2, 1, 3)
    assert (items.done_on_time, items.done_late, items.done_undated) == (1, 1, 1)
    pm = got.postmortems
    assert (pm.due_business_days, pm.expected) == (2, 4)
    assert (pm.on_time, pm.late, pm.missing, pm.not_yet_due) == (1, 1, 1, 1)
    assert [(c.category, c.label, c.count, c.incidents) for c in got.causes] == [
        ("connection_pool", "connection-pool exhaustion", 3, ["INC-P", "INC-B", "INC-A"])
    ]  # slow_query came once: not recurring


async def test_a_private_incident_counts_for_outsiders_only_as_its_label_would(
    store: RedisStore,
) -> None:
    await _history(store)
    chat = FakeChat(users=ZONES)
    outsider = await _service(store, chat).insights("U1", weeks=2)
    member = await _service(store, chat).insights("U4", weeks=2)
    text = outsider.model_dump_json()
    for secret in ("Payroll", "payroll-db", "U4"):
        assert secret not in text
        assert secret in member.model_dump_json() or secret == "Payroll"  # titles: never
    assert "INC-P" not in text
    assert outsider.private_aggregated == 1 and outsider.incidents == member.incidents
    # its severity and times still count: the same SEV2 row and overall durations
    assert outsider.per_week == member.per_week
    assert _metric(outsider, "resolve").overall == _metric(member, "resolve").overall
    assert outsider.causes[0].count == 2 and outsider.causes[0].incidents == ["INC-B", "INC-A"]
    assert "payroll-db" not in {r.group for r in _metric(outsider, "detect").by_service}
    nobody = await _service(store, chat).insights(None, weeks=2)  # the API token
    assert "payroll-db" not in nobody.model_dump_json()


async def test_first_times_and_facts_are_kept_on_write_and_rebuilt_for_older_records(
    store: RedisStore,
) -> None:
    await _history(store)
    kept = await store.insights.firsts(["INC-A", "INC-B"])
    assert kept[0]["acted:U1"] == at(17, 10, 5).timestamp()
    assert kept[0]["acted:U9"] == at(17, 10, 1).timestamp()
    assert kept[0]["postmortem"] == at(19, 10).timestamp()
    # a record from before the set was kept: rebuilt from its timeline and postmortem
    before = await _service(store, FakeChat(users=ZONES)).insights("U4", weeks=2)
    for incident_id in ("INC-A", "INC-B"):
        await store.redis.delete(f"ib:{{{incident_id}}}:firsts", f"ib:{{{incident_id}}}:facts")
    rebuilt = await store.insights.firsts(["INC-A", "INC-B"])
    assert "items" in kept[0] and "items" in rebuilt[0] and "items" not in rebuilt[1]
    assert [{k: v for k, v in f.items() if k != "items"} for f in rebuilt] == [
        {k: v for k, v in f.items() if k != "items"} for f in kept
    ]
    assert await store.redis.exists("ib:{INC-A}:firsts")
    # and the record's facts, written again from the whole record: the same insights
    assert await _service(store, FakeChat(users=ZONES)).insights("U4", weeks=2) == before
    assert await store.redis.exists("ib:{INC-A}:facts")


async def test_every_chart_is_drawn_from_the_record(store: RedisStore) -> None:
    await _history(store)
    got = await _service(store, FakeChat(users=ZONES)).insights("U4", weeks=2)
    drawn = charts(got)
    assert sorted(drawn) == [
        "acknowledge", "causes", "detect", "per_week", "resolve", "resolve_by_severity",
        "responders",
    ]  # fmt: skip
    # SEV1 (C) only in the second week, SEV2 in both: the trend of each severity
    assert "SEV2, Nov 16: 1h 45m" in drawn["resolve_by_severity"]  # A 70 min, B 140 min
    assert "SEV1, Nov 23: 30m<" in drawn["resolve_by_severity"]
    assert "SEV1, Nov 16" not in drawn["resolve_by_severity"]  # no SEV1 resolved that week
    # duration axes in round steps: the longest p90 (2h 13m) under a 4h top, hourly lines
    assert [f">{t}<" in drawn["resolve"] for t in ("1h", "2h", "3h", "4h")] == [
        True, True, True, True]  # fmt: skip
    assert duration_ceiling(0) == 240 and duration_ceiling(51 * 86400) == 100 * 86400
    assert drawn["resolve"].count("<circle") == 4  # median and p90 of both weeks
    for point in ("median, Nov 16: 1h 45m", "p90, Nov 16: 2h 13m", "median, Nov 23: 22m 30s"):
        assert point in drawn["resolve"]
    assert ">u3<" in drawn["responders"] and "connection-pool exhaustion" in drawn["causes"]


def test_charts_escape_what_people_wrote_and_draw_every_point() -> None:
    hostile = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
    line = line_chart(
        "TTR", ["Nov 16", "Nov 23"], [Series(hostile, [60.0, None]), Series("p90", [1.0, 2.0])],
        lambda v: f"{v:g}s",
    )  # fmt: skip
    bars = stacked_bars("Per week", [hostile, "Nov 23"], [Series("SEV1", [1, 2])])
    rows = hbars("Load", [(hostile, 3.0)], lambda v: f"{v:g}")
    for svg in (line, bars, rows):
        assert "<script>" not in svg and "<img" not in svg
        assert "&lt;script&gt;" in svg
        assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert line.count("<circle") == 3 and line.count("<polyline") == 1  # the gap breaks a line
    assert bars.count("<rect x=") == 2 + 1  # two bars, one legend swatch
    assert (nice_ceiling(0), nice_ceiling(7), nice_ceiling(130), nice_ceiling(2.2)) == (
        1.0, 10.0, 200.0, 2.5,
    )  # fmt: skip
