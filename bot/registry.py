"""A command registry: one decorator names a subcommand, its usage and help, so
`/incident help` is generated from the same table that dispatches (monzo/response style)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.errors import UsageError
from bot.parsing import ParsedText, parse_text

Handler = Callable[..., Awaitable[Any]]


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


@dataclass
class CommandRegistry:
    command: str
    subcommands: dict[str, Subcommand] = field(default_factory=dict)
    _lookup: dict[str, Subcommand] = field(default_factory=dict)

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
            sub = Subcommand(
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
            for key in (name, *aliases):
                if key in self._lookup:
                    raise ValueError(f"{self.command} {key} registered twice")
                self._lookup[key] = sub
            self.subcommands[name] = sub
            return handler

        return register

    def resolve(self, word: str) -> Subcommand:
        sub = self._lookup.get(word.lower())
        if sub is None:
            raise UsageError(f"`{self.command} {word}` is not a command.", usage=self.help_text())
        return sub

    def parse(self, text: str) -> tuple[Subcommand, ParsedText]:
        """The subcommand named by the first word and the rest of the text, parsed.
        Raises UsageError, with the usage of the subcommand when it is known."""
        word, _, rest = text.strip().partition(" ")
        sub = self.resolve(word or "help")
        if sub.verbatim:
            return sub, ParsedText(words=[rest.strip()] if rest.strip() else [])
        try:
            return sub, parse_text(rest, sub.options)
        except UsageError as exc:
            exc.usage = exc.usage or self.usage_of(sub.name)
            raise

    def usage_of(self, name: str) -> str:
        return f"`{self.command} {self.subcommands[name].usage}`"

    def help_text(self, available: Callable[[str], bool] | None = None) -> str:
        """Every subcommand, less those whose optional capability is not configured."""
        lines = [f"*{self.command}* commands:"]
        for sub in self.subcommands.values():
            if sub.requires and available is not None and not available(sub.requires):
                continue
            alias = f" (also: {', '.join(sub.aliases)})" if sub.aliases else ""
            lines.append(f"• `{self.command} {sub.usage}` — {sub.summary}{alias}")
        return "\n".join(lines)
