"""The structure of bot/ and commands/, read from the source: which module imports which,
the layer each module sits in, the arrows that run back up the layers, import cycles, and
the largest modules. tests/test_layers.py holds the code to it; run this file to print the
figures the README records:

    .venv/bin/python -m tests.layers

Layers, bottom to top (a module may import its own layer and those below):

* base: clock, errors, Markdown escaping, parsing, the working week, counters;
* models: the records (`*/models.py`) every layer passes around;
* store: Redis (bot/store), the one place that speaks Redis;
* config: the settings;
* domain: the incident and every feature's logic, with the ports it needs (bot/ports.py);
  never Slack, aiohttp or an adapter;
* adapters: Slack, the pager and tracker clients, HTTP side servers, observability;
* application: the bundle of services the entry points get (bot/services.py);
* entry: what calls in (Slack listeners in commands/, webhooks, the web app), beside one
  another, never importing one another;
* composition: the feature installs (`*/install.py`), the composition root, the
  processes and the CLI.

To place a new package, add its prefix to LAYERS (the longest matching prefix wins).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "commands")
MAX_LINES = 400

LAYERS: dict[str, list[str]] = {
    "base": [
        "bot", "bot.clock", "bot.errors", "bot.mrkdwn", "bot.parsing", "bot.workweek",
        "bot.tallies",
    ],
    "models": ["*.models"],  # the records every layer passes around
    "store": ["bot.store"],
    "config": ["bot.settings", "bot.setting_values", "bot.integrations.settings",
               "bot.conferencing.settings", "bot.publishing.settings",
               "bot.statuspage.settings", "bot.actions.settings", "bot.updates.settings",
               "bot.web.settings"],
    "domain": [
        "bot.ports", "bot.incidents", "bot.timeline", "bot.actions", "bot.updates",
        "bot.patterns", "bot.postmortem", "bot.metrics", "bot.alerts", "bot.runbooks",
        "bot.registry", "bot.integrations", "bot.integrations.pagers.base",
        "bot.integrations.trackers.base", "bot.conferencing", "bot.causes",
        "bot.publishing", "bot.statuspage", "bot.insights",
    ],
    "adapters": [
        "bot.slack", "bot.integrations.pagers", "bot.integrations.trackers",
        "bot.integrations.http", "bot.metrics.prometheus", "bot.observability",
        "bot.side_server", "bot.health", "bot.integrations.google",
        "bot.conferencing.zoom", "bot.conferencing.meet", "bot.publishing.confluence",
        "bot.publishing.notion", "bot.publishing.gdocs", "bot.statuspage.delivery",
        "bot.statuspage.atlassian",
    ],
    "application": ["bot.services"],  # the bundle of services the entry points get
    "entry": ["commands", "bot.webhooks", "bot.web", "bot.statuspage.site"],
    "composition": [
        "bot.features", "bot.wiring", "bot.app", "bot.worker", "bot.runners", "bot.cli",
        "bot.export", "bot.docs", "bot.__main__", "bot.integrations.factory",
        "*.install",
    ],
}
ORDER = list(LAYERS)
# beside one another
ENTRY_POINTS = ("commands", "bot.webhooks", "bot.web", "bot.statuspage.site")
THIRD_PARTY_ADAPTERS = ("slack_bolt", "slack_sdk", "aiohttp")


def modules() -> dict[str, Path]:
    """Every module of bot/ and commands/ by dotted name."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def layer_of(module: str) -> str:
    best, layer = -1, ""
    for name, prefixes in LAYERS.items():
        for prefix in prefixes:
            if prefix.startswith("*."):
                if module.endswith(prefix[1:]):
                    best, layer = 10_000, name  # a pattern (`*.install`) beats any prefix
            elif (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, layer = len(prefix), name
    if not layer:
        raise KeyError(f"{module} is in no layer: add it to LAYERS in tests/layers.py")
    return layer


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str  # a module of ours, or a third-party top-level name
    line: int
    top_level: bool  # at module level, outside `if TYPE_CHECKING:` (the ones that load)


def _resolve(name: str, known: dict[str, Path]) -> str:
    """`bot.metrics.MetricsService` -> `bot.metrics` (the longest known module)."""
    parts = name.split(".")
    while parts and ".".join(parts) not in known:
        parts.pop()
    return ".".join(parts) if parts else name.split(".")[0]


def _walk(tree: ast.AST, top: bool = True) -> Iterator[tuple[ast.AST, bool]]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, top
        is_type_only = (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Name)
            and node.test.id == "TYPE_CHECKING"
        )
        nested = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        yield from _walk(node, top and not is_type_only and not nested)


def imports() -> list[Import]:
    known = modules()
    found: list[Import] = []
    for module, path in known.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node, top in _walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                assert isinstance(node, ast.ImportFrom)
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                names = [f"{base}.{alias.name}" for alias in node.names]
            for name in names:
                target = _resolve(name, known)
                if target != module:
                    found.append(Import(module, target, node.lineno, top))
    return found


def ours(name: str) -> bool:
    return name.split(".")[0] in PACKAGES


def upward(found: list[Import]) -> list[Import]:
    """Imports (module level) from a lower layer into a higher one, one per module pair."""
    seen: dict[tuple[str, str], Import] = {}
    for i in found:
        if not (i.top_level and ours(i.imported)):
            continue
        if ORDER.index(layer_of(i.importer)) < ORDER.index(layer_of(i.imported)):
            seen.setdefault((i.importer, i.imported), i)
    return list(seen.values())


def cycles(found: list[Import]) -> list[list[str]]:
    """Groups of modules that import one another at load time (Tarjan's SCCs > 1)."""
    graph: dict[str, set[str]] = {m: set() for m in modules()}
    for i in found:
        if i.top_level and i.imported in graph:
            graph[i.importer].add(i.imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def line_counts() -> list[tuple[int, str]]:
    """(lines, path) of every module, largest first."""
    counts = [
        (len(path.read_text().splitlines()), str(path.relative_to(ROOT)))
        for path in modules().values()
    ]
    return sorted(counts, reverse=True)


def main() -> None:
    found = imports()
    counts = line_counts()
    print("largest modules:")
    for lines, path in counts[:10]:
        print(f"  {lines:5d}  {path}")
    print(f"modules over {MAX_LINES} lines: {sum(1 for n, _ in counts if n > MAX_LINES)}")
    print(f"import cycles: {len(cycles(found))}")
    up = upward(found)
    print(f"arrows back up the layers: {len(up)}")
    for i in sorted(up, key=lambda i: (i.importer, i.imported)):
        print(f"  {i.importer} ({layer_of(i.importer)}) -> {i.imported} ({layer_of(i.imported)})")


if __name__ == "__main__":
    main()
