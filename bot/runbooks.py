"""Markdown runbooks as heading trees, and citations of their sections.

A section is a Markdown heading (`#` … `######`). Inside a section, top-level numbered
list items (`1. **Traffic Spike**: …`) are child sections too, titled `1. Traffic Spike`,
so a citation can point at one numbered root cause.

    library = RunbookLibrary.from_folder(Path("runbooks"))
    cite = library.find(["ConnectionPoolTimeoutError", "Traffic Spike"])
    cite.rendered  # 'Engineering Runbook: Database Connection Issues → Error: … → 1. Traffic Spike'
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict

SEPARATOR = " → "

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_NUMBERED = re.compile(r"^(\d+)\.\s+(.+)$")
_FENCE = re.compile(r"^\s*(```|~~~)")


class Citation(BaseModel):
    """Where a statement comes from: a runbook file and a heading path inside it."""

    model_config = ConfigDict(frozen=True)

    file: str  # as given to the library, e.g. "runbooks/database-connection-issues.md"
    path: tuple[str, ...]  # heading titles from the document title down
    text: str  # the section's own text (heading line included, children included)

    @property
    def rendered(self) -> str:
        return SEPARATOR.join(self.path)

    @property
    def title(self) -> str:
        return self.path[0] if self.path else ""


@dataclass
class Section:
    title: str
    level: int  # 1-6 for headings, 7 for numbered items
    lines: list[str] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)

    @property
    def own_text(self) -> str:
        return "\n".join(self.lines).strip()

    def full_text(self) -> str:
        parts = [self.own_text, *(c.full_text() for c in self.children)]
        return "\n".join(p for p in parts if p).strip()


@dataclass
class Runbook:
    file: str
    sections: list[Section]

    def walk(self) -> Iterator[tuple[tuple[str, ...], Section]]:
        def rec(
            path: tuple[str, ...], nodes: list[Section]
        ) -> Iterator[tuple[tuple[str, ...], Section]]:
            for node in nodes:
                here = (*path, node.title)
                yield here, node
                yield from rec(here, node.children)

        yield from rec((), self.sections)

    def citation(self, path: tuple[str, ...], section: Section) -> Citation:
        return Citation(file=self.file, path=path, text=section.full_text())


def _clean_title(raw: str) -> str:
    text = re.sub(r"[*_`]", "", raw).strip()
    return text


def _item_title(number: str, rest: str) -> str:
    bold = re.match(r"^\*\*(.+?)\*\*", rest)
    name = bold.group(1) if bold else re.split(r"[:.—]\s", rest, maxsplit=1)[0]
    return f"{number}. {_clean_title(name).rstrip(':').strip()}"


def parse_runbook(text: str, file: str) -> Runbook:
    """Parse Markdown into a heading tree (numbered top-level items become leaf sections)."""
    roots: list[Section] = []
    stack: list[Section] = []
    in_fence = False
    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else _HEADING.match(line)
        item = None if in_fence or heading else _NUMBERED.match(line)
        if heading:
            node = Section(title=_clean_title(heading.group(2)), level=len(heading.group(1)))
        elif item and stack:
            node = Section(title=_item_title(item.group(1), item.group(2)), level=7)
        else:
            if stack:
                stack[-1].lines.append(line)
            continue
        node.lines.append(line)
        while stack and stack[-1].level >= node.level:
            stack.pop()
        (stack[-1].children if stack else roots).append(node)
        stack.append(node)
    return Runbook(file=file, sections=roots)


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip().lower()


class RunbookLibrary:
    """All runbooks of a folder (`*.md`), searchable by keywords or heading path."""

    def __init__(self, runbooks: Sequence[Runbook]) -> None:
        self.runbooks = list(runbooks)

    @classmethod
    def from_folder(cls, folder: str | Path) -> RunbookLibrary:
        base = Path(folder)
        books = [
            parse_runbook(p.read_text(encoding="utf-8"), str(p))
            for p in sorted(base.glob("*.md"))
        ]
        return cls(books)

    def sections(self) -> Iterator[Citation]:
        for book in self.runbooks:
            for path, section in book.walk():
                yield book.citation(path, section)

    def cite(self, path: Sequence[str]) -> Citation | None:
        """The section whose heading path ends with `path` (case-insensitive)."""
        want = tuple(_norm(p) for p in path)
        if not want:
            return None
        for book in self.runbooks:
            for here, section in book.walk():
                if tuple(_norm(p) for p in here[-len(want) :]) == want:
                    return book.citation(here, section)
        return None

    def find(self, keywords: Sequence[str]) -> Citation | None:
        """The best section for these keywords, or None when no keyword matches.

        Score: 3 per keyword in the section's heading path, 1 per keyword in its text;
        ties go to the shallower (more general) section, then to document order."""
        words = [_norm(k) for k in keywords if k.strip()]
        best: tuple[int, int] = (0, -99)
        found: Citation | None = None
        for book in self.runbooks:
            for here, section in book.walk():
                heading = _norm(" ".join(here))
                body = _norm(section.own_text)
                score = sum(3 if w in heading else 1 if w in body else 0 for w in words)
                key = (score, -len(here))
                if score > 0 and key > best:
                    best, found = key, book.citation(here, section)
        return found
