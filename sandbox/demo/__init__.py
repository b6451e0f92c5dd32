"""`make run` without Slack credentials: play a scenario — a file of steps in
sandbox/demo/scenarios/ (how to write one: the README there) — against the bundled local
workspace, then print what every channel saw.

The bot is driven exactly as Slack drives it: signed requests to its real HTTP endpoint, over
a real Redis and a real Prometheus. `run_demo` returns 0 when every step did and showed what
its scenario says, 1 when a step failed (it is named, with what was missing), 2 when a local
prerequisite (Redis, Prometheus) or the scenario file itself is missing or wrong."""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


def _redis_problem(url: str) -> str | None:
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


def _prerequisites(redis_url: str, needs_prometheus: bool) -> str | None:
    from sandbox.prometheus_scenario import PrometheusNotInstalled, find_binaries

    if needs_prometheus:
        try:
            find_binaries()
        except PrometheusNotInstalled:
            return ("the demo needs a real Prometheus and `prometheus`/`promtool` are not on "
                    "PATH: install them with `apt-get install prometheus`.")
    down = _redis_problem(redis_url)
    if down is not None:
        return (f"Redis is not reachable at {redis_url} ({down}). Start it with `apt-get "
                "install redis-server && redis-server --daemonize yes` (or set REDIS_URL).")
    return None


async def run_demo(
    out_dir: str = "out", redis_url: str | None = None, scenario: str = "seed",
    serve: Callable[[Any, str | None], Awaitable[None]] | None = None,
) -> int:
    """Play the scenario (a name in sandbox/demo/scenarios/ or a .yml path). With `serve`,
    the world stays up after the transcript while `serve(world, incident_id)` runs (`make
    run` waits for Ctrl-C, so a newcomer can open the web app)."""
    from sandbox.demo.actions import ACTIONS
    from sandbox.demo.play import Player
    from sandbox.demo.scenario import ScenarioError, load
    from sandbox.demo.transcript import print_transcript
    from sandbox.demo.world import World

    try:
        plan = load(scenario, set(ACTIONS))
    except ScenarioError as exc:
        print(f"incident-bot demo: {exc}")
        return 2
    redis_url = redis_url or os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    problem = _prerequisites(redis_url, plan.prometheus is not None)
    if problem is not None:
        print(f"incident-bot demo: {problem}")
        return 2

    print("== incident-bot local demo: the bundled workspace, no Slack credentials needed ==")
    print(f"Redis: {redis_url} (this database only was flushed for the demo)")
    _flush(redis_url)
    started = time.monotonic()
    async with World(redis_url, plan.prometheus, plan.standins, plan.settings) as world:
        print(world.describe())
        print(f"Scenario: {scenario} ({plan.about})")
        print("\n-- playing the incident --")
        player = Player(world, plan, Path(out_dir), ACTIONS)
        failures = await player.play()
        await world.driver.settle()
        print_transcript(world.emulator, player.names)
        for path in player.saved:
            print(f"\n{path.stem.split('-')[0].capitalize()} written to {path}")
        if failures:
            print(f"\n{len(failures)} step(s) failed:")
            for failure in failures:
                print(f"  - {failure}")
        else:
            print("\nEvery step worked.")
        print(f"(demo took {time.monotonic() - started:.1f}s)")
        if serve is not None:  # the summary first, then the web app until it is stopped
            print("\n-- the web app, until you stop the demo --")
            print("\n".join(world.web_links(player.incident)))
            await serve(world, player.incident)
    return 1 if failures else 0
