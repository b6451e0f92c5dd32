"""Documentation generated from the code, so it cannot drift: docs/settings.md from the
Settings model (bot/settings.py), docs/commands.md from the command registries (commands/),
docs/benchmarks.md and the README's benchmark summary from bench/results.jsonl, and the
command line's reference in docs/operations.md from the `incident-bot` app (bot/cli.py).

`make docs` (the same as `incident-bot docs` or `python -m bot.docs`) rewrites them;
tests/test_docs.py fails, naming that command, while one differs from what the code would
generate. A generated block inside a hand-written file sits between `<!-- generated:NAME -->`
and `<!-- /generated:NAME -->`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

REGENERATE = "make docs"
ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results.jsonl"
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


def _benchmarks() -> str:
    from bot.docs import benchmarks_page

    return benchmarks_page.render(benchmarks_page.read_lines(RESULTS))


def _cli() -> str:
    from bot.docs import cli_page

    return cli_page.render()


def _bench_summary() -> str:
    from bot.docs import benchmarks_page

    return benchmarks_page.summary(benchmarks_page.read_lines(RESULTS))


# page (relative to the repository root) -> (its source, named in its banner; its renderer)
PAGES: dict[str, tuple[str, Callable[[], str]]] = {
    "docs/settings.md": ("bot/settings.py", _settings),
    "docs/commands.md": ("the command registries in commands/", _commands),
    "docs/benchmarks.md": ("bench/results.jsonl", _benchmarks),
}
# (file, block name) -> its renderer
BLOCKS: dict[tuple[str, str], Callable[[], str]] = {
    ("README.md", "bench-summary"): _bench_summary,
    ("docs/operations.md", "cli"): _cli,
}


def generate(page: str) -> str:
    source, render = PAGES[page]
    return BANNER.format(source=source) + "\n\n" + render()


def with_block(text: str, name: str, body: str) -> str:
    """`text` with the block `name` holding `body`; ValueError when its markers are missing."""
    start, end = f"<!-- generated:{name} -->", f"<!-- /generated:{name} -->"
    head, found, rest = text.partition(start)
    _, found_end, tail = rest.partition(end)
    if not (found and found_end):
        raise ValueError(f"the markers {start} … {end} are missing")
    return f"{head}{start}\n{body.rstrip()}\n{end}{tail}"


def expected(root: Path = ROOT) -> dict[str, str]:
    """Every generated file's text as the code would write it now."""
    out = {page: generate(page) for page in PAGES}
    for (name, block), render in BLOCKS.items():
        path = root / name
        current = out.get(name) or path.read_text(encoding="utf-8")
        out[name] = with_block(current, block, render())
    return out


def stale(root: Path = ROOT) -> list[str]:
    """The files whose text differs from what the code generates now."""
    old = []
    for name, text in expected(root).items():
        path = root / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            old.append(name)
    return old


def write(root: Path = ROOT) -> list[str]:
    """Rewrite every generated file that changed; the ones written."""
    written = []
    for name, text in expected(root).items():
        path = root / name
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(name)
    return written
