"""A postmortem's versions on the incident page: each rendered from Markdown with raw HTML
disabled (markdown-it-py; its link check drops `javascript:` and the like), and the
difference between two versions, line by line."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import cast

from bot.postmortem.models import Postmortem
from bot.postmortem.render import render_markdown


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "same" | "added" | "removed" | "gap"
    text: str


def markdown_html(text: str) -> str:
    """Markdown → HTML with raw HTML disabled: what a person typed stays text."""
    from markdown_it import MarkdownIt  # loaded by the first postmortem shown, not at start

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    return cast(str, md.render(text))


def diff_lines(old: str, new: str, context: int = 3) -> list[DiffLine]:
    out: list[DiffLine] = []
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="",
                                     n=context):
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            out.append(DiffLine("gap", line))
        elif line.startswith("+"):
            out.append(DiffLine("added", line[1:]))
        elif line.startswith("-"):
            out.append(DiffLine("removed", line[1:]))
        else:
            out.append(DiffLine("same", line[1:]))
    return out


def as_markdown(pm: Postmortem) -> str:
    return render_markdown(pm)
