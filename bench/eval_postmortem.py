"""`make eval`: AI postmortems on recorded incidents, checked against the record.

Plays each incident of sandbox/recorded_incidents.py through the real bot (signed slash
commands to its HTTP endpoint, the Slack emulator, a real Redis) with the Anthropic stand-in
answering faithfully and then inventing (people, citations, times, numbers, regions), and
prints per incident and mode: the model's claims kept / flagged as unverified / dropped,
whether anything invented reached Slack as fact, the time to the first posted draft (the one
built from the record) and to the checked AI draft, and the tokens per draft.

Redis: EVAL_REDIS_URL, else database 3 of TEST_REDIS_SERVER (default 127.0.0.1:6379), which
it flushes."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis as sync_redis

from bot.clock import ManualClock
from bot.postmortem.render import UNVERIFIED_HEADING
from bot.runners import serve_http
from bot.settings import Settings
from bot.timeline.models import EventKind, TimelineEvent
from bot.wiring import build_bot
from sandbox.anthropic_standin import INVENTED, AnthropicStandin
from sandbox.driver import SlackDriver
from sandbox.recorded_incidents import ALICE, RECORDED, RecordedIncident
from sandbox.slack_emulator import SlackEmulator

SECRET = "eval-signing-secret"
TOKEN = "xoxb-eval-token"
T0 = datetime(2026, 11, 23, 14, 23, tzinfo=UTC)
MODES = ("faithful", "invent_all")
# list prices per million tokens (Claude Sonnet), for the cost estimate
PRICE = {"input": 3.0, "output": 15.0, "cache_write": 3.75, "cache_read": 0.30}


@dataclass
class Row:
    incident: str
    mode: str
    kept: int
    flagged: int
    dropped: int
    leaked: int  # invented strings found in Slack outside the Unverified section
    first_ms: float
    ai_ms: float
    ai_written: bool
    tokens_in: int
    tokens_out: int
    cache_read: int
    cache_write: int
    unverified: list[str]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _redis_url() -> str:
    if os.environ.get("EVAL_REDIS_URL"):
        return os.environ["EVAL_REDIS_URL"]
    server = os.environ.get("TEST_REDIS_SERVER", "redis://127.0.0.1:6379").rstrip("/")
    return f"{server}/3"


async def evaluate(
    incidents: tuple[RecordedIncident, ...] = RECORDED, modes: tuple[str, ...] = MODES
) -> list[Row]:
    """Every incident in every mode, through the real bot; one Row each."""
    redis_url = _redis_url()
    slack = SlackEmulator(token=TOKEN)
    slack.start()
    rows: list[Row] = []
    try:
        with AnthropicStandin() as model:
            for incident in incidents:
                for mode in modes:
                    rows.append(await play(incident, mode, slack, model, redis_url))
    finally:
        slack.stop()
    return rows


async def play(
    incident: RecordedIncident,
    mode: str,
    slack: SlackEmulator,
    model: AnthropicStandin,
    redis_url: str,
) -> Row:
    sync_redis.Redis.from_url(redis_url).flushdb()
    slack.reset()
    model.reset(mode, keep_cache=True)  # the API's prompt cache lives across drafts
    clock = ManualClock(T0)
    settings = Settings.model_validate(
        {
            "slack_bot_token": TOKEN,
            "slack_signing_secret": SECRET,
            "slack_api_url": slack.api_url,
            "redis_url": redis_url,
            "snapshot_on_declare": False,
            "anthropic_api_key": model.api_key,
            "anthropic_base_url": model.base_url,
            "anthropic_timeout": 30,
        }
    )
    bot = build_bot(settings, clock=clock)
    port = _free_port()
    runner = await serve_http(bot, "127.0.0.1", port)
    driver = SlackDriver(
        endpoint=f"http://127.0.0.1:{port}/slack/events", signing_secret=SECRET, emulator=slack
    )
    try:
        before = set(slack.channel_ids())
        await driver.command(f"declare {incident.declare}", user=ALICE, channel="C0INCIDENTS")
        [channel] = [c for c in slack.channel_ids() if c not in before]
        inc = await bot.services.incidents.for_channel(channel)
        for minute, user, text in incident.steps:
            clock.set(T0 + timedelta(minutes=minute))
            if text.startswith("METRICS "):
                event = TimelineEvent(kind=EventKind.METRICS, at=clock(), text=text[8:])
                await bot.services.store.append_event(inc.id, event)
            else:
                await driver.command(text, user=user, channel=channel)
        clock.set(T0 + timedelta(hours=2))
        files_before = len(slack.uploaded_files())
        started = time.perf_counter()
        task = asyncio.create_task(
            driver.command("postmortem", user=ALICE, channel=channel, settle=False)
        )
        first_ms = 0.0
        while len(slack.uploaded_files()) <= files_before:
            await asyncio.sleep(0.001)
        first_ms = (time.perf_counter() - started) * 1000
        await task
        await driver.settle()
        ai_ms = (time.perf_counter() - started) * 1000
        pm = await bot.services.postmortems.latest(inc.id)
        assert pm is not None
        fact = []
        for f in slack.uploaded_files()[files_before:]:
            content = f.content.decode("utf-8")
            head, _, rest = content.partition(UNVERIFIED_HEADING)
            fact += [f.initial_comment, head, rest.partition("\n## ")[2]]
        fact += [m.text + str(m.blocks) for m in slack.messages(channel)]
        fact += [str(r.get("text", "")) for r in slack.responses()]
        seen = "\n".join(fact)
        leaked = sum(1 for x in INVENTED.get(mode, ()) if x in seen)
        claims = pm.claims
        usage = pm.ai_usage
        return Row(
            incident=incident.name,
            mode=mode,
            kept=claims.kept if claims else 0,
            flagged=claims.flagged if claims else 0,
            dropped=claims.dropped if claims else 0,
            leaked=leaked,
            first_ms=first_ms,
            ai_ms=ai_ms,
            ai_written=pm.ai_written,
            tokens_in=usage.input_tokens if usage else 0,
            tokens_out=usage.output_tokens if usage else 0,
            cache_read=usage.cache_read_input_tokens if usage else 0,
            cache_write=usage.cache_creation_input_tokens if usage else 0,
            unverified=[f"{u.section}: {u.text} — {u.reason}" for u in pm.unverified],
        )
    finally:
        await runner.cleanup()
        await bot.services.store.redis.aclose()


def cost(row: Row) -> float:
    return (
        row.tokens_in * PRICE["input"]
        + row.tokens_out * PRICE["output"]
        + row.cache_write * PRICE["cache_write"]
        + row.cache_read * PRICE["cache_read"]
    ) / 1_000_000


async def main() -> int:
    redis_url = _redis_url()
    try:
        sync_redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    except sync_redis.RedisError as exc:
        print(f"make eval needs Redis at {redis_url}: {exc}", file=sys.stderr)
        return 2
    rows = await evaluate()
    print(f"AI postmortems on {len(RECORDED)} recorded incidents (Redis {redis_url})\n")
    header = (
        f"{'incident':<66} {'model':<10} {'kept':>4} {'flag':>4} {'drop':>4} {'leak':>4} "
        f"{'1st draft':>9} {'AI draft':>9} {'in/out/cache-read tok':>22} {'$':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        tokens = f"{r.tokens_in}/{r.tokens_out}/{r.cache_read}"
        print(
            f"{r.incident[:66]:<66} {r.mode:<10} {r.kept:>4} {r.flagged:>4} {r.dropped:>4} "
            f"{r.leaked:>4} {r.first_ms:>7.0f}ms {r.ai_ms:>7.0f}ms {tokens:>22} {cost(r):>7.4f}"
        )
    faithful = [r for r in rows if r.mode == "faithful"]
    inventing = [r for r in rows if r.mode != "faithful"]
    firsts = sorted(r.first_ms for r in rows)
    print()
    print(
        f"faithful: {sum(r.kept for r in faithful)} claims kept, "
        f"{sum(r.flagged for r in faithful)} flagged, {sum(r.dropped for r in faithful)} dropped"
    )
    print(
        f"inventing: {sum(r.kept for r in inventing)} kept, "
        f"{sum(r.flagged for r in inventing)} flagged, {sum(r.dropped for r in inventing)} "
        f"dropped; invented strings shown as fact: {sum(r.leaked for r in inventing)}"
    )
    print(
        f"time to the first posted draft: median {firsts[len(firsts) // 2]:.0f} ms, "
        f"max {firsts[-1]:.0f} ms"
    )
    print(
        f"estimated cost per draft (Sonnet list prices, stand-in token counts): "
        f"${sum(cost(r) for r in faithful) / len(faithful):.4f}"
    )
    for r in faithful:
        for u in r.unverified:
            print(f"  faithful answer flagged ({r.incident[:40]}): {u}")
    bad = [r for r in faithful if r.flagged or r.dropped] + [r for r in inventing if r.leaked]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
