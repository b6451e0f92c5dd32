"""Markdown → Notion blocks, within the API's limits: a rich-text object carries at most
2,000 characters and an array at most 100 of them; a request appends at most 100 blocks and
nests at most two levels; a table's rows are its children, given when it is made, each
with exactly `table_width` cells. Headings map to heading_1-3 (deeper ones to heading_3),
lists to bulleted/numbered list items (nested lists flattened, indented with their level),
fences to code blocks (Notion's language names), tables to table blocks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.publishing.document import markdown_parser

if TYPE_CHECKING:
    from markdown_it.token import Token

Block = dict[str, Any]
TEXT_MAX = 2000
RICH_MAX = 100
CHILDREN_MAX = 100
TABLE_WIDTH_MAX = 100
LANGUAGES = {
    "": "plain text", "text": "plain text", "sh": "shell", "bash": "bash", "shell": "shell",
    "python": "python", "py": "python", "json": "json", "yaml": "yaml", "yml": "yaml",
    "sql": "sql", "promql": "plain text", "markdown": "markdown", "md": "markdown",
    "go": "go", "java": "java", "javascript": "javascript", "js": "javascript",
}


def _text(content: str, **annotations: bool | str) -> list[dict[str, Any]]:
    """One or more text objects for `content` (split at 2,000 characters)."""
    href = annotations.pop("href", None)
    marks = {k: v for k, v in annotations.items() if v}
    out = []
    for i in range(0, max(len(content), 1), TEXT_MAX):
        obj: dict[str, Any] = {"type": "text", "text": {"content": content[i:i + TEXT_MAX]}}
        if isinstance(href, str) and href.startswith(("http://", "https://")):
            obj["text"]["link"] = {"url": href}
        if marks:
            obj["annotations"] = marks
        out.append(obj)
    return out


def rich_text(inline: Token | None) -> list[dict[str, Any]]:
    """An inline token's children as rich text (bold, italic, code, links)."""
    if inline is None or not inline.children:
        return []
    out: list[dict[str, Any]] = []
    bold = italic = False
    href: str | None = None
    for child in inline.children:
        match child.type:
            case "strong_open" | "strong_close":
                bold = child.type == "strong_open"
            case "em_open" | "em_close":
                italic = child.type == "em_open"
            case "link_open":
                href = str(child.attrs.get("href") or "")
            case "link_close":
                href = None
            case "code_inline":
                out += _text(child.content, code=True, bold=bold, italic=italic)
            case "softbreak" | "hardbreak":
                out += _text("\n")
            case "text" | "image":
                if child.content:
                    out += _text(child.content, bold=bold, italic=italic, href=href or "")
    merged = [o for o in out if o["text"]["content"]]
    if len(merged) > RICH_MAX:  # fold the tail into one plain object rather than drop it
        tail = "".join(o["text"]["content"] for o in merged[RICH_MAX - 1:])
        merged = merged[:RICH_MAX - 1] + _text(tail[:TEXT_MAX])
    return merged


def _block(kind: str, **body: Any) -> Block:
    return {"object": "block", "type": kind, kind: body}


def _table(tokens: list[Token], start: int) -> tuple[Block, int]:
    rows: list[list[list[dict[str, Any]]]] = []
    header = False
    i = start + 1
    row: list[list[dict[str, Any]]] = []
    while tokens[i].type != "table_close":
        t = tokens[i]
        if t.type == "thead_open":
            header = True
        elif t.type == "tr_open":
            row = []
        elif t.type in ("th_open", "td_open"):
            row.append(rich_text(tokens[i + 1]))
        elif t.type == "tr_close":
            rows.append(row)
        i += 1
    width = max(1, min(TABLE_WIDTH_MAX, max((len(r) for r in rows), default=1)))
    children = [
        _block("table_row", cells=[*(r[:width]), *([[]] * (width - len(r)))])
        for r in rows[:CHILDREN_MAX]
    ]
    table = _block("table", table_width=width, has_column_header=header,
                   has_row_header=False, children=children)
    return table, i


def to_blocks(markdown: str) -> list[Block]:
    tokens = markdown_parser().parse(markdown)
    blocks: list[Block] = []
    lists: list[str] = []  # the open lists, innermost last
    quote = 0
    i = 0
    while i < len(tokens):
        t = tokens[i]
        match t.type:
            case "heading_open":
                level = min(int(t.tag[1]), 3)
                blocks.append(_block(f"heading_{level}", rich_text=rich_text(tokens[i + 1])))
                i += 2
            case "bullet_list_open" | "ordered_list_open":
                lists.append("numbered_list_item" if t.type.startswith("ordered")
                             else "bulleted_list_item")
            case "bullet_list_close" | "ordered_list_close":
                lists.pop()
            case "blockquote_open" | "blockquote_close":
                quote += 1 if t.type.endswith("open") else -1
            case "paragraph_open":
                text = rich_text(tokens[i + 1])
                if lists:
                    if len(lists) > 1:
                        text = _text("  " * (len(lists) - 1)) + text
                    blocks.append(_block(lists[-1], rich_text=text[:RICH_MAX]))
                elif quote:
                    blocks.append(_block("quote", rich_text=text))
                else:
                    blocks.append(_block("paragraph", rich_text=text))
                i += 2
            case "fence" | "code_block":
                language = LANGUAGES.get(t.info.strip().lower(), "plain text")
                blocks.append(_block("code", rich_text=_text(t.content.rstrip("\n")),
                                     language=language))
            case "table_open":
                table, i = _table(tokens, i)
                blocks.append(table)
            case "hr":
                blocks.append(_block("divider"))
        i += 1
    return blocks


def chunks(blocks: list[Block], size: int = CHILDREN_MAX) -> list[list[Block]]:
    return [blocks[i:i + size] for i in range(0, len(blocks), size)]
