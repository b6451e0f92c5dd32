"""What a Slack `message` event means for the timeline, from the shapes Slack really sends.

Only a person's own words become a message: plain messages, thread broadcasts, file shares
and /me messages. Channel changes (topic, purpose, name, archive) are system notes in the
bot's words; joins, leaves, bot posts and every other subtype are not recorded. An edit is a
change of the words: Slack also sends `message_changed` when it unfurls a link or turns a
deleted thread parent into a tombstone, and neither is a person editing. A forwarded or
shared message keeps the forwarded text, marked as forwarded."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# subtypes that carry what a person wrote
SPOKEN_SUBTYPES = frozenset({None, "thread_broadcast", "file_share", "me_message"})
FORWARD_MARK = "↪ forwarded"
_TS = re.compile(r"^\d{1,12}(\.\d{1,6})?$")


@dataclass(frozen=True)
class Said:
    channel: str
    user: str
    ts: str
    text: str


@dataclass(frozen=True)
class Edited:
    channel: str
    ts: str
    user: str | None
    text: str


@dataclass(frozen=True)
class Deleted:
    channel: str
    ts: str


@dataclass(frozen=True)
class SystemNote:
    """A change to the channel itself, told in the bot's words (user text kept apart)."""

    channel: str
    ts: str
    user: str | None
    text: str


MessageMeaning = Said | Edited | Deleted | SystemNote


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _ts(value: Any) -> str:
    """A Slack message timestamp ("1663969333.524439"), or "" for anything else."""
    return value if isinstance(value, str) and _TS.match(value) else ""


def _forwarded(attachment: dict[str, Any]) -> str | None:
    """The text of a forwarded/shared message attachment (None for link unfurls etc.)."""
    if not attachment.get("is_share"):
        return None
    text = _str(attachment.get("text")) or _str(attachment.get("fallback"))
    # plain words: people's text is escaped when shown, so a <@U…> mention would not render
    author = _str(attachment.get("author_name")) or _str(attachment.get("author_subname"))
    by = f" from {author}" if author else ""
    return f"{FORWARD_MARK}{by}: {text}"


def words(message: dict[str, Any]) -> str:
    """What the person said: the text, any forwarded message, and the files they shared."""
    parts = [_str(message.get("text"))]
    attachments = message.get("attachments")
    for attachment in attachments if isinstance(attachments, list) else []:
        forwarded = _forwarded(_dict(attachment))
        if forwarded is not None:
            parts.append(forwarded)
    files = message.get("files")
    names = [_str(_dict(f).get("name") or _dict(f).get("title")) for f in files or []] if (
        isinstance(files, list)
    ) else []
    if any(names):
        parts.append("[files: " + ", ".join(n for n in names if n) + "]")
    return "\n".join(p for p in parts if p)


SYSTEM_NOTES: dict[str, Callable[[dict[str, Any]], str]] = {
    "channel_topic": lambda e: f"set the channel topic: {_str(e.get('topic'))}",
    "group_topic": lambda e: f"set the channel topic: {_str(e.get('topic'))}",
    "channel_purpose": lambda e: f"set the channel description: {_str(e.get('purpose'))}",
    "group_purpose": lambda e: f"set the channel description: {_str(e.get('purpose'))}",
    "channel_name": lambda e: (
        f"renamed the channel from #{_str(e.get('old_name'))} to #{_str(e.get('name'))}"
    ),
    "group_name": lambda e: (
        f"renamed the channel from #{_str(e.get('old_name'))} to #{_str(e.get('name'))}"
    ),
    "channel_archive": lambda e: "archived the channel",
    "group_archive": lambda e: "archived the channel",
    "channel_unarchive": lambda e: "unarchived the channel",
    "group_unarchive": lambda e: "unarchived the channel",
    "channel_convert_to_private": lambda e: "made the channel private",
    "channel_convert_to_public": lambda e: "made the channel public",
}


def _changed(event: dict[str, Any], channel: str) -> MessageMeaning | None:
    message = _dict(event.get("message"))
    previous = _dict(event.get("previous_message"))  # Slack has sent [] here
    ts = _ts(message.get("ts")) or _ts(previous.get("ts"))
    if not ts or message.get("bot_id") or message.get("subtype") == "bot_message":
        return None
    if message.get("subtype") == "tombstone":  # a thread parent deleted under its replies
        return Deleted(channel=channel, ts=ts)
    text = words(message)
    if previous and text == words(previous):
        return None  # an unfurl, a metadata or reply-count update: not the person's edit
    editor = _str(_dict(message.get("edited")).get("user")) or _str(message.get("user"))
    return Edited(channel=channel, ts=ts, user=editor or None, text=text)


def read_message_event(event: dict[str, Any]) -> MessageMeaning | None:
    """The meaning of one `message` event for an incident's timeline (None: not recorded)."""
    channel = _str(event.get("channel"))
    subtype = event.get("subtype")
    if not channel or not (subtype is None or isinstance(subtype, str)):
        return None
    if subtype == "message_changed":
        return _changed(event, channel)
    if subtype == "message_deleted":
        ts = _ts(event.get("deleted_ts")) or _ts(_dict(event.get("previous_message")).get("ts"))
        return Deleted(channel=channel, ts=ts) if ts else None
    ts = _ts(event.get("ts"))
    user = _str(event.get("user"))
    if not ts:
        return None
    if isinstance(subtype, str) and subtype in SYSTEM_NOTES:
        note = SYSTEM_NOTES[subtype](event)
        return SystemNote(channel=channel, ts=ts, user=user or None, text=note)
    if subtype not in SPOKEN_SUBTYPES or event.get("bot_id") or not user:
        return None
    text = words(event)
    return Said(channel=channel, user=user, ts=ts, text=text) if text else None
