"""The web app over a real history: 10,000 incidents with 100 timeline events each (a year,
about 2,300 in the last 12 weeks; bench/web_history.py), written through the real store
writes, then one `incident-bot serve` (HTTP, web app configured, the Slack emulator's Sign
in with Slack) asked by a signed-in person, one request at a time:

* `/incidents` with a filter (severity, status and service; the service changes every
  request): goal p95 <= 150 ms;
* `/incidents/{id}` of public incidents picked at random: goal p95 <= 100 ms;
* `/insights` over the last 12 weeks: goal p95 <= 500 ms.

Redis db 14 (or BENCH_REDIS_URL), flushed before and after. Run: .venv/bin/python -m
bench.bench_web"""

from __future__ import annotations

import asyncio
import os
import random
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
import redis as sync_redis

from bench import (
    BOT_TOKEN,
    INCIDENT_BOT,
    append_result,
    bot_env,
    free_port,
    log_path,
    start_process,
    stop_process,
    wait_http,
)
from bench.web_history import PEOPLE, SERVICES, ZONES, Seeded, Shape, bench_now, seed

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
CLIENT_ID = "1000000001.2000000009"
CLIENT_SECRET = "bench-web-client-secret"
SESSION_SECRET = "bench-web-session-secret-of-at-least-32-characters"
READER = PEOPLE[1]
REQUESTS = 60  # per path, after 3 to warm up
GOALS_MS = {"incidents_filtered": 150.0, "incident_page": 100.0, "insights_12_weeks": 500.0}


async def seed_history() -> tuple[Seeded, float]:
    from bot.store.connection import connect
    from bot.store.redis_store import RedisStore

    store = RedisStore(connect(REDIS_URL))
    started = time.monotonic()
    seeded = await seed(store, bench_now(), Shape())
    elapsed = time.monotonic() - started
    await store.aclose()
    return seeded, elapsed


async def sign_in(session: aiohttp.ClientSession, url: str, user: str) -> None:
    """Sign in through /auth/signin → the emulator's authorize page → /auth/callback."""
    start = await session.get(f"{url}/auth/signin", allow_redirects=False)
    assert start.status == 302, await start.text()
    chosen = await session.get(
        start.headers["Location"] + "&" + urlencode({"user": user}), allow_redirects=False
    )
    assert chosen.status == 302, await chosen.text()
    done = await session.get(chosen.headers["Location"], allow_redirects=False)
    assert done.status == 302, await done.text()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def timed(session: aiohttp.ClientSession, paths: list[str], must: str) -> dict[str, Any]:
    """Each path once, in turn (3 first to warm up); milliseconds per answer."""
    for path in paths[:3]:
        async with session.get(path) as r:
            await r.read()
    times: list[float] = []
    for path in paths[3:]:
        started = time.perf_counter()
        async with session.get(path) as r:
            body = await r.text()
        times.append((time.perf_counter() - started) * 1000)
        assert r.status == 200 and must in body, (path, r.status, body[:300])
    return {
        "requests": len(times), "p50_ms": round(percentile(times, 0.5), 1),
        "p95_ms": round(percentile(times, 0.95), 1), "max_ms": round(max(times), 1),
        "example": paths[3].split("://", 1)[-1].split("/", 1)[-1],
    }  # fmt: skip


async def measure(url: str, seeded: Seeded) -> dict[str, dict[str, Any]]:
    rng = random.Random(7)
    n = REQUESTS + 3
    filtered = [
        f"{url}/incidents?" + urlencode(
            {"severity": rng.choice("1234"), "status": "resolved", "service": SERVICES[i % 30]}
        )
        for i in range(n)
    ]  # fmt: skip
    pages = [f"{url}/incidents/{rng.choice(seeded.public)}" for _ in range(n)]
    insights = [f"{url}/insights?weeks=12"] * n
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        await sign_in(session, url, READER)
        return {
            "incidents_filtered": await timed(session, filtered, "</html>"),
            "incident_page": await timed(session, pages, "</html>"),
            "insights_12_weeks": await timed(session, insights, "<svg"),
        }


def prepare_workspace(emu: Any, seeded: Seeded) -> None:
    """The seeded people (with their time zones) and the private incidents' channels."""
    from sandbox.slack_emulator import BOT_USER_ID

    for n, person in enumerate(PEOPLE):
        emu.add_user(f"person{n}", f"Person {n}", tz=ZONES[n % len(ZONES)], user_id=person)
    for inc in seeded.private:
        members = [*inc.roles.values(), BOT_USER_ID]  # Slack: the bot must be in it
        emu.add_channel(inc.channel_name, members, is_private=True,
                        channel_id=inc.channel_id, creator=inc.declared_by)


def main() -> None:
    from sandbox.slack_emulator import SlackEmulator

    sync_redis.Redis.from_url(REDIS_URL).flushdb()
    emu = SlackEmulator(token=BOT_TOKEN)
    emu.start()
    proc = None
    try:
        seeded, seed_seconds = asyncio.run(seed_history())
        print(f"seeded {seeded.written} in {seed_seconds:.1f} s", flush=True)
        prepare_workspace(emu, seeded)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        emu.oidc.register_client(CLIENT_ID, CLIENT_SECRET, [f"{url}/auth/callback"])
        env = bot_env(
            emu.api_url, REDIS_URL, port, LOG_LEVEL="WARNING", SLACK_CLIENT_ID=CLIENT_ID,
            SLACK_CLIENT_SECRET=CLIENT_SECRET, WEB_BASE_URL=url,
            WEB_SESSION_SECRET=SESSION_SECRET, SLACK_OIDC_URL=f"{emu.base_url}/openid/connect/",
        )  # fmt: skip
        proc = start_process([str(INCIDENT_BOT), "serve"], env, log_path("web"))
        wait_http(f"{url}/healthz", proc, timeout=60)
        results = asyncio.run(measure(url, seeded))
    finally:
        if proc is not None:
            stop_process(proc)
        emu.stop()
        sync_redis.Redis.from_url(REDIS_URL).flushdb()
    written = seeded.written
    history = (
        f"{written['incidents']:,} incidents x 100 timeline events ({written['events']:,} "
        f"events, {written['action_items']:,} action items, {written['postmortems']:,} "
        f"postmortems, {written['private']} private) over 52 weeks, seeded through the store "
        f"in {seed_seconds:.0f} s"
    )
    checks = []
    for name, what in (
        ("incidents_filtered", "`/incidents` with a filter (severity, status, service)"),
        ("incident_page", "`/incidents/{id}`"),
        ("insights_12_weeks", "`/insights` over 12 weeks"),
    ):
        r = results[name]
        checks.append({
            "what": f"{what}, p95, signed in, one `serve` process",
            "numbers": f"p50 {r['p50_ms']} ms, max {r['max_ms']} ms over {r['requests']} "
            f"requests (e.g. `{r['example']}`); {history}",
            "value": r["p95_ms"], "unit": "ms", "goal": GOALS_MS[name], "op": "<=",
        })  # fmt: skip
    append_result({
        "bench": "web_app",
        "how": f"one `incident-bot serve` with the web app configured, a person signed in "
        f"through the emulator's Sign in with Slack, {REQUESTS} requests per path one at a "
        f"time after 3 to warm up; {history}",
        "seed_seconds": round(seed_seconds, 1), "written": written, "paths": results,
        "checks": checks,
    })  # fmt: skip


if __name__ == "__main__":
    main()
