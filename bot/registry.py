"""A command registry: one decorator names a subcommand, its usage and help, so
`/incident help` is generated from the same table that dispatches (monzo/response style).

A subcommand may be a registry of its own (`/incident action add|list|…`: `mount`), so its
help and usage come from the same place. `dispatch` runs a subcommand and counts its
outcome — ok, usage_error, denied, refused or failed — through the observer it is given
(the bot's /metrics)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.errors import (
    IncidentBotError,
    NotFound,
    NotInIncidentChannel,
    PermissionDenied,
    UsageError,
)
from bot.mrkdwn import escape
from bot.parsing import ParsedText, parse_text

Handler = Callable[..., Awaitable[Any]]
# whether an optional capability (e.g. "paging") is configured; None: show everything
Available = Callable[[str], bool] | None
CommandOutcome = Literal["ok", "usage_error", "denied", "refused", "failed"]
# (kind, name, outcome): kind is command, action, view or event
OutcomeObserver = Callable[[str, str, CommandOutcome], None]
# errors about what the user typed: shown with the usage
USAGE_ERRORS = (UsageError, NotFound, NotInIncidentChannel)


def ignore_outcome(kind: str, name: str, outcome: CommandOutcome) -> None:
    return None


def outcome_of(error: BaseException | None) -> CommandOutcome:
    """ok; usage_error (what was typed); denied (permission); refused (any other reason the
    user was told, e.g. resolving twice or Slack refusing); failed (a bug or an outage)."""
    if error is None:
        return "ok"
    if isinstance(error, USAGE_ERRORS):
        return "usage_error"
    if isinstance(error, PermissionDenied):
        return "denied"
    if isinstance(error, IncidentBotError):
        return "refused"
    return "failed"


@dataclass(frozen=True)
class Subcommand:
    name: str
    usage: str
    summary: str
    handler: Handler
    aliases: tuple[str, ...] = ()
    options: frozenset[str] = frozenset()
    needs_incident: bool = False
    verbatim: bool = False  # the rest of the text is one argument (e.g. PromQL keeps its colons)
    requires: str | None = None  # an optional capability (e.g. "paging"); help hides it when off
    children: CommandRegistry | None = None  # a registry of its own (`action add|list|…`)

    @property
    def details(self) -> str:
        """The handler's docstring: what docs/commands.md says beyond the summary."""
        return "" if self.children is not None else inspect.getdoc(self.handler) or ""


