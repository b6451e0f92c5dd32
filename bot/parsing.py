"""Slash-command text: words plus `key:value` options in any order (see COMMANDS.md).

Every function here either returns a value or raises UsageError; nothing else escapes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.errors import UsageError
from bot.incidents.models import Severity

MENTION = re.compile(r"^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$")
OPTION = re.compile(r"^([a-z_]+):(.*)$", re.IGNORECASE)
RELATIVE = re.compile(r"^(\d{1,4})([hdw])$", re.IGNORECASE)
SEVERITY = re.compile(r"^(?:sev)?([1-4])$", re.IGNORECASE)
MAX_TEXT = 3000


@dataclass
class ParsedText:
    words: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)

    @property
    def rest(self) -> str:
        return " ".join(self.words)


def tokenize(text: str) -> list[str]:
    """Split on whitespace; "double quotes" group words. Unbalanced quotes are kept literally."""
    tokens: list[str] = []
    for match in re.finditer(r'"([^"]*)"|(\S+)', text):
        quoted, bare = match.group(1), match.group(2)
        tokens.append(quoted if quoted is not None else bare)
    return tokens


def parse_text(text: str, allowed_options: frozenset[str] = frozenset()) -> ParsedText:
    """Known `key:value` tokens become options; everything else stays a word."""
    if len(text) > MAX_TEXT:
        raise UsageError(f"That text is too long ({len(text)} characters; at most {MAX_TEXT}).")
    parsed = ParsedText()
    for token in tokenize(text):
        match = OPTION.match(token)
        key = match.group(1).lower() if match else ""
        if match and key in allowed_options:
            if key in parsed.options:
                raise UsageError(f"`{key}:` is given twice.")
            value = match.group(2).strip()
            if not value:
                raise UsageError(f"`{key}:` needs a value.")
            parsed.options[key] = value
        else:
            parsed.words.append(token)
    return parsed


def parse_user(token: str) -> str:
    match = MENTION.match(token.strip())
    if not match:
        raise UsageError(f"`{token}` is not a user mention; mention someone like @alice.")
    return match.group(1)


def parse_severity(value: str) -> Severity:
    match = SEVERITY.match(value.strip())
    if not match:
        raise UsageError(f"`{value}` is not a severity; use 1-4 or sev1-sev4.")
    return Severity(int(match.group(1)))


def parse_list(value: str) -> list[str]:
    items = [v.strip().lower() for v in value.split(",")]
    items = [v for v in items if v]
    if not items:
        raise UsageError("Give at least one name, separated by commas.")
    for item in items:
        if not re.fullmatch(r"[a-z0-9][a-z0-9._/+-]{0,63}", item):
            raise UsageError(f"`{item}` is not a valid name (letters, digits, . _ / + -).")
    return list(dict.fromkeys(items))


def parse_due(value: str, now: datetime) -> datetime:
    """`YYYY-MM-DD` (end of that day, UTC), `today`, `tomorrow`, or `12h` / `3d` / `2w`."""
    v = value.strip().lower()
    end_of_day = timedelta(hours=23, minutes=59)
    if v == "today":
        return datetime.combine(now.date(), datetime.min.time(), now.tzinfo) + end_of_day
    if v == "tomorrow":
        day = now.date() + timedelta(days=1)
        return datetime.combine(day, datetime.min.time(), now.tzinfo) + end_of_day
    rel = RELATIVE.match(v)
    if rel:
        amount, unit = int(rel.group(1)), rel.group(2)
        return (
            now
            + {
                "h": timedelta(hours=amount),
                "d": timedelta(days=amount),
                "w": timedelta(weeks=amount),
            }[unit]
        )
    try:
        day = date.fromisoformat(v)
    except ValueError:
        raise UsageError(
            f"`{value}` is not a date; use YYYY-MM-DD, today, tomorrow, or 12h / 3d / 2w."
        ) from None
    if len(v) != 10:
        raise UsageError(f"`{value}` is not a date; use YYYY-MM-DD.")
    return datetime.combine(day, datetime.min.time(), now.tzinfo) + end_of_day


def parse_duration(value: str) -> timedelta:
    """`30s`, `10m`, `2h`, `3d`, `2w`."""
    match = re.fullmatch(r"(\d{1,5})([smhdw])", value.strip().lower())
    if not match:
        raise UsageError(f"`{value}` is not a duration; use e.g. 30s, 10m, 2h, 3d or 2w.")
    amount, unit = int(match.group(1)), match.group(2)
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit]
    if amount == 0:
        raise UsageError(f"`{value}` is zero; give a positive duration.")
    return timedelta(seconds=amount * seconds)


def parse_yes_no(value: str, option: str) -> bool:
    v = value.strip().lower()
    if v in ("yes", "y", "true", "on"):
        return True
    if v in ("no", "n", "false", "off"):
        return False
    raise UsageError(f"`{option}:{value}` must be yes or no.")
