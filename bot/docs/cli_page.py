"""The command line's reference (a generated block of docs/operations.md) from the
`incident-bot` Typer app: each command with its arguments and options, and its help."""

from __future__ import annotations

from typing import Any

import typer.main

from bot.cli import cli


def _form(param: Any) -> str:
    if getattr(param, "param_type_name", "") == "argument":
        return f"<{str(param.name).replace('_', '-')}>"
    flag = str(param.opts[0])
    if getattr(param, "is_flag", False):
        return f"[{flag}]"
    return f"[{flag} {str(param.name).upper()}]"


def commands(group: Any = None, prefix: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(usage, the first paragraph of its help) for every command, subcommands included."""
    group = group if group is not None else typer.main.get_command(cli)
    out: list[tuple[str, str]] = []
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):
            out += commands(command, (*prefix, name))
            continue
        usage = " ".join(["incident-bot", *prefix, name, *map(_form, command.params)])
        first = (command.help or "").strip().split("\n\n")[0]
        out.append((usage, " ".join(first.split())))
    return out


def render() -> str:
    rows = [f"| `{usage}` | {text.replace('|', chr(92) + '|')} |" for usage, text in commands()]
    return "\n".join(["| command | what it does |", "|---|---|", *rows])
