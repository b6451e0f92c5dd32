"""`make run` without Slack credentials: play a whole incident against the bundled local
workspace (the Slack Web API emulator), a real Prometheus over the seed-000 scenario, the
Anthropic stand-in and the machine's Redis, then print what the channels saw.

The bot is driven exactly as Slack drives it: signed requests to its real HTTP endpoint."""

from __future__ import annotations

import os
import re
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.clock import ManualClock

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
# The play starts 2 minutes before the scenario's "now" and moves 30 s (Prometheus' grid)
# per step, so `/metrics correlate` runs exactly at "now": the seed-000 table, ramp at 0s.
PLAY_START = timedelta(minutes=2)
GRID = timedelta(seconds=30)
MAX_LINES = 40
ALICE, BOB, CHARLIE, DIANA = "U0ALICE", "U0BOB", "U0CHARLIE", "U0DIANA"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- transcript

_USER_REF = re.compile(r"<@([A-Z0-9]+)(?:\|([^>]*))?>")
_CHANNEL_REF = re.compile(r"<#([A-Z0-9]+)(?:\|([^>]*))?>")
_DATE_REF = re.compile(r"<!date\^[^|>]*\|([^>]*)>")
_SPECIAL_REF = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")
_SUBTEAM_REF = re.compile(r"<!subteam\^[A-Z0-9]+(?:\|([^>]*))?>")
_LINK_REF = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")


@dataclass
class Entry:
    ts: float
    user: str
    text: str
    only_you: bool = False


@dataclass
class Transcript:
    """Names for ids, and the ephemeral replies seen per channel."""

    clock: Callable[[], datetime]
    user_names: dict[str, str] = field(default_factory=dict)
    channel_names: dict[str, str] = field(default_factory=dict)
    ephemeral: dict[str, list[Entry]] = field(default_factory=dict)
    first_day: date | None = None  # times on other days show their date

    def readable(self, text: str) -> str:
        def user(m: re.Match[str]) -> str:
            return "@" + self.user_names.get(m.group(1), m.group(2) or m.group(1))

        def channel(m: re.Match[str]) -> str:
            return "#" + self.channel_names.get(m.group(1), m.group(2) or m.group(1))

        text = _USER_REF.sub(user, text)
        text = _CHANNEL_REF.sub(channel, text)
        text = _DATE_REF.sub(lambda m: m.group(1), text)
        text = _SPECIAL_REF.sub(lambda m: "@" + m.group(1), text)
        text = _SUBTEAM_REF.sub(lambda m: m.group(1) or "@group", text)
        text = _LINK_REF.sub(lambda m: m.group(2) or m.group(1), text)
        return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")

    def note_reply(self, channel_id: str, user_id: str, text: str) -> None:
        if text.strip():
            self.ephemeral.setdefault(channel_id, []).append(
                Entry(self.clock().timestamp(), user_id, text, only_you=True)
            )


def flatten_blocks(blocks: list[dict[str, Any]]) -> str:
    """Blocks as plain lines: section/header/context text and fields, rich text, buttons."""
    lines: list[str] = []

    def text_of(obj: Any) -> str:
        if isinstance(obj, dict):
            return str(obj.get("text", "")) if isinstance(obj.get("text"), str) else ""
        return ""

    def rich(elements: list[Any]) -> str:
        out = ""
        for el in elements:
            if not isinstance(el, dict):
                continue
            kind = el.get("type")
            if kind == "text":
                out += str(el.get("text", ""))
            elif kind == "user":
                out += f"<@{el.get('user_id', '')}>"
            elif kind == "channel":
                out += f"<#{el.get('channel_id', '')}>"
            elif kind == "link":
                out += str(el.get("text") or el.get("url", ""))
            elif kind == "emoji":
                out += f":{el.get('name', '')}:"
            elif kind in ("rich_text_section", "rich_text_quote"):
                out += rich(el.get("elements", []))
            elif kind == "rich_text_preformatted":
                out += "```\n" + rich(el.get("elements", [])) + "\n```"
            elif kind == "rich_text_list":
                out += "\n".join("• " + rich(i.get("elements", [])) for i in el.get("elements", []))
            out += "" if kind in ("text", "user", "channel", "link", "emoji") else "\n"
        return out

    for block in blocks:
        kind = block.get("type")
        if kind in ("section", "header"):
            if block.get("text"):
                lines.append(text_of(block["text"]))
            fields = [text_of(f) for f in block.get("fields") or []]
            if fields:
                lines.append("  ".join(f.replace("\n", " ") for f in fields))
            acc = block.get("accessory")
            if isinstance(acc, dict) and acc.get("type") == "button":
                lines.append(f"[{text_of(acc.get('text'))}]")
        elif kind == "context":
            lines.append(" ".join(text_of(e) for e in block.get("elements", []) if text_of(e)))
        elif kind == "actions":
            buttons = [text_of(e.get("text")) for e in block.get("elements", [])]
            lines.append(" ".join(f"[{b}]" for b in buttons if b))
        elif kind == "rich_text":
            lines.append(rich(block.get("elements", [])).rstrip("\n"))
        elif kind == "divider":
            lines.append("---")
    return "\n".join(line for line in lines if line.strip())


