"""Plays a scenario's steps in a World: before each step the clock moves (`after:`), the
step's action runs (sandbox/demo/actions.py), the bot's background work settles, and every
`shows:` check must find its text in what appeared during the step — or the step fails,
naming what it looked for, where, and what was there instead."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox.demo.scenario import Scenario, Show, Step, seconds
from sandbox.demo.transcript import Transcript, flatten_blocks, message_text

if TYPE_CHECKING:
    from sandbox.demo.world import World

PLACEHOLDER = re.compile(r"\{(incident|channel|services|service)\}")
MENTION = re.compile(r"(?<![<\w])@([a-z][a-z0-9._-]*)")
LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|[^>]*)?>")


class StepFailed(Exception):
    """A step did not do or show what the scenario says; the message says what was missing."""


@dataclass
class Reply:
    """What the actor was shown during a step: texts and the blocks carrying buttons."""

    texts: list[str] = field(default_factory=list)
    blocks: list[dict[str, Any]] = field(default_factory=list)


# What a step's action is: the scenario's `action:` names one of sandbox/demo/actions.py
Action = Callable[["Player", Step], Awaitable[None]]


@dataclass
class Player:
    world: World
    scenario: Scenario
    out: Path
    actions: Mapping[str, Action]  # by name (sandbox/demo/actions.py ACTIONS)
    names: Transcript = field(init=False)
    incident: str | None = None
    channel_id: str | None = None
    remembered: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (channel, ts)
    replies: dict[str, Reply] = field(default_factory=dict)  # user id -> this step's reply
    last_replies: dict[str, Reply] = field(default_factory=dict)  # user id -> latest reply
    saved: list[Path] = field(default_factory=list)
    _before: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    _ephemerals_before: int = 0

    def __post_init__(self) -> None:
        self.names = Transcript(clock=self.world.clock, first_day=self.world.clock().date())

    # ------------------------------------------------------------------ the steps

    async def play(self) -> list[str]:
        """Every step in order; stops at the first that fails. The failures (0 or 1)."""
        for step in self.scenario.steps:
            try:
                await self.move_clock(step)
                self.snapshot()
                await self.actions[step.action](self, step)
                await self.world.settle()
                await self.find_incident()
                self.save(step)
                for show in step.shows:
                    self.check(step, show)
            except Exception as exc:
                reason = str(exc) or type(exc).__name__
                print(f"  ✗ {step.do}: {reason}")
                return [f"{step.do}: {reason}"]
            print(f"  ✓ {step.do}")
        return []

    async def move_clock(self, step: Step) -> None:
        if step.after == "overdue":
            await self.move_past_due_date()
        elif step.after is not None:
            self.world.clock.advance(timedelta(seconds=seconds(step.after)))

    async def move_past_due_date(self) -> None:
        """An hour past the due date of the incident's newest action item, in its owner's
        working hours (their Slack time zone), so the overdue reminder may go out."""
        from bot.actions.models import ActionSettings
        from bot.actions.schedule import next_working_start

        items = self.world.bot.services.store.actions
        dated = [i for i in await items.many(await items.ids_of_incident(self.need_incident()))
                 if i.due is not None]
        if not dated:
            raise StepFailed("the incident has no action item with a due date")
        item = max(dated, key=lambda i: i.id)
        assert item.due is not None
        owner = next(u for u in self.world.emulator.users() if u.id == item.owner)
        at = item.due + timedelta(hours=1)
        later = next_working_start(at, owner.tz, ActionSettings.from_settings(self.world.settings))
        at = later + timedelta(hours=1) if later is not None else at
        self.world.clock.set(at)
        print(f"    clock moved past the due date to {at.astimezone(UTC):%a %Y-%m-%d %H:%M} "
              f"UTC ({owner.name}'s working hours, {owner.tz})")

    async def find_incident(self) -> None:
        """The first incident channel that appears becomes `{incident}` and `{channel}`."""
        if self.incident is not None:
            return
        for channel in self.world.emulator.channels():
            if channel.name.startswith("inc-") and not channel.is_im:
                found = await self.world.bot.services.incidents.target(channel.id, None)
                self.incident, self.channel_id = found.id, channel.id
                print(f"    {found.id} in #{channel.name}")
                return

    def need_incident(self) -> str:
        if self.incident is None:
            raise StepFailed("no incident has been declared yet")
        return self.incident

    # ------------------------------------------------------------------ words and places

    def fill(self, text: str, *, mentions: bool = True) -> str:
        """Placeholders ({incident}, {channel}, {services}, {service}) and, in what people
        type, @name as a Slack mention."""
        services = self.scenario.services

        def value(match: re.Match[str]) -> str:
            key = match.group(1)
            if key in ("incident", "channel"):
                self.need_incident()
            channel = self.world.emulator.channel(self.channel_id) if self.channel_id else None
            return {
                "incident": self.incident or "",
                "channel": channel.name if channel else "",
                "services": ",".join(services),
                "service": services[0] if services else "",
            }[key]

        def mention(match: re.Match[str]) -> str:
            try:
                return f"<@{self.world.user_id(match.group(1))}>"
            except KeyError:
                return match.group(0)

        filled = PLACEHOLDER.sub(value, text)
        return MENTION.sub(mention, filled) if mentions else filled

    def actor(self, step: Step) -> str:
        if step.actor is None:
            raise StepFailed("say who does it (`as:`)")
        return self.world.user_id(step.actor)

    def channel(self, where: str | None) -> str:
        """A place to act in: `#name`, `incident` (the default once declared), `DM with x`."""
        where = where or ("incident" if self.channel_id else "#incidents")
        if where == "incident":
            self.need_incident()
            assert self.channel_id is not None
            return self.channel_id
        if where.startswith("#"):
            found = self.world.emulator.channel_by_name(where[1:])
            if found is None:
                raise StepFailed(f"no channel {where}")
            return str(found.id)
        if where.startswith("DM with "):
            user = self.world.user_id(where.removeprefix("DM with ").lstrip("@"))
            for ch in self.world.emulator.channels():
                if ch.is_im and ch.im_user == user:
                    return str(ch.id)
            raise StepFailed(f"nobody has written to {where.removeprefix('DM with ')}")
        raise StepFailed(f"unknown place {where!r} (#name, incident, DM with <name>, reply)")

    # ------------------------------------------------------------------ what appeared

    def snapshot(self) -> None:
        self.replies = {}
        self._before = {ch.id: self.texts_in(ch.id) for ch in self.world.emulator.channels()}
        self._ephemerals_before = len(self.world.emulator.ephemerals())

    def texts_in(self, channel_id: str) -> set[tuple[str, str]]:
        return {(m.ts, message_text(m)) for m in self.world.emulator.messages(channel_id)}

    def appeared(self, channel_id: str) -> list[str]:
        """Messages new or changed in a channel since the step began, and ephemerals there."""
        before = self._before.get(channel_id, set())
        new = sorted(t for t in self.texts_in(channel_id) if t not in before)
        eph = [
            str(e.get("text") or flatten_blocks(e.get("blocks") or []))
            for e in self.world.emulator.ephemerals()[self._ephemerals_before:]
            if e.get("channel") == channel_id
        ]
        texts = [text for _, text in new] + eph
        # a link reads as its label; its address can be checked too
        links = [m.group(1) for text in texts for m in LINK.finditer(text)]
        return links + [self.names.readable(text) for text in texts]

    def note_reply(self, user: str, channel_id: str, texts: list[str],
                   blocks: list[dict[str, Any]]) -> None:
        reply = self.replies.setdefault(user, Reply())
        reply.texts += [t for t in texts if t.strip()]
        reply.blocks += blocks
        self.last_replies[user] = reply
        self.names.note_reply(channel_id, user, "\n".join(t for t in texts if t.strip()))

    def seen(self, step: Step, where: str) -> list[str]:
        emulator = self.world.emulator
        self.names.user_names.update({u.id: u.name for u in emulator.users()})
        self.names.channel_names.update({c.id: c.name for c in emulator.channels()})
        if where == "reply":
            user = self.actor(step)
            reply = self.replies.get(user, Reply())
            eph = [
                str(e.get("text") or flatten_blocks(e.get("blocks") or []))
                for e in self.world.emulator.ephemerals()[self._ephemerals_before:]
                if e.get("user") == user
            ]
            texts = [*reply.texts, flatten_blocks(reply.blocks), *eph]
            return [self.names.readable(t) for t in texts if t.strip()]
        if where in self.world.standins:
            kind, standin = self.world.standins[where]
            return list(kind.holds(standin))
        return self.appeared(self.channel(where))

    def check(self, step: Step, show: Show) -> None:
        lines = self.seen(step, show.where)
        whole = "\n".join(lines)
        wanted = [self.fill(t, mentions=False) for t in show.text]
        missing = [t for t in wanted if t not in whole]
        pattern = self.fill(show.matches, mentions=False) if show.matches else None
        if pattern is not None and not re.search(pattern, whole):
            missing.append(f"/{pattern}/")
        if missing:
            tail = [line.splitlines()[0][:100] for line in lines[-4:] if line]
            shown = "; ".join(tail) or "nothing"
            raise StepFailed(f"expected {', '.join(repr(m) for m in missing)} in {show.where}; "
                             f"it showed: {shown}")
        if show.where in self.world.standins:
            kind = self.world.standins[show.where][0]
            print(f"    {show.label or kind.label}: {', '.join(lines)}")
        elif show.label is not None:
            match = re.search(pattern, whole) if pattern else None
            print(f"    {show.label}: {', '.join([*wanted, *([match.group(0)] if match else [])])}")

    def save(self, step: Step) -> None:
        """`saves: postmortem-{incident}.md`: the newest file uploaded under that name's stem
        is written to the output folder."""
        if step.saves is None:
            return
        name = self.fill(step.saves)
        stem = Path(name).stem
        files = [f for f in self.world.emulator.uploaded_files()
                 if (f.name or "").startswith(stem)]
        if not files:
            raise StepFailed(f"no file named {stem}… was uploaded")
        self.out.mkdir(parents=True, exist_ok=True)
        path = self.out / name
        path.write_bytes(files[-1].content)
        self.saved.append(path)
