"""The README is the front door: every setting and every command is in it."""

from __future__ import annotations

from pathlib import Path

import commands.action_items
import commands.lifecycle  # (registers private, reopen, merge, decline, times)
import commands.postmortem  # noqa: F401  (registers /incident postmortem, summary)
from bot.settings import Settings
from commands.incident import registry as incident_registry
from commands.metrics import registry as metrics_registry

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented() -> None:
    missing = [n.upper() for n in Settings.model_fields if f"`{n.upper()}`" not in README]
    assert missing == []


def test_every_command_is_documented() -> None:
    for registry in (incident_registry, metrics_registry):
        for name in registry.subcommands:
            assert f"{registry.command} {name}" in README or f"`{name}" in README, name


def test_the_two_commands_are_the_ci_commands() -> None:
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert "make test" in ci and "make test" in README and "make run" in README
