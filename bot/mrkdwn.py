"""Text the bot echoes back: escaping user input and times every reader sees in their zone."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime

_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
_CONTROL = re.compile(
    r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200b-\u200f\u202a-\u202e\u2066-\u2069]"
)


def escape(text: str, *, limit: int = 300) -> str:
    """Neutralise user text before echoing it: no <!channel>/<!here> pings, no fake links,
    no bidi or control characters; cut at `limit` characters."""
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub("", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def mention(user_id: str | None) -> str:
    return f"<@{user_id}>" if user_id else "_unassigned_"


def channel_link(channel_id: str) -> str:
    return f"<#{channel_id}>"


def when(at: datetime, *, fmt: str = "{date_short_pretty} {time}") -> str:
    """A time Slack renders in each reader's own time zone, with a UTC fallback."""
    epoch = int(at.timestamp())
    fallback = at.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{epoch}^{fmt}|{fallback}>"


def clock_time(at: datetime) -> str:
    return when(at, fmt="{time}")


def plain(text: str) -> str:
    """Slack markup to plain text: `<@U1>` -> `@U1`, entities decoded, one line."""
    text = _MENTION.sub(r"@\1", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(text.split())


def hhmm(at: datetime) -> str:
    """`14:05`, in UTC (documents such as the postmortem say their times are UTC)."""
    return at.astimezone(UTC).strftime("%H:%M")
