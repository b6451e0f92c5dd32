"""The direction of the imports (the layer table is tests/layers.py): commands/ reach
services and flows, never the store; the domain never reaches Slack, aiohttp or an adapter;
adapters never reach an entry point; the entry points (Slack listeners, webhooks, the web
app) sit beside one another. `python -m tests.layers` prints the figures."""

from __future__ import annotations

from tests.layers import (
    ENTRY_POINTS,
    ORDER,
    THIRD_PARTY_ADAPTERS,
    Import,
    cycles,
    imports,
    layer_of,
    modules,
    upward,
)

# Arrows that still run back up the layers: each names its importer and what it imports.
# Shrink only: a new arrow fails below, and so does a listed one that is gone.
KNOWN_UPWARD = {
    # the package's front re-exports the Prometheus client (its port is bot/metrics/backend.py)
    ("bot.metrics", "bot.metrics.prometheus"),
    # the command grammar reads severities; the pattern index keys come from the matcher
    ("bot.parsing", "bot.incidents.models"),
    ("bot.store.patterns", "bot.patterns.matcher"),
}

FOUND = imports()


def named(found: list[Import]) -> list[str]:
    return sorted(f"{i.importer} imports {i.imported} (line {i.line})" for i in found)


def under(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_every_module_has_a_layer() -> None:
    for module in modules():
        assert layer_of(module) in ORDER


def test_commands_reach_services_and_flows_never_the_store() -> None:
    bad = [i for i in FOUND if under(i.importer, "commands") and under(i.imported, "bot.store")]
    assert named(bad) == []


def test_the_domain_never_imports_slack_aiohttp_or_an_adapter() -> None:
    domain = [i for i in FOUND if layer_of(i.importer) in ("models", "domain")]
    third_party = [i for i in domain if i.imported.split(".")[0] in THIRD_PARTY_ADAPTERS]
    assert named(third_party) == []
    adapters = [
        i
        for i in domain
        if i.imported.split(".")[0] in ("bot", "commands")
        and layer_of(i.imported) == "adapters"
        and (i.importer, i.imported) not in KNOWN_UPWARD
    ]
    assert named(adapters) == []


def test_adapters_never_import_an_entry_point_or_the_composition() -> None:
    bad = [
        i
        for i in FOUND
        if layer_of(i.importer) == "adapters"
        and i.imported.split(".")[0] in ("bot", "commands")
        and layer_of(i.imported) in ("entry", "composition")
    ]
    assert named(bad) == []


def test_entry_points_sit_beside_one_another() -> None:
    def entry(module: str) -> str | None:
        return next((p for p in ENTRY_POINTS if under(module, p)), None)

    bad = [
        i
        for i in FOUND
        if entry(i.importer) is not None
        and entry(i.imported) is not None
        and entry(i.importer) != entry(i.imported)
    ]
    assert named(bad) == []


def test_no_import_cycles() -> None:
    assert cycles(FOUND) == []


# Modules that know each other only through an import inside a function or under
# `if TYPE_CHECKING:` do not fail to load, but they are still one piece in two files.
KNOWN_HIDDEN_CYCLES = [
    # the docs generator reads the command line's own help; the command line runs it
    ["bot.cli", "bot.docs", "bot.docs.__main__", "bot.docs.cli_page"],
]


def test_no_hidden_import_cycles() -> None:
    """No cycle either when imports inside functions and under TYPE_CHECKING count: a
    module that needs another's type takes a Protocol of what it reads (as
    bot/metrics/reader.py), or the shared piece moves down a layer."""
    every = [Import(i.importer, i.imported, i.line, True) for i in FOUND]
    assert sorted(sorted(c) for c in cycles(every)) == sorted(
        sorted(c) for c in KNOWN_HIDDEN_CYCLES
    )


def test_no_new_arrow_runs_back_up_the_layers() -> None:
    arrows = {(i.importer, i.imported) for i in upward(FOUND)}
    assert sorted(arrows - KNOWN_UPWARD) == [], "a new arrow runs back up the layers"
    assert sorted(KNOWN_UPWARD - arrows) == [], "gone: remove it from KNOWN_UPWARD"


def test_the_table_reads_every_kind_of_import() -> None:
    """Module-level, relative-free `from a.b import c`, and imports inside functions (which
    the rules check too, though only module-level ones make cycles or count as arrows)."""
    assert any(
        i.importer == "bot.wiring" and i.imported == "bot.features" and i.top_level
        for i in FOUND
    )
    assert any(
        i.importer == "bot.runners" and i.imported == "bot.worker" and not i.top_level
        for i in FOUND
    )
    assert layer_of("bot.patterns.install") == "composition"  # a pattern beats the prefix
    assert layer_of("bot.patterns.service") == "domain"
    assert layer_of("bot.integrations.trackers.jira") == "adapters"  # the longest prefix
