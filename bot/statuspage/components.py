"""The components file (STATUS_PAGE_COMPONENTS): what the page shows, grouped, and which
incident services affect each component. `suggest_yaml` writes a first one from the
services metrics discovery found (`incident-bot status-page suggest`)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

NAME = re.compile(r"^[\w][\w .&()/+-]{0,79}$")


class ComponentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    group: str | None = None
    services: list[str] = Field(default_factory=list)
    internal: bool = False
    description: str | None = Field(None, max_length=300)
    statuspage_id: str | None = Field(None, pattern=r"^[a-z0-9]{1,40}$")

    @field_validator("name", "group")
    @classmethod
    def _plain_name(cls, value: str | None) -> str | None:
        if value is not None and not NAME.match(value):
            raise ValueError(f"{value!r} is not a plain name (letters, digits, spaces, .&()/+-)")
        return value

    @field_validator("services")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [s.strip().lower() for s in value if s.strip()]

    @property
    def id(self) -> str:
        return component_id(self.name)


class Components(BaseModel):
    model_config = ConfigDict(extra="forbid")

    components: list[ComponentSpec] = Field(min_length=1)

    @field_validator("components")
    @classmethod
    def _unique(cls, value: list[ComponentSpec]) -> list[ComponentSpec]:
        seen: set[str] = set()
        for c in value:
            if c.name.lower() in seen:
                raise ValueError(f"component {c.name!r} is listed twice")
            seen.add(c.name.lower())
        return value

    def find(self, name: str) -> ComponentSpec | None:
        """A component by name, case-insensitive; `web-app` also finds "Web App"."""
        wanted = _slug(name)
        return next((c for c in self.components if _slug(c.name) == wanted), None)

    def affected_by(self, services: list[str]) -> list[ComponentSpec]:
        """The components an incident's services affect."""
        wanted = {s.lower() for s in services}
        return [c for c in self.components if wanted & set(c.services)]

    @property
    def public(self) -> list[ComponentSpec]:
        return [c for c in self.components if not c.internal]

    def internal_names(self) -> set[str]:
        """Service names that are not themselves component names (never said in public)."""
        names = {_slug(c.name) for c in self.components}
        return {s for c in self.components for s in c.services if _slug(s) not in names}

    def is_internal(self, names: list[str]) -> bool:
        found = [self.find(n) for n in names]
        return bool(found) and all(c is not None and c.internal for c in found)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def component_id(name: str) -> str:
    """A stable 12-character id, as Statuspage's ids look."""
    return hashlib.sha256(name.lower().encode()).hexdigest()[:12]


class ComponentsError(ValueError):
    """The file is missing or wrong; the message says where, in one line."""


def load_components(path: str) -> Components:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ComponentsError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ComponentsError(f"{path} is not valid YAML: {exc}".splitlines()[0]) from None
    try:
        return Components.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "the file"
        raise ComponentsError(f"{path}: {where}: {err['msg']}") from None


def suggest_yaml(services: list[str]) -> str:
    """A first components file: one component per discovered service, named for people
    (`checkout-api` -> "Checkout API"), to rename, group and merge by hand."""
    lines = [
        "# Status page components (STATUS_PAGE_COMPONENTS). One component per service found;",
        "# rename them for your customers, group them, merge services into one component,",
        "# and mark `internal: true` what only people signed in may see.",
    ]
    data = {
        "components": [{"name": display_name(s), "services": [s]} for s in sorted(set(services))]
    }
    if not data["components"]:
        lines.append("# (no services were found: list yours by hand)")
        data = {"components": [{"name": "Website", "services": ["web"]}]}
    return "\n".join(lines) + "\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


ACRONYMS = {"api", "db", "ui", "cdn", "dns", "sso", "sql", "http", "grpc", "id"}


def display_name(service: str) -> str:
    words = [w for w in re.split(r"[-_./]+", service) if w]
    return " ".join(w.upper() if w.lower() in ACRONYMS else w.capitalize() for w in words)[:80]