def cut(text: str, limit: int = MAX_LINES) -> str:
    lines = text.splitlines()
    if len(lines) <= limit:
        return text
    return "\n".join([*lines[:limit], f"… ({len(lines) - limit} more lines)"])


def render_entry(entry: Entry, names: Transcript) -> str:
    at = datetime.fromtimestamp(entry.ts, UTC)
    day = names.first_day
    stamp = at.strftime("%H:%M" if day is None or at.date() == day else "%a %d %b %H:%M")
    who = "@" + names.user_names.get(entry.user, entry.user or "someone")
    body = cut(names.readable(entry.text))
    mark = " (only you)" if entry.only_you else ""
    first, *rest = body.splitlines() or [""]
    out = [f"[{stamp}] {who}{mark}: {first}"]
    out += ["        " + line for line in rest]
    return "\n".join(out)


# --------------------------------------------------------------------------- the play


class StepFailed(Exception):
    pass


@dataclass
class Outcome:
    failures: list[str] = field(default_factory=list)

    async def step(
        self, name: str, run: Callable[[], Awaitable[None]], *, critical: bool = False
    ) -> bool:
        try:
            await run()
        except Exception as exc:
            reason = str(exc) or type(exc).__name__
            self.failures.append(f"{name}: {reason}")
            print(f"  ✗ {name}: {reason}")
            if critical:
                raise StepFailed(name) from exc
            return False
        print(f"  ✓ {name}")
        return True


def _redis_ping(url: str) -> str | None:
    """None when Redis answers, else the reason."""
    import redis as sync_redis

    client = sync_redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
        return None
    except sync_redis.RedisError as exc:
        return str(exc)
    finally:
        client.close()


def _flush(url: str) -> None:
    import redis as sync_redis

    client = sync_redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


SEED_SERVICES = ("api-server", "web-service")


