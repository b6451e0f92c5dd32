"""What a step can do: one user action each, as Slack would deliver it (signed requests to
the bot's real endpoint), or the worker doing its rounds. The key a step uses names its
action; its value is the action's argument:

    command: /incident role ops @bob        a slash command (`in:` where it is typed)
    say: DB pool is exhausted                a message in a channel (`remember: key` keeps it)
    pin: key                                 pin a remembered message
    react: pushpin                           add a reaction to a remembered message (`to: key`)
    click: Resolve anyway                    press a button by its label (`in: reply` for one
                                             in the actor's last reply, else a channel's)
    worker: reminders | updates | followers  a worker round: the reminder scan, the update
                                             cadence and nudges, or sending the followers'
                                             DMs queued in the outbox
    status_page: api/v2/summary.json         a customer reads the status page the bot
                                             serves (its URL is printed)

A new action is a function here, `async def name(play, step) -> None`, registered in ACTIONS
under the key a step will use."""

from __future__ import annotations

from typing import Any

from sandbox.demo.play import Action, Player, StepFailed
from sandbox.demo.scenario import Step


async def command(play: Player, step: Step) -> None:
    text = play.fill(str(step.argument)).strip()
    name, _, rest = text.partition(" ")
    if not name.startswith("/"):
        raise StepFailed(f"a command starts with its slash command, not {name!r}")
    user, channel = play.actor(step), play.channel(step.where)
    reply = await play.world.driver.command(rest, user=user, channel=channel, command=name)
    public = reply.ack.get("response_type") == "in_channel"
    shown = [] if public else [str(reply.ack.get("text", ""))]
    private = [r for r in reply.responses if r.get("response_type") != "in_channel"]
    shown += [str(r.get("text", "")) for r in private]
    blocks = [b for r in private for b in r.get("blocks") or []]
    play.note_reply(user, channel, shown, blocks)
    if reply.status != 200:
        raise StepFailed(f"HTTP {reply.status} for `{text}`")
    warned = [s for s in shown if s.lstrip().startswith(":warning:")]
    if warned and not any(show.where == "reply" for show in step.shows):
        raise StepFailed(f"`{text}` answered: {play.names.readable(warned[0]).splitlines()[0]}")


async def say(play: Player, step: Step) -> None:
    channel = play.channel(step.where)
    ts = await play.world.driver.message(
        user=play.actor(step), channel=channel, text=play.fill(str(step.argument))
    )
    if step.remember:
        play.remembered[step.remember] = (channel, ts)


def _remembered(play: Player, name: str | None) -> tuple[str, str]:
    if name is None or name not in play.remembered:
        raise StepFailed(f"no message remembered as {name!r} (`remember:` it when said)")
    return play.remembered[name]


async def pin(play: Player, step: Step) -> None:
    channel, ts = _remembered(play, str(step.argument))
    author = next(m.user for m in play.world.emulator.messages(channel) if m.ts == ts)
    await play.world.driver.event({
        "type": "pin_added",
        "user": play.actor(step),
        "channel_id": channel,
        "item": {"type": "message", "channel": channel,
                 "message": {"ts": ts, "text": "", "user": author}},
        "event_ts": f"{play.world.clock().timestamp():.6f}",
    })


async def react(play: Player, step: Step) -> None:
    channel, ts = _remembered(play, step.to)
    author = next(m.user for m in play.world.emulator.messages(channel) if m.ts == ts)
    await play.world.driver.event({
        "type": "reaction_added",
        "user": play.actor(step),
        "reaction": str(step.argument).strip(":"),
        "item": {"type": "message", "channel": channel, "ts": ts},
        "item_user": author,
        "event_ts": f"{play.world.clock().timestamp():.6f}",
    })


def _buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = [e for b in blocks if b.get("type") == "actions" for e in b.get("elements", [])]
    found += [b["accessory"] for b in blocks if isinstance(b.get("accessory"), dict)]
    return [e for e in found if e.get("type") == "button"]


def _label(button: dict[str, Any]) -> str:
    return str((button.get("text") or {}).get("text", ""))


