"""Documentation generated from the code, so it cannot drift: docs/settings.md from the
Settings model (bot/settings.py), docs/commands.md from the command registries (commands/).

`make docs` (the same as `incident-bot docs` or `python -m bot.docs`) rewrites them;
tests/test_docs.py fails, naming that command, while a page differs from what the code
would generate."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

REGENERATE = "make docs"
ROOT = Path(__file__).resolve().parents[2]
BANNER = (
    "<!-- Generated from {source} by `make docs`: edit the source, not this page "
    "(tests/test_docs.py fails while this page is stale). -->"
)


def _settings() -> str:
    from bot.docs import settings_page

    return settings_page.render()


def _commands() -> str:
    from bot.docs import commands_page

    return commands_page.render()


# page (relative to the repository root) -> (its source, named in its banner; its renderer)
PAGES: dict[str, tuple[str, Callable[[], str]]] = {
    "docs/settings.md": ("bot/settings.py", _settings),
    "docs/commands.md": ("the command registries in commands/", _commands),
}


def generate(page: str) -> str:
    source, render = PAGES[page]
    return BANNER.format(source=source) + "\n\n" + render()


def stale(root: Path = ROOT) -> list[str]:
    """The pages whose file differs from what the code generates now."""
    out = []
    for page in PAGES:
        path = root / page
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != generate(page):
            out.append(page)
    return out


def write(root: Path = ROOT) -> list[str]:
    """Rewrite every page that changed; the ones written."""
    written = []
    for page in stale(root):
        path = root / page
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(generate(page), encoding="utf-8")
        written.append(page)
    return written