async def run_demo(
    out_dir: str = "out", redis_url: str | None = None, scenario: str = "seed"
) -> int:
    """Play a whole incident locally; 0 when every step worked, 1 when one failed, 2 when
    a local prerequisite (Redis, Prometheus) is missing. `scenario` picks the Prometheus
    world: seed (000), otel, micrometer or mixed (sandbox/scenarios.py)."""
    from bot.clock import ManualClock
    from sandbox.anthropic_standin import AnthropicStandin
    from sandbox.prometheus_scenario import PrometheusNotInstalled, PrometheusServer, find_binaries
    from sandbox.scenarios import SCENARIO_NAMES, SCENARIOS, openmetrics_for

    if scenario not in SCENARIO_NAMES:
        print(f"incident-bot demo: unknown scenario {scenario!r}; choose one of "
              f"{', '.join(SCENARIO_NAMES)}")
        return 2
    services = SCENARIOS[scenario].declare_services if scenario in SCENARIOS else SEED_SERVICES
    from sandbox.slack_emulator import SlackEmulator
    from sandbox.standins import ConfluenceStandin, JiraStandin, PagerDutyStandin

    redis_url = redis_url or os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    try:
        find_binaries()
    except PrometheusNotInstalled:
        print("incident-bot demo: the demo needs a real Prometheus and `prometheus`/`promtool` "
              "are not on PATH: install them with `apt-get install prometheus`.")
        return 2
    down = _redis_ping(redis_url)
    if down is not None:
        print(
            f"incident-bot demo: Redis is not reachable at {redis_url} ({down}). Start it with "
            "`apt-get install redis-server && redis-server --daemonize yes` (or set REDIS_URL)."
        )
        return 2

    print("== incident-bot local demo: the bundled workspace, no Slack credentials needed ==")
    print(f"Redis: {redis_url} (this database only was flushed for the demo)")
    _flush(redis_url)
    started = time.monotonic()
    # One clock for the bot and the workspace, so timestamps tell the incident's story.
    clock = ManualClock(datetime.now(UTC))
    emulator = SlackEmulator(clock=lambda: clock().timestamp())
    standin = AnthropicStandin()
    prom = PrometheusServer(openmetrics=openmetrics_for(scenario))
    # the pager and the tracker a team already runs, as local stand-ins
    pagerduty = PagerDutyStandin()
    jira = JiraStandin(users={"bob@example.com": "jira-account-bob"})
    confluence = ConfluenceStandin()  # where the team keeps its postmortems
    emulator.start()
    pagerduty.start()
    jira.start()
    confluence.start()
    try:
        standin.start()
        try:
            prom.start()
        except Exception as exc:
            print(f"incident-bot demo: Prometheus did not start: {exc}")
            return 1
        try:
            print(
                f"Slack (emulated): {emulator.api_url}  Prometheus: {prom.url}  "
                f"Anthropic (stand-in): {standin.base_url}\n"
                f"PagerDuty (stand-in): {pagerduty.base_url}  Jira (stand-in): {jira.base_url}  "
                f"Confluence (stand-in): {confluence.base_url}"
            )
            assert prom.times is not None
            clock.set(prom.times.now - PLAY_START)
            if scenario != "seed":
                print(f"Scenario: {scenario} ({SCENARIOS[scenario].description})")
            code = await _play(
                emulator, standin, prom.url, redis_url, Path(out_dir), clock, services,
                integrations={"pagerduty": pagerduty, "jira": jira, "confluence": confluence},
            )
        finally:
            prom.stop()
    finally:
        standin.stop()
        emulator.stop()
        pagerduty.stop()
        jira.stop()
        confluence.stop()
    print(f"(demo took {time.monotonic() - started:.1f}s)")
    return code