async def click(play: Player, step: Step) -> None:
    label, user = str(step.argument), play.actor(step)
    if step.where == "reply":
        reply = play.last_replies.get(user)
        buttons = _buttons(reply.blocks) if reply else []
        channel = play.channel(None)
        message_ts = f"{play.world.clock().timestamp():.6f}"  # an ephemeral message's
    else:
        channel = play.channel(step.where)
        messages = [m for m in play.world.emulator.messages(channel)
                    if any(_label(b) == label for b in _buttons(m.blocks))]
        buttons = _buttons(messages[-1].blocks) if messages else []
        message_ts = messages[-1].ts if messages else ""
    button = next((b for b in buttons if _label(b) == label), None)
    if button is None:
        where = step.where or "the channel"
        raise StepFailed(f"no [{label}] button in {where}")
    answer = await play.world.driver.click(
        str(button["action_id"]), str(button.get("value", "")), user=user, channel=channel,
        message_ts=message_ts,
    )
    texts = [f"[{label}]", *(str(r.get("text", "")) for r in answer.responses)]
    blocks = [b for r in answer.responses for b in r.get("blocks") or []]
    play.note_reply(user, channel, texts, blocks)
    if answer.status != 200:
        raise StepFailed(f"HTTP {answer.status} for the [{label}] button")


async def worker(play: Player, step: Step) -> None:
    from bot.wiring import build_scanner, build_watch

    job = str(step.argument)
    if job == "reminders":
        scanner = build_scanner(play.world.settings, clock=play.world.clock)
        try:
            await scanner.scan()
        finally:
            await scanner.items.aclose()
    elif job == "updates":
        watch = build_watch(play.world.settings, clock=play.world.clock)
        try:
            await watch.scan()
        finally:
            await watch.store.aclose()
    elif job == "followers":
        # the demo runs no worker process: its fan-out job runs here, as the worker runs it
        from bot.slack.connect import slack_gateway
        from bot.updates.fanout import FanOutDrain

        store = play.world.bot.services.store
        chat = slack_gateway(play.world.settings, store)
        await FanOutDrain(store=store, chat=chat, clock=play.world.clock).drain()
    else:
        raise StepFailed(f"worker: {job!r} is not a round (reminders, updates, followers)")


async def status_page(play: Player, step: Step) -> None:
    """What a customer sees at /status: its URL, the overall status, each component's and
    how many incidents it lists (from the Statuspage-shaped JSON); and the HTML page itself,
    saved with its stylesheet under the output folder (status-page/index.html) to open."""
    import json
    import re

    import aiohttp

    base = play.world.driver.endpoint.removesuffix("/slack/events") + "/status"
    page = play.world.bot.services.statuspage
    if page is None:
        raise StepFailed("the status page is not set up (status_page_components)")
    await page.snapshots.refresh(force=True)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/{step.argument}") as r:
            if r.status != 200:
                raise StepFailed(f"HTTP {r.status} for {base}/{step.argument}")
            summary = json.loads(await r.text())
        async with http.get(base) as r:
            if r.status != 200 or not r.content_type == "text/html":
                raise StepFailed(f"HTTP {r.status} ({r.content_type}) for {base}")
            html = await r.text()
        sheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', html)
        if sheet is None:
            raise StepFailed(f"{base} links no stylesheet")
        async with http.get(base.removesuffix("/status") + sheet.group(1)) as r:
            css = await r.read()
    folder = play.out / "status-page"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.html").write_text(html.replace(sheet.group(1), "status.css"))
    (folder / "status.css").write_bytes(css)
    title = re.search(r"<title>([^<]*)</title>", html)
    history = page.snapshots.current.views["public"].past_incidents if page.snapshots.current \
        else []
    lines = [f"{base} — {summary['status']['description']}",
             *(f"{c['name']}: {c['status']}" for c in summary["components"] if not c["group"]),
             f"{len(summary['incidents'])} open, {len(history)} past incident"
             + ("s" if len(history) != 1 else ""),
             f"the page reads “{title.group(1) if title else ''}”"]
    print(f"    the status page: {base} (its JSON: {base}/{step.argument}; the page as it "
          f"was: {folder / 'index.html'})")
    play.note_reply(play.actor(step), play.channel(None), lines, [])


ACTIONS: dict[str, Action] = {
    "command": command,
    "say": say,
    "pin": pin,
    "react": react,
    "click": click,
    "worker": worker,
    "status_page": status_page,
}