@dataclass
class CommandRegistry:
    command: str
    default: str = "help"  # what an empty text means
    every_form_in_errors: bool = False  # a mistake shows every form (`/incident action`)
    unknown: str = "`{command} {word}` is not a command."
    # why none of this registry's subcommands can run now (e.g. not set up), given the services
    unavailable: Callable[[Any], str | None] = lambda services: None
    subcommands: dict[str, Subcommand] = field(default_factory=dict)
    _lookup: dict[str, Subcommand] = field(default_factory=dict)

    def _add(self, sub: Subcommand) -> None:
        for key in (sub.name, *sub.aliases):
            if key in self._lookup:
                raise ValueError(f"{self.command} {key} registered twice")
            self._lookup[key] = sub
        self.subcommands[sub.name] = sub

    def subcommand(
        self,
        name: str,
        *,
        usage: str,
        summary: str,
        aliases: tuple[str, ...] = (),
        options: tuple[str, ...] = (),
        needs_incident: bool = False,
        verbatim: bool = False,
        requires: str | None = None,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self._add(
                Subcommand(
                    name=name,
                    usage=usage,
                    summary=summary,
                    handler=handler,
                    aliases=aliases,
                    options=frozenset(options) | ({"id"} if needs_incident else frozenset()),
                    needs_incident=needs_incident,
                    verbatim=verbatim,
                    requires=requires,
                )
            )
            return handler

        return register

    def mount(
        self,
        name: str,
        children: CommandRegistry,
        *,
        summary: str,
        aliases: tuple[str, ...] = (),
    ) -> None:
        """`name` dispatches to `children` (whose command must be `<command> <name>`); its
        usage line lists the children."""
        if children.command != f"{self.command} {name}":
            raise ValueError(f"mount {children.command} as {self.command} {name}")

        always = [n for n, sub in children.subcommands.items() if not sub.requires]

        async def refuse(ctx: Any) -> None:  # never called: parse returns the child
            raise UsageError(f"`{children.command}` needs a subcommand.", usage=children.usage())

        self._add(
            Subcommand(
                name=name,
                usage=f"{name} {'|'.join(always)} …",
                summary=summary,
                handler=refuse,
                aliases=aliases,
                children=children,
            )
        )

    def resolve(self, word: str, available: Available = None) -> Subcommand:
        sub = self._lookup.get(word.lower())
        if sub is None:
            usage = self.usage(available) if self.every_form_in_errors else self.help_text()
            text = self.unknown.format(command=self.command, word=escape(word))
            raise UsageError(text, usage=usage)
        return sub

    def parse(
        self, text: str, available: Available = None
    ) -> tuple[CommandRegistry, Subcommand, ParsedText]:
        """The registry that owns the subcommand named by the first word(s), the subcommand
        and the rest of the text, parsed. Raises UsageError, with the usage when known."""
        word, _, rest = text.strip().partition(" ")
        sub = self.resolve(word or self.default, available)
        if sub.children is not None:
            return sub.children.parse(rest, available)
        if sub.verbatim:
            return self, sub, ParsedText(words=[rest.strip()] if rest.strip() else [])
        try:
            return self, sub, parse_text(rest, sub.options)
        except UsageError as exc:
            exc.usage = exc.usage or self.usage_of(sub.name, available)
            raise

    def name_of(self, text: str) -> str:
        """The subcommand's full name for counting (bounded: unknown words are "unknown")."""
        word, _, rest = text.strip().partition(" ")
        sub = self._lookup.get((word or self.default).lower())
        if sub is None:
            return f"{self.command} unknown"
        if sub.children is not None:
            return sub.children.name_of(rest)
        return f"{self.command} {sub.name}"

    async def dispatch(
        self, sub: Subcommand, ctx: Any, *, observe: OutcomeObserver = ignore_outcome
    ) -> None:
        """Run the subcommand; count its outcome; give errors about the text the usage."""
        try:
            await sub.handler(ctx)
        except Exception as exc:
            if isinstance(exc, USAGE_ERRORS):
                available = getattr(ctx.services, "has", None)
                exc.usage = exc.usage or self.usage_of(sub.name, available)
            observe("command", f"{self.command} {sub.name}", outcome_of(exc))
            raise
        observe("command", f"{self.command} {sub.name}", "ok")

    def usage_of(self, name: str, available: Available = None) -> str:
        if self.every_form_in_errors:
            return self.usage(available)
        return f"`{self.command} {self.subcommands[name].usage}`"

    def usage(self, available: Available = None) -> str:
        """Every form, one a line (a sub-registry's usage), less those whose optional
        capability is not configured."""
        forms = "\n".join(
            f"`{self.command} {sub.usage}`"
            for sub in self.subcommands.values()
            if not (sub.requires and available is not None and not available(sub.requires))
        )
        return "*Usage:*\n" + forms

    def help_text(self, available: Callable[[str], bool] | None = None) -> str:
        """Every subcommand, less those whose optional capability is not configured."""
        lines = [f"*{self.command}* commands:"]
        for sub in self.subcommands.values():
            if sub.requires and available is not None and not available(sub.requires):
                continue
            alias = f" (also: {', '.join(sub.aliases)})" if sub.aliases else ""
            lines.append(f"• `{self.command} {sub.usage}` — {sub.summary}{alias}")
        return "\n".join(lines)