async def _play(
    emulator: Any,
    standin: Any,
    prometheus_url: str,
    redis_url: str,
    out: Path,
    clock: ManualClock,
    services: tuple[str, ...] = SEED_SERVICES,
    integrations: dict[str, Any] | None = None,
) -> int:
    from bot.actions.models import ActionSettings
    from bot.actions.schedule import next_working_start
    from bot.runners import serve_http
    from bot.settings import Settings
    from bot.wiring import build_bot, build_scanner, build_watch
    from sandbox.driver import Reply, SlackDriver

    secret = secrets.token_hex(16)
    settings = Settings.model_validate(
        {
            "slack_bot_token": emulator.bot_token,
            "slack_signing_secret": secret,
            "slack_api_url": emulator.api_url,
            "redis_url": redis_url,
            "prometheus_url": prometheus_url,
            "anthropic_api_key": standin.api_key,
            "anthropic_base_url": standin.base_url,
            "incidents_channel": "incidents",
            "snapshot_on_declare": True,
            **_integration_settings(integrations or {}),
        }
    )
    bot = build_bot(settings, clock=clock)
    port = _free_port()
    runner = await serve_http(bot, "127.0.0.1", port)
    driver = SlackDriver(
        endpoint=f"http://127.0.0.1:{port}/slack/events", signing_secret=secret, emulator=emulator
    )
    names = Transcript(clock=clock, first_day=clock().date())
    outcome = Outcome()
    incidents = emulator.channel_by_name("incidents").id
    state: dict[str, Any] = {}
    scanner = None

    async def command(text: str, user: str, channel: str, command: str = "/incident") -> Reply:
        reply = await driver.command(text, user=user, channel=channel, command=command)
        shown = (
            [str(reply.ack.get("text", ""))]
            if reply.ack.get("response_type") != ("in_channel")
            else []
        )
        shown += [
            str(r.get("text", ""))
            for r in reply.responses
            if r.get("response_type") != "in_channel"
        ]
        names.note_reply(channel, user, "\n".join(s for s in shown if s))
        if reply.status != 200:
            raise StepFailed(f"HTTP {reply.status} for `{command} {text}`")
        if any(s.lstrip().startswith(":warning:") for s in shown):
            raise StepFailed(f"`{command} {text}` answered: {reply.text.splitlines()[0]}")
        return reply

    def channel() -> str:
        cid: str = state["channel"]
        return cid

    async def declare() -> None:
        before = set(emulator.channel_ids())
        await command(
            f"declare Checkout API returning 500s sev:2 services:{','.join(services)} "
            "tags:database",
            ALICE,
            incidents,
        )
        created = [c for c in emulator.channel_ids() if c not in before]
        if len(created) != 1:
            raise StepFailed(f"expected one new incident channel, got {len(created)}")
        state["channel"] = created[0]
        incident = await bot.services.incidents.target(created[0], None)
        state["incident"] = incident.id
        print(f"    {incident.id} in #{emulator.channel(created[0]).name}")
        if integrations:
            paged = sorted(integrations["pagerduty"].alerts)
            print(f"    PagerDuty (stand-in) paged: {', '.join(paged) or 'nobody'}")
        if incident.call_url:
            print(f"    call link (the fixed bridge): {incident.call_url}")

    async def roles() -> None:
        await command(f"role ops <@{BOB}>", ALICE, channel())
        await command(f"role comms <@{CHARLIE}>", ALICE, channel())

    async def chatter() -> None:
        await driver.message(
            user=BOB,
            channel=channel(),
            text=f"Seeing 500s on /checkout since ~10 min, all from {services[0]}",
        )
        clock.advance(timedelta(seconds=10))
        key = await driver.message(
            user=DIANA,
            channel=channel(),
            text="DB connection pool is exhausted: 98/100 active, 37 waiting. "
            "Started right after deploy v2.3.4",
        )
        clock.advance(timedelta(seconds=10))
        await driver.message(
            user=CHARLIE,
            channel=channel(),
            text="Status page updated: checkout degraded, investigating",
        )
        clock.advance(timedelta(seconds=10))
        emulator_pin(key)
        await driver.event(
            {
                "type": "pin_added",
                "user": ALICE,
                "channel_id": channel(),
                "item": {
                    "type": "message",
                    "channel": channel(),
                    "message": {"ts": key, "text": "", "user": DIANA},
                },
                "event_ts": f"{clock().timestamp():.6f}",
            }
        )
        await driver.event(
            {
                "type": "reaction_added",
                "user": BOB,
                "reaction": "pushpin",
                "item": {"type": "message", "channel": channel(), "ts": key},
                "item_user": DIANA,
                "event_ts": f"{clock().timestamp():.6f}",
            }
        )

    def emulator_pin(ts: str) -> None:
        state["pinned_ts"] = ts

    async def metrics_check() -> None:
        await command("check", ALICE, channel(), command="/metrics")

    async def metrics_correlate() -> None:
        await command("correlate", ALICE, channel(), command="/metrics")

    async def identified() -> None:
        await command("status identified", ALICE, channel())

    async def note() -> None:
        await command("note Rolled back v2.3.4", BOB, channel())

    async def action() -> None:
        await command(
            f"action add <@{BOB}> Add DB pool alert at 80% due:3d priority:P1 type:detect",
            ALICE,
            channel(),
        )
        store = bot.services.store.actions
        items = await store.many(await store.ids_of_owner(BOB))
        if not items or items[0].due is None:
            raise StepFailed("no action item with a due date was stored for bob")
        state["due"] = items[0].due
        if integrations and items[0].tracked is not None:
            print(f"    tracked in Jira (stand-in): {items[0].tracked.key}")

    async def reminder() -> None:
        nonlocal scanner
        due: datetime = state["due"]
        at = due + timedelta(hours=1)
        cfg = ActionSettings.from_settings(settings)
        later = next_working_start(at, "Europe/London", cfg)
        at = later + timedelta(hours=1) if later is not None else at
        clock.set(at)
        scanner = build_scanner(settings, clock=clock)
        dm_before = _dm_count(emulator, BOB)
        await scanner.scan()
        if _dm_count(emulator, BOB) <= dm_before:
            raise StepFailed(f"no DM reached bob (clock at {at.isoformat()})")
        print(
            f"    clock moved past the due date to {at.astimezone(UTC):%a %Y-%m-%d %H:%M} "
            "UTC (bob's working hours, Europe/London)"
        )

    async def follow() -> None:
        incident = await bot.services.store.get_incident(state["incident"])
        await driver.click(
            "follow_updates", incident.id, user=DIANA, channel=incidents,
            message_ts=incident.announcement_ts or "",
        )
        if DIANA not in await bot.services.store.updates.subscribers(incident.id):
            raise StepFailed("diana's Follow updates click did not make her a follower")

    async def status_update() -> None:
        before = _dm_count(emulator, DIANA)
        await command(
            'update "Cause found: the database connection pool is exhausted; rolling back '
            'v2.3.4" next:15m',
            CHARLIE,
            channel(),
        )
        if _dm_count(emulator, DIANA) <= before:
            raise StepFailed("diana follows the incident but got no DM of the update")

    async def cadence_nudge() -> None:
        watch = build_watch(settings, clock=clock)
        try:
            before = _dm_count(emulator, CHARLIE)
            result = await watch.scan()
        finally:
            await watch.store.aclose()
        if _dm_count(emulator, CHARLIE) <= before or not any(
            name.startswith("update-due") for name in result.sent
        ):
            raise StepFailed("the next update came due but charlie (Comms) got no prompt")

    async def monitoring() -> None:
        await command("status monitoring", ALICE, channel())

    async def impact_start() -> None:
        from bot.slack.blocks import IMPACT_START_ACTION

        offers = _buttons(emulator, channel(), IMPACT_START_ACTION)
        if not offers:
            raise StepFailed("the metrics offered no impact start")
        ts, value = offers[0]
        await driver.click(IMPACT_START_ACTION, value, user=ALICE, channel=channel(), message_ts=ts)
        incident = await bot.services.incidents.target(channel(), None)
        if incident.impact_started_at is None:
            raise StepFailed("the impact start was not recorded")

    async def resolve() -> None:
        from bot.incidents.models import Status
        from bot.slack.blocks import CONFIRM_CHANGE_ACTION

        # the metrics still look bad (verify before resolve): alice resolves anyway
        reply = await driver.command(
            "resolve Rolled back; pool back to 40%", user=ALICE, channel=channel()
        )
        names.note_reply(channel(), ALICE, reply.text)
        asked = [
            el["value"]
            for r in reply.responses
            for block in r.get("blocks") or []
            for el in block.get("elements") or []
            if el.get("action_id") == CONFIRM_CHANGE_ACTION
        ]
        incident = await bot.services.incidents.target(channel(), None)
        if asked and incident.header_ts:
            clock.advance(timedelta(seconds=20))
            await driver.click(
                CONFIRM_CHANGE_ACTION,
                asked[0],
                user=ALICE,
                channel=channel(),
                message_ts=incident.header_ts,
            )
            names.note_reply(channel(), ALICE, "[Resolve anyway]")
        incident = await bot.services.incidents.target(channel(), None)
        if incident.status is not Status.RESOLVED:
            raise StepFailed(f"{incident.id} is {incident.status.value}, not resolved")

    async def postmortem() -> None:
        files_before = len(emulator.uploaded_files())
        await command("postmortem", ALICE, channel())
        files = emulator.uploaded_files()
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"postmortem-{state['incident']}.md"
        if len(files) > files_before:
            text = files[-1].content.decode("utf-8")
        else:
            from bot.export import export_postmortem

            text = await export_postmortem(settings, state["incident"])
        path.write_text(text, encoding="utf-8")
        state["postmortem"] = path

    async def published() -> None:
        publishing = bot.services.publishing
        if publishing is None:
            raise StepFailed("publishing is not configured")
        await publishing.settle()  # POSTMORTEM_PUBLISH=auto publishes each version
        incident = await bot.services.incidents.target(channel(), None)
        link = incident.link("postmortem", "confluence")
        if link is None:
            raise StepFailed("the postmortem did not reach Confluence")
        state["published"] = (f"{link.url} (page version {link.version}, postmortem "
                              f"v{link.source_version})")

    print("\n-- playing the incident --")
    try:
        await outcome.step("alice declares the incident in #incidents", declare, critical=True)
        clock.advance(GRID)
        await outcome.step("alice assigns ops to bob and comms to charlie", roles)
        clock.advance(GRID)
        await outcome.step("people talk in the channel; a key message is pinned", chatter)
        await outcome.step("/metrics check", metrics_check)
        await outcome.step("alice records the impact start the metrics found", impact_start)
        clock.advance(GRID)
        await outcome.step("/metrics correlate", metrics_correlate)
        clock.advance(timedelta(minutes=9))
        await outcome.step("/incident status identified", identified)
        await outcome.step("diana presses Follow updates on the announcement", follow)
        clock.advance(GRID)
        await outcome.step(
            "charlie (Comms) posts /incident update … next:15m: channel, announcement "
            "thread and edit, diana's DM",
            status_update,
        )
        clock.advance(timedelta(minutes=6))
        await outcome.step("/incident note Rolled back v2.3.4", note)
        clock.advance(timedelta(minutes=4))
        await outcome.step("/incident action add (bob, due in 3 days)", action)
        clock.advance(timedelta(minutes=5))
        await outcome.step(
            "the next update is due: the worker DMs charlie a Post update button",
            cadence_nudge,
        )
        await outcome.step("/incident status monitoring", monitoring)
        clock.advance(timedelta(minutes=20))
        await outcome.step("/incident resolve (metrics still bad: Resolve anyway)", resolve)
        clock.advance(timedelta(minutes=10))
        await outcome.step("/incident postmortem", postmortem)
        if integrations:
            await outcome.step("each postmortem version lands on one Confluence page",
                               published)
        if "due" in state:
            await outcome.step("reminder scan after the due date: bob gets a DM", reminder)
    except StepFailed:
        pass
    finally:
        await driver.settle()
        await runner.cleanup()
        await bot.services.store.aclose()
        if scanner is not None:
            await scanner.items.aclose()

    print_transcript(emulator, names)
    if "postmortem" in state:
        print(f"\nPostmortem written to {state['postmortem']}")
    if "published" in state:
        print(f"Postmortem published to Confluence (stand-in): {state['published']}")
    if outcome.failures:
        print(f"\n{len(outcome.failures)} step(s) failed:")
        for failure in outcome.failures:
            print(f"  - {failure}")
        return 1
    print("\nEvery step worked.")
    return 0


