"""The working week (REMINDER_WORK_DAYS): its forms, the weekend rule on a fake clock in the
owner's own zone, business days for POSTMORTEM_DUE, and a bad value stopping the bot."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from typer.testing import CliRunner

from bot.actions.models import ActionSettings
from bot.actions.schedule import next_working_start
from bot.cli import cli
from bot.settings import Settings
from bot.workweek import add_business_days, format_work_days, parse_work_days
from sandbox.slack_emulator import SlackEmulator
from tests.conftest import BOT_TOKEN

SATURDAY_NIGHT = datetime(2026, 12, 5, 23, 30, tzinfo=UTC)  # a Saturday, 23:30 UTC


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("mon-fri", "mon,tue,wed,thu,fri"),
        ("sun-thu", "mon,tue,wed,thu,sun"),  # a range may wrap the week
        ("mon,tue,wed,thu,sat", "mon,tue,wed,thu,sat"),
        ("Mon-Wed, fri", "mon,tue,wed,fri"),
        ("monday-sunday", "mon,tue,wed,thu,fri,sat,sun"),
        ("sat", "sat"),
    ],
)
def test_work_days_accept_ranges_and_lists(text: str, days: str) -> None:
    assert format_work_days(parse_work_days(text)) == days


@pytest.mark.parametrize("bad", ["", "weekdays", "mon-", "mon-xyz", "mon;tue", "1-5"])
def test_a_bad_value_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not a weekday"):
        parse_work_days(bad)


def test_the_weekend_rule_on_a_fake_saturday_night() -> None:
    week = ActionSettings(work_start=time(9), work_end=time(18))
    # Saturday 23:30 UTC: a Monday–Friday team in UTC waits for Monday 09:00 …
    assert next_working_start(SATURDAY_NIGHT, "UTC", week) == datetime(
        2026, 12, 7, 9, 0, tzinfo=UTC
    )
    # … in Kiritimati (UTC+14) it is already Sunday 13:30 local: Monday 09:00 there
    assert next_working_start(SATURDAY_NIGHT, "Pacific/Kiritimati", week) == datetime(
        2026, 12, 6, 19, 0, tzinfo=UTC
    )
    sun_thu = ActionSettings(
        work_start=time(9), work_end=time(18), working_days=parse_work_days("sun-thu")
    )
    # a Sunday–Thursday team starts on Sunday morning
    assert next_working_start(SATURDAY_NIGHT, "UTC", sun_thu) == datetime(
        2026, 12, 6, 9, 0, tzinfo=UTC
    )
    # inside working hours on a working Saturday, nothing waits
    with_saturday = ActionSettings(
        work_start=time(9), work_end=time(18), working_days=parse_work_days("mon-sat")
    )
    saturday_noon = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    assert next_working_start(saturday_noon, "UTC", with_saturday) is None
    assert next_working_start(saturday_noon, "UTC", week) == datetime(
        2026, 12, 7, 9, 0, tzinfo=UTC
    )


def test_business_days_follow_the_work_days() -> None:
    thursday = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
    assert add_business_days(thursday, 2, "UTC") == datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    sun_thu = parse_work_days("sun-thu")
    assert add_business_days(thursday, 2, "UTC", sun_thu) == datetime(
        2026, 12, 7, 15, 0, tzinfo=UTC  # Sunday, then Monday
    )
    assert add_business_days(thursday, 1, "UTC", sun_thu) == datetime(
        2026, 12, 6, 15, 0, tzinfo=UTC
    )


def test_the_setting_reaches_reminders_and_nudges() -> None:
    from bot.updates.models import NudgeSettings

    settings = Settings.model_validate({"reminder_work_days": "sun-thu"})
    assert ActionSettings.from_settings(settings).working_days == parse_work_days("sun-thu")
    assert NudgeSettings.from_settings(settings).work_days == parse_work_days("sun-thu")
    assert Settings.model_validate({}).reminder_work_days == parse_work_days("mon-fri")


def test_a_bad_setting_stops_the_bot_with_one_line(
    monkeypatch: pytest.MonkeyPatch, slack: SlackEmulator
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", slack.api_url)
    monkeypatch.setenv("REMINDER_WORK_DAYS", "weekdays")
    result = CliRunner().invoke(cli, ["worker"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("incident-bot: setting REMINDER_WORK_DAYS is invalid: ")


def test_the_postmortem_says_it_began_in_working_hours_in_the_ics_zone_and_week() -> None:
    from bot.incidents.models import Incident, Role
    from bot.postmortem.analysis import analyze
    from bot.workweek import WorkingHours

    def lucky(declared: datetime, hours: WorkingHours, ic_zone: str) -> list[str]:
        incident = Incident(
            id="INC-1", title="Checkout errors", channel_id="C1", channel_name="inc-1",
            declared_by="U0IC", declared_at=declared, roles={Role.IC: "U0IC"},
        )
        pm = analyze(incident, [], library=None, now=declared, team_hours=hours,
                     ic_zone=ic_zone).postmortem
        return [line for line in pm.got_lucky if "working hours" in line]

    week = WorkingHours()
    friday_evening_utc = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
    # 15:00 UTC on a Friday: working hours in London, Saturday 00:00 in Tokyo
    assert lucky(friday_evening_utc, week, "Europe/London") == [
        "It was declared in the IC's working hours (mon-fri, Europe/London), "
        "when the team was at work"
    ]
    assert lucky(friday_evening_utc, week, "Asia/Tokyo") == []
    # a Sunday morning is a working morning for a Sunday–Thursday team, not for mon-fri
    sunday = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
    assert lucky(sunday, week, "UTC") == []
    assert lucky(sunday, WorkingHours(days=parse_work_days("sun-thu")), "UTC") != []
