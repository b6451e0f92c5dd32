"""docs/settings.md from the Settings model: one section per settings group (its docstring
gives the heading and the introduction), one table row per field (its description)."""

from __future__ import annotations

import inspect
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from bot.settings import Settings
from bot.workweek import WEEKDAYS

INTRO = """\
Every setting is read from the environment (pydantic-settings; names are case-insensitive).
A bad value stops the bot at start with one line naming the setting. Every integration is
optional: one left unset is absent (from help too) and never blocks a flow; a half-configured
one stops the bot at start, naming the missing setting."""


def own_fields(group: type[BaseModel]) -> list[str]:
    """The fields a class declares itself, in source order."""
    inherited = {
        name for base in group.__mro__[1:] for name in getattr(base, "__pydantic_fields__", {})
    }
    return [name for name in group.__pydantic_fields__ if name not in inherited]


def heading_and_intro(group: type[BaseModel]) -> tuple[str, str]:
    doc = inspect.getdoc(group) or group.__name__
    heading, _, intro = doc.partition("\n")
    return heading.strip(), " ".join(intro.split())


def sections(settings: type[BaseModel] = Settings) -> list[tuple[str, str, list[str]]]:
    """(heading, introduction, field names) per group, in the order Settings lists its
    groups; fields declared on Settings itself come last, as "Other settings"."""
    out = []
    for base in settings.__bases__:
        if issubclass(base, BaseModel) and own_fields(base):
            out.append((*heading_and_intro(base), own_fields(base)))
    if own_fields(settings):
        out.append(("Other settings", "Not in a group (bot/settings.py).", own_fields(settings)))
    return out


def show_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def show_days(days: frozenset[int]) -> str:
    ordered = sorted(days)
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{WEEKDAYS[ordered[0]]}-{WEEKDAYS[ordered[-1]]}"
    return ",".join(WEEKDAYS[d] for d in ordered)


def show_default(value: Any) -> str:
    if value is None or value is PydanticUndefined:
        return "—"
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, timedelta):
        text = show_duration(value)
    elif isinstance(value, frozenset):
        text = show_days(value)
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    else:
        text = str(value)
    return f"`{text}`"


def cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render(settings: type[BaseModel] = Settings) -> str:
    parts = sections(settings)
    lines = ["# Settings", "", INTRO, ""]
    lines += [f"- [{heading}](#{anchor(heading)})" for heading, _, _ in parts]
    for heading, intro, names in parts:
        lines += ["", f"## {heading}", ""]
        if intro:
            lines += [intro, ""]
        lines += ["| setting | default | meaning |", "|---|---|---|"]
        for name in names:
            field = settings.model_fields[name]
            lines.append(
                f"| `{name.upper()}` | {show_default(field.default)} "
                f"| {cell(field.description or '')} |"
            )
    return "\n".join(lines) + "\n"


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    kept = "".join(c for c in heading.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")