def _integration_settings(standins: dict[str, Any]) -> dict[str, object]:
    """The demo pages through PagerDuty from SEV2, opens the SEV2 with the team's fixed
    bridge, files action items in Jira and publishes each postmortem version to Confluence."""
    if not standins:
        return {}
    pagerduty, jira, confluence = standins["pagerduty"], standins["jira"], standins["confluence"]
    return {
        "meeting_url": "https://meet.acme.example/incident-bridge",
        "confluence_url": confluence.base_url,
        "confluence_email": confluence.email,
        "confluence_api_token": confluence.api_token,
        "confluence_space_id": confluence.space_id,
        "confluence_parent_page_id": "65601",
        "postmortem_publish": "auto",
        "pagerduty_routing_key": next(iter(pagerduty.routing_keys)),
        "pagerduty_events_url": f"{pagerduty.base_url}/v2/enqueue",
        "page_min_severity": 2,
        "jira_url": jira.base_url,
        "jira_email": jira.email,
        "jira_api_token": jira.api_token,
        "jira_project": jira.project,
        "track_actions": "auto",
    }


def _buttons(emulator: Any, channel_id: str, action_id: str) -> list[tuple[str, str]]:
    """(message ts, value) of the buttons with `action_id` in a channel's messages."""
    return [
        (m.ts, el["value"])
        for m in emulator.messages(channel_id)
        for block in m.blocks
        if block.get("type") == "actions"
        for el in block.get("elements", [])
        if el.get("action_id") == action_id
    ]


