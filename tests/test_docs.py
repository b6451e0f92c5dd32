"""The docs cannot drift from the code: docs/settings.md and docs/commands.md are generated
from the Settings model and the command registries, and these tests fail while a page is
stale or a setting or command has nothing to say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import Field

from bot.docs import PAGES, REGENERATE, generate, stale
from bot.docs.commands_page import every_subcommand, registries
from bot.docs.settings_page import render as render_settings
from bot.docs.settings_page import sections
from bot.registry import CommandRegistry
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def page(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def test_generated_pages_are_current() -> None:
    old = stale(ROOT)
    assert old == [], f"{', '.join(old)} stale: run `{REGENERATE}` and commit the result"


def test_every_setting_has_a_description_in_a_group() -> None:
    grouped = [n for heading, _, names in sections() if heading != "Other settings" for n in names]
    loose = sorted(set(Settings.model_fields) - set(grouped))
    assert loose == [], f"declare {loose} in one of the groups of bot/settings.py"
    silent = [n.upper() for n, f in Settings.model_fields.items() if not (f.description or "")]
    assert silent == [], f"give {silent} a Field(description=…) in bot/settings.py"
    doc = page("docs/settings.md")
    assert [n for n in Settings.model_fields if f"| `{n.upper()}` |" not in doc] == []


def test_a_new_setting_makes_the_page_stale() -> None:
    class WithOneMore(Settings):
        brand_new_knob: int = Field(3, description="what the knob does")

    text = render_settings(WithOneMore)
    assert "| `BRAND_NEW_KNOB` | `3` | what the knob does |" in text
    assert "## Other settings" in text
    assert text != render_settings()


def test_every_command_is_documented() -> None:
    doc = page("docs/commands.md")
    roots = registries()
    assert {r.command for r in roots} >= {"/incident", "/metrics"}
    for root in roots:
        for registry, sub in every_subcommand(root):
            assert f"`{registry.command} {sub.usage.replace('|', chr(92) + '|')}`" in doc, (
                registry.command,
                sub.name,
            )
            if sub.children is None:
                assert f"### {registry.command} {sub.name}\n" in doc, sub.name


def test_a_new_command_makes_the_page_stale() -> None:
    from bot.docs.commands_page import render

    extra = CommandRegistry("/zzz")

    @extra.subcommand("poke", usage="poke <thing>", summary="poke a thing")
    async def poke(ctx: object) -> None:
        """Pokes it once; poking twice changes nothing."""

    text = render([*registries(), extra])
    assert "### /zzz poke" in text and "Pokes it once" in text
    assert text != generate("docs/commands.md").split("\n\n", 1)[1]


def test_every_page_names_its_source_and_the_regenerate_command() -> None:
    for name in PAGES:
        assert f"by `{REGENERATE}`" in page(name).splitlines()[0]


def test_the_two_commands_are_the_ci_commands() -> None:
    readme = page("README.md")
    ci = page(".ci/run")
    assert "make test" in ci and "make test" in readme and "make run" in readme


def test_every_bench_run_is_listed_with_its_date_and_commit() -> None:
    from bot.docs.benchmarks_page import commit_of, read_lines, render

    rows = read_lines(ROOT / "bench" / "results.jsonl")
    assert rows and all(r.get("at") and (r.get("code") or r.get("recorded_in")) for r in rows)
    doc = page("docs/benchmarks.md")
    for row in rows:
        assert f"| {row['at']} | {commit_of(row)} | {row['bench']} |" in doc, row["at"]
    new = {"bench": "declare", "at": "2031-01-02T03:04:05+00:00", "code": "abcdef1",
           "checks": [{"what": "a new check", "value": 2, "goal": 3}]}
    text = render([*rows, new])
    assert "| declare | a new check | 2 | <= 3 | pass |" in text
    assert "| 2031-01-02T03:04:05+00:00 | `abcdef1` | declare | 2 (pass) |" in text


def test_bench_lines_carry_date_and_commit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import bench

    monkeypatch.setattr(bench, "RESULTS", tmp_path / "results.jsonl")
    bench.append_result({"bench": "x", "value": 1})
    row = json.loads((tmp_path / "results.jsonl").read_text())
    assert row["at"][:2] == "20" and row["code"] and row["code"] != "unknown"


def test_the_readme_is_a_front_door() -> None:
    readme = page("README.md")
    lines = readme.count("\n")
    assert lines <= 200, f"README.md has {lines} lines; move details to docs/ (at most 200)"
    for doc in sorted((ROOT / "docs").glob("*.md")):
        assert f"(docs/{doc.name})" in readme, f"README.md does not link docs/{doc.name}"


def test_every_relative_link_points_to_a_file() -> None:
    import re

    broken = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text(encoding="utf-8")):
            file = target.split("#", 1)[0]
            if file and "://" not in file and not (path.parent / file).exists():
                broken.append(f"{path.relative_to(ROOT)} → {target}")
    assert broken == []
