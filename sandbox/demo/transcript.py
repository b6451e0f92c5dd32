"""What the channels saw, as plain text: ids become @names and #channels, Slack's
`<!date^…>` its fallback text, blocks their visible text and buttons `[Label]`. The demo
prints it after the play, and the scenario checks (`shows:`) read messages the same way, so a
scenario says what a reader sees."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

MAX_LINES = 40


_USER_REF = re.compile(r"<@([A-Z0-9]+)(?:\|([^>]*))?>")
_CHANNEL_REF = re.compile(r"<#([A-Z0-9]+)(?:\|([^>]*))?>")
_DATE_REF = re.compile(r"<!date\^[^|>]*\|([^>]*)>")
_SPECIAL_REF = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")
_SUBTEAM_REF = re.compile(r"<!subteam\^[A-Z0-9]+(?:\|([^>]*))?>")
_LINK_REF = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")


@dataclass
class Entry:
    ts: float
    user: str
    text: str
    only_you: bool = False


@dataclass
class Transcript:
    """Names for ids, and the ephemeral replies seen per channel."""

    clock: Callable[[], datetime]
    user_names: dict[str, str] = field(default_factory=dict)
    channel_names: dict[str, str] = field(default_factory=dict)
    ephemeral: dict[str, list[Entry]] = field(default_factory=dict)
    first_day: date | None = None  # times on other days show their date

    def readable(self, text: str) -> str:
        def user(m: re.Match[str]) -> str:
            return "@" + self.user_names.get(m.group(1), m.group(2) or m.group(1))

        def channel(m: re.Match[str]) -> str:
            return "#" + self.channel_names.get(m.group(1), m.group(2) or m.group(1))

        text = _USER_REF.sub(user, text)
        text = _CHANNEL_REF.sub(channel, text)
        text = _DATE_REF.sub(lambda m: m.group(1), text)
        text = _SPECIAL_REF.sub(lambda m: "@" + m.group(1), text)
        text = _SUBTEAM_REF.sub(lambda m: m.group(1) or "@group", text)
        text = _LINK_REF.sub(lambda m: m.group(2) or m.group(1), text)
        return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    def note_reply(self, channel_id: str, user_id: str, text: str) -> None:
        if text.strip():
            self.ephemeral.setdefault(channel_id, []).append(
                Entry(self.clock().timestamp(), user_id, text, only_you=True)
            )


def flatten_blocks(blocks: list[dict[str, Any]]) -> str:
    """Blocks as plain lines: section/header/context text and fields, rich text, buttons."""
    lines: list[str] = []

    def text_of(obj: Any) -> str:
        if isinstance(obj, dict):
            return str(obj.get("text", "")) if isinstance(obj.get("text"), str) else ""
        return ""

    def rich(elements: list[Any]) -> str:
        out = ""
        for el in elements:
            if not isinstance(el, dict):
                continue
            kind = el.get("type")
            if kind == "text":
                out += str(el.get("text", ""))
            elif kind == "user":
                out += f"<@{el.get('user_id', '')}>"
            elif kind == "channel":
                out += f"<#{el.get('channel_id', '')}>"
            elif kind == "link":
                out += str(el.get("text") or el.get("url", ""))
            elif kind == "emoji":
                out += f":{el.get('name', '')}:"
            elif kind in ("rich_text_section", "rich_text_quote"):
                out += rich(el.get("elements", []))
            elif kind == "rich_text_preformatted":
                out += "```\n" + rich(el.get("elements", [])) + "\n```"
            elif kind == "rich_text_list":
                out += "\n".join("• " + rich(i.get("elements", [])) for i in el.get("elements", []))
            out += "" if kind in ("text", "user", "channel", "link", "emoji") else "\n"
        return out

    for block in blocks:
        kind = block.get("type")
        if kind in ("section", "header"):
            if block.get("text"):
                lines.append(text_of(block["text"]))
            fields = [text_of(f) for f in block.get("fields") or []]
            if fields:
                lines.append("  ".join(f.replace("\n", " ") for f in fields))
            acc = block.get("accessory")
            if isinstance(acc, dict) and acc.get("type") == "button":
                lines.append(f"[{text_of(acc.get('text'))}]")
        elif kind == "context":
            lines.append(" ".join(text_of(e) for e in block.get("elements", []) if text_of(e)))
        elif kind == "actions":
            buttons = [text_of(e.get("text")) for e in block.get("elements", [])]
            lines.append(" ".join(f"[{b}]" for b in buttons if b))
        elif kind == "rich_text":
            lines.append(rich(block.get("elements", [])).rstrip("\n"))
        elif kind == "divider":
            lines.append("---")
    return "\n".join(line for line in lines if line.strip())


def cut(text: str, limit: int = MAX_LINES) -> str:
    lines = text.splitlines()
    if len(lines) <= limit:
        return text
    return "\n".join([*lines[:limit], f"… ({len(lines) - limit} more lines)"])


def render_entry(entry: Entry, names: Transcript) -> str:
    at = datetime.fromtimestamp(entry.ts, UTC)
    day = names.first_day
    stamp = at.strftime("%H:%M" if day is None or at.date() == day else "%a %d %b %H:%M")
    who = "@" + names.user_names.get(entry.user, entry.user or "someone")
    body = cut(names.readable(entry.text))
    mark = " (only you)" if entry.only_you else ""
    first, *rest = body.splitlines() or [""]
    out = [f"[{stamp}] {who}{mark}: {first}"]
    out += ["        " + line for line in rest]
    return "\n".join(out)


def print_transcript(emulator: Any, names: Transcript) -> None:
    names.user_names.update({u.id: u.name for u in emulator.users()})
    channels = emulator.channels()
    names.channel_names.update({c.id: c.name for c in channels})
    print("\n== transcript: what the channels saw ==")
    for ch in channels:
        entries = [Entry(float(m.ts), m.user, message_text(m)) for m in emulator.messages(ch.id)]
        entries += [
            Entry(
                float(e.get("ts") or 0),
                str(e.get("user", "")),
                str(e.get("text") or flatten_blocks(e.get("blocks") or [])),
                only_you=True,
            )
            for e in emulator.ephemerals(ch.id)
        ]
        entries += names.ephemeral.get(ch.id, [])
        if not entries:
            continue
        entries.sort(key=lambda e: e.ts)
        if ch.is_im:
            heading = f"DM with @{names.user_names.get(ch.im_user or '', ch.im_user)}"
        else:
            heading = f"#{ch.name}"
        print(f"\n### {heading}")
        for entry in entries:
            print(render_entry(entry, names))


def message_text(message: Any) -> str:
    text = flatten_blocks(message.blocks) if message.blocks else str(message.text)
    if not text.strip():
        text = str(message.text)
    for f in message.files:
        text += f"\n[file: {f.get('name') or f.get('title', '')}]"
    if message.edited:
        text += " (edited)"
    return text