def _dm_count(emulator: Any, user_id: str) -> int:
    ims = [c.id for c in emulator.channels() if c.is_im and c.im_user == user_id]
    return sum(len(emulator.messages(cid)) for cid in ims)


def print_transcript(emulator: Any, names: Transcript) -> None:
    names.user_names.update({u.id: u.name for u in emulator.users()})
    channels = emulator.channels()
    names.channel_names.update({c.id: c.name for c in channels})
    print("\n== transcript: what the channels saw ==")
    for ch in channels:
        entries = [Entry(float(m.ts), m.user, _message_text(m)) for m in emulator.messages(ch.id)]
        entries += [
            Entry(
                float(e.get("ts") or 0),
                str(e.get("user", "")),
                str(e.get("text") or flatten_blocks(e.get("blocks") or [])),
                only_you=True,
            )
            for e in emulator.ephemerals(ch.id)
        ]
        entries += names.ephemeral.get(ch.id, [])
        if not entries:
            continue
        entries.sort(key=lambda e: e.ts)
        if ch.is_im:
            heading = f"DM with @{names.user_names.get(ch.im_user or '', ch.im_user)}"
        else:
            heading = f"#{ch.name}"
        print(f"\n### {heading}")
        for entry in entries:
            print(render_entry(entry, names))


def _message_text(message: Any) -> str:
    text = flatten_blocks(message.blocks) if message.blocks else str(message.text)
    if not text.strip():
        text = str(message.text)
    for f in message.files:
        text += f"\n[file: {f.get('name') or f.get('title', '')}]"
    if message.edited:
        text += " (edited)"
    return text
