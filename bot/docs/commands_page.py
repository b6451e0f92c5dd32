"""docs/commands.md from the command registries (bot/registry.py): every slash command and
subcommand with its usage, summary, aliases and where it works, and the handler's docstring
for the details. The registries are filled when commands/ is imported."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from bot.registry import CommandRegistry, Subcommand

INTRO = """\
Text is words plus `key:value` options in any order. Severity: `1`–`4`, `sev1`–`sev4`.
Dates: `YYYY-MM-DD`, `today`, `tomorrow`, `12h`, `3d`, `2w`. Commands about "the incident"
work in its channel, or anywhere with `id:INC-…`. Every mistake gets an answer only you see,
naming the problem and showing the usage; nothing changes. `/incident help` and
`/metrics help` list the same commands, less the integrations that are not configured."""


def command_modules(package: str = "commands") -> list[ModuleType]:
    """Every module of the commands package, imported (importing registers the commands)."""
    root = importlib.import_module(package)
    return [
        importlib.import_module(f"{package}.{info.name}")
        for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda i: i.name)
    ]


def registries(modules: list[ModuleType] | None = None) -> list[CommandRegistry]:
    """The top-level registries (one per slash command), by command name."""
    found: dict[str, CommandRegistry] = {}
    for module in modules if modules is not None else command_modules():
        for value in vars(module).values():
            if isinstance(value, CommandRegistry) and " " not in value.command:
                found[value.command] = value
    return [found[name] for name in sorted(found)]


def module_of(sub: Subcommand) -> str:
    if sub.children is not None:
        return home_module(sub.children)
    return str(sub.handler.__module__)


def home_module(registry: CommandRegistry) -> str:
    """The module holding most of a registry's subcommands (commands/incident.py for
    /incident)."""
    modules = [module_of(sub) for sub in registry.subcommands.values()]
    return max(sorted(set(modules)), key=modules.count)


def in_order(registry: CommandRegistry) -> list[Subcommand]:
    """The subcommands in an order that does not depend on which module was imported first:
    the home module's in source order, then the other modules' (by name), in source order."""
    home = home_module(registry)

    def key(sub: Subcommand) -> tuple[bool, str, int]:
        module = module_of(sub)
        code = getattr(sub.handler, "__code__", None)
        line = code.co_firstlineno if code is not None and sub.children is None else 0
        return (module != home, module, line)

    return sorted(registry.subcommands.values(), key=key)


def every_subcommand(registry: CommandRegistry) -> list[tuple[CommandRegistry, Subcommand]]:
    """(owning registry, subcommand) for each subcommand, mounted registries included."""
    out: list[tuple[CommandRegistry, Subcommand]] = []
    for sub in in_order(registry):
        out.append((registry, sub))
        if sub.children is not None:
            out += every_subcommand(sub.children)
    return out


def cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def where(registry: CommandRegistry, sub: Subcommand) -> str:
    notes = []
    if sub.aliases:
        notes.append("Also " + ", ".join(f"`{registry.command} {a}`" for a in sub.aliases) + ".")
    if sub.needs_incident:
        notes.append("In the incident's channel, or anywhere with `id:INC-…`.")
    if sub.requires:
        notes.append(f"Listed and usable only when {sub.requires} is configured.")
    return " ".join(notes)


def section(registry: CommandRegistry) -> list[str]:
    lines = [f"## {registry.command}", "", "| command | what it does |", "|---|---|"]
    ordered = in_order(registry)
    for sub in ordered:
        lines.append(f"| `{registry.command} {cell(sub.usage)}` | {cell(sub.summary)} |")
    for sub in ordered:
        if sub.children is not None:
            continue
        lines += ["", f"### {registry.command} {sub.name}", "", "```", f"{registry.command} "
                  f"{sub.usage}", "```", ""]
        lines.append(" ".join(p for p in (sub.summary[:1].upper() + sub.summary[1:] + ".",
                                           where(registry, sub)) if p))
        if sub.details:
            lines += ["", sub.details]
    for sub in ordered:
        if sub.children is not None:
            lines += ["", *section(sub.children)]
    return lines


def render(roots: list[CommandRegistry] | None = None) -> str:
    lines = ["# Commands", "", INTRO]
    for registry in roots if roots is not None else registries():
        lines += ["", *section(registry)]
    return "\n".join(lines) + "\n"
