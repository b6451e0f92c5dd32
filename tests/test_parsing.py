"""The command grammar: any text parses or gives a UsageError, never another exception."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import UsageError
from bot.incidents.models import Severity
from bot.incidents.naming import channel_name, slugify
from bot.parsing import parse_due, parse_list, parse_severity, parse_text, parse_user
from commands.incident import registry

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_words_and_options_in_any_order() -> None:
    parsed = parse_text(
        'DB pool exhausted sev:1 services:api,db "tags:x"', frozenset({"sev", "services", "tags"})
    )
    assert parsed.words == ["DB", "pool", "exhausted"]
    assert parsed.options == {"sev": "1", "services": "api,db", "tags": "x"}


def test_unknown_option_keys_stay_words() -> None:
    parsed = parse_text("see http://grafana/x sev:2", frozenset({"sev"}))
    assert parsed.rest == "see http://grafana/x"
    assert parsed.options == {"sev": "2"}


def test_repeated_or_empty_option_is_refused() -> None:
    with pytest.raises(UsageError, match="twice"):
        parse_text("x sev:1 sev:2", frozenset({"sev"}))
    with pytest.raises(UsageError, match="needs a value"):
        parse_text("x sev:", frozenset({"sev"}))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", Severity.SEV1), ("sev2", Severity.SEV2), ("SEV3", Severity.SEV3), ("4", Severity.SEV4)],
)
def test_severity_forms(text: str, expected: Severity) -> None:
    assert parse_severity(text) is expected


@pytest.mark.parametrize("text", ["0", "5", "sev0", "high", "", "s1"])
def test_severity_out_of_range(text: str) -> None:
    with pytest.raises(UsageError, match="not a severity"):
        parse_severity(text)


def test_user_mentions() -> None:
    assert parse_user("<@U0ALICE|alice>") == "U0ALICE"
    assert parse_user("<@U0BOB>") == "U0BOB"
    with pytest.raises(UsageError, match="not a user mention"):
        parse_user("@bob")


def test_due_dates() -> None:
    assert parse_due("2026-12-01", NOW) == datetime(2026, 12, 1, 23, 59, tzinfo=UTC)
    assert parse_due("tomorrow", NOW).date() == (NOW + timedelta(days=1)).date()
    assert parse_due("3d", NOW) == NOW + timedelta(days=3)
    assert parse_due("2w", NOW) == NOW + timedelta(weeks=2)
    assert parse_due("12h", NOW) == NOW + timedelta(hours=12)
    for bad in ("2026-13-01", "next week", "3x", "01/12/2026"):
        with pytest.raises(UsageError):
            parse_due(bad, NOW)


def test_lists_are_normalised() -> None:
    assert parse_list("API-Server,db,,api-server") == ["api-server", "db"]
    with pytest.raises(UsageError):
        parse_list("bad name!")


def test_channel_names_cut_at_a_word_and_suffix() -> None:
    title = "Checkout API returning 500s for customers in the European region after deploy"
    name = channel_name(title, NOW)
    assert name.startswith("inc-20261123-checkout-api-returning-500s")
    assert len(name) <= 80 and not name.endswith("-")
    assert name.split("-")[-1] in title.lower()
    assert channel_name(title, NOW, attempt=2) == name + "-2"
    assert slugify("🔥🔥") == "incident"
    assert slugify("Ünïcödé outage") == "unicode-outage"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_parses_or_gives_usage(text: str) -> None:
    try:
        _, _, parsed = registry.parse(text)
        for key, value in parsed.options.items():
            if key in ("sev", "severity"):
                parse_severity(value)
            elif key in ("services", "tags"):
                parse_list(value)
            elif key == "due":
                parse_due(value, NOW)
        for w in parsed.words:
            if w.startswith("<@"):
                parse_user(w)
    except UsageError as exc:
        assert exc.message


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=200))
def test_channel_name_is_always_valid_for_slack(title: str) -> None:
    name = channel_name(title, NOW)
    assert len(name) <= 80
    assert all(c.islower() or c.isdigit() or c == "-" for c in name)
