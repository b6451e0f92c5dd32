"""A scenario file (sandbox/demo/scenarios/<name>.yml, see the README there): the world it
plays in, and its steps — each one user action and what it must show.

Loading checks the whole file before anything starts, so a typo names its file and step."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

SCENARIOS_DIR = Path(__file__).resolve().parent / "scenarios"
DURATION = re.compile(r"^(\d+)(s|m|h|d)$")
EXPECTED = re.compile(r"\$\{([a-z_][a-z0-9_]*)\}")  # ${name}: a value of the file's `expect:`


class ScenarioError(Exception):
    """A scenario file that cannot be played; the message names the file and the step."""


class Show(BaseModel):
    """What a step must show, and where: every `text` (each a substring) and the `matches`
    regular expression must be found in what appeared there during the step."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    where: str = Field(alias="in")
    text: list[str] = Field(default_factory=list)
    matches: str | None = None
    label: str | None = Field(default=None, alias="print")  # print what was found, so labelled

    @field_validator("text", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("matches")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            re.compile(value)
        return value


class Step(BaseModel):
    """One user action (`action` names it, `argument` is its value) and what it must show."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    do: str
    actor: str | None = Field(default=None, alias="as")
    where: str | None = Field(default=None, alias="in")
    after: str | None = None
    to: str | None = None
    remember: str | None = None
    saves: str | None = None
    shows: list[Show] = Field(default_factory=list)

    @field_validator("after")
    @classmethod
    def _after(cls, value: str | None) -> str | None:
        if value is not None and value != "overdue" and not DURATION.match(value):
            raise ValueError(f"after: {value!r} is not a duration (30s, 9m, 1h) or `overdue`")
        return value

    @property
    def action(self) -> str:
        return next(iter(self.model_extra or {}))

    @property
    def argument(self) -> Any:
        return (self.model_extra or {})[self.action]


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    about: str
    prometheus: str | None = None  # a world of sandbox/scenarios.py, or none
    services: list[str] = Field(default_factory=list)
    standins: list[str] = Field(default_factory=list, alias="stand-ins")
    settings: dict[str, Any] = Field(default_factory=dict)
    expect: dict[str, str] = Field(default_factory=dict)  # ${name} in the steps' checks
    steps: list[Step]


def seconds(duration: str) -> int:
    match = DURATION.match(duration)
    if match is None:
        raise ValueError(duration)
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def names() -> list[str]:
    return sorted(p.stem for p in SCENARIOS_DIR.glob("*.yml"))


def path_of(name: str) -> Path:
    """A scenario by name (`seed` → sandbox/demo/scenarios/seed.yml) or by path."""
    given = Path(name)
    if given.suffix in (".yml", ".yaml") and given.exists():
        return given
    path = SCENARIOS_DIR / f"{name}.yml"
    if not path.exists():
        raise ScenarioError(f"unknown scenario {name!r}; choose one of {', '.join(names())} "
                            "or give the path of a .yml file")
    return path


def load(name: str, actions: set[str]) -> Scenario:
    """The scenario, checked: every step has exactly one action of `actions`.

    A file with `like: <scenario>` plays that scenario's steps in its own world: it gives
    no steps, only its header and the `expect:` values the shared steps' checks name as
    `${name}` (what its own metrics read, for instance)."""
    path = path_of(name)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(raw, dict) and "like" in raw:
            raw = _played_like(path, raw)
        if isinstance(raw, dict) and isinstance(raw.get("steps"), list):
            raw["steps"] = _filled(raw["steps"], raw.get("expect") or {}, path)
        scenario = Scenario.model_validate(raw)
    except (yaml.YAMLError, ValidationError) as exc:
        raise ScenarioError(f"{path.name}: {exc}") from None
    for number, step in enumerate(scenario.steps, 1):
        chosen = sorted(step.model_extra or {})
        if len(chosen) != 1 or chosen[0] not in actions:
            raise ScenarioError(
                f"{path.name}, step {number} ({step.do!r}): give exactly one action of "
                f"{', '.join(sorted(actions))} (found {', '.join(chosen) or 'none'})"
            )
    return scenario


def _played_like(path: Path, raw: dict[str, Any]) -> dict[str, Any]:
    """`raw` with the steps of the scenario it names in `like:`."""
    base_path = path_of(str(raw.pop("like")))
    base = yaml.safe_load(base_path.read_text(encoding="utf-8"))
    if "steps" in raw:
        raise ScenarioError(f"{path.name}: give `like:` or `steps:`, not both")
    if not isinstance(base, dict) or "like" in base or "steps" not in base:
        raise ScenarioError(f"{path.name}: like: {base_path.stem} must be a scenario with "
                            "steps of its own")
    wanted, given = set(base.get("expect") or {}), set(raw.get("expect") or {})
    if wanted != given:
        raise ScenarioError(
            f"{path.name}: like: {base_path.stem} needs expect: values for "
            f"{', '.join(sorted(wanted)) or 'nothing'} (missing: "
            f"{', '.join(sorted(wanted - given)) or 'none'}; unknown: "
            f"{', '.join(sorted(given - wanted)) or 'none'})")
    return {**raw, "steps": base["steps"]}


def _filled(value: Any, expect: dict[str, str], path: Path) -> Any:
    """Every ${name} in the steps replaced by its `expect:` value."""
    if isinstance(value, str):

        def one(match: re.Match[str]) -> str:
            if match.group(1) not in expect:
                raise ScenarioError(f"{path.name}: ${{{match.group(1)}}} has no value under "
                                    "expect:")
            return str(expect[match.group(1)])

        return EXPECTED.sub(one, value)
    if isinstance(value, list):
        return [_filled(v, expect, path) for v in value]
    if isinstance(value, dict):
        return {k: _filled(v, expect, path) for k, v in value.items()}
    return value
