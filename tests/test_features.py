"""Features install themselves (bot/features.py): each one's flow steps and guards are
registered from its own package, by its `install`, and nothing registers them from outside
(bot/wiring.py only lists the installs)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.features import Composition, Installed
from bot.incidents.flows import Change, IncidentFlows, Outcome
from bot.settings import Settings
from bot.wiring import FEATURES, compose

ROOT = Path(__file__).resolve().parent.parent
EVERYTHING = {  # every optional feature configured (nothing is called while composing)
    "slack_bot_token": "xoxb-test",
    "slack_signing_secret": "secret",
    "prometheus_url": "http://127.0.0.1:9",
    "snapshot_on_declare": True,
    "pagerduty_routing_key": "routing-key",
    "github_token": "token",
    "github_repo": "example/repo",
}


def package_of(module: str) -> str:
    """`bot.patterns.install` -> `bot.patterns`."""
    return ".".join(module.split(".")[:2])


def outside_their_package(features: list[Installed], flows: IncidentFlows) -> list[str]:
    """Each registered step or guard, when it was not registered by an install, or when
    its function or its registration lives outside that install's package."""
    claimed = {id(r) for feature in features for r in feature.registrations}
    problems = [
        f"{r.kind} {r.change.value}/{r.name!r} registered by {r.registered_by}, not an install"
        for r in flows.registrations
        if id(r) not in claimed
    ]
    for feature in features:
        for r in feature.registrations:
            for where in (r.function, r.registered_by):
                if package_of(where) != feature.package:
                    problems.append(
                        f"{feature.name}: {r.kind} {r.change.value}/{r.name!r} comes from "
                        f"{where}, outside {feature.package}"
                    )
    return problems


@pytest.fixture
async def composed(redis_url: str) -> AsyncIterator[Composition]:
    done = compose(Settings.model_validate({**EVERYTHING, "redis_url": redis_url}))
    yield done
    await done.services.store.aclose()


async def test_every_step_and_guard_comes_from_its_features_own_package(
    composed: Composition,
) -> None:
    flows = composed.services.flows
    names = [f.name for f in composed.features]
    assert names == [
        "lifecycle", "postmortem", "patterns", "metric checks", "updates", "integrations",
        "web", "insights", "webhooks",
    ]
    assert len(flows.registrations) > 40
    assert outside_their_package(composed.features, flows) == []
    by_name = {f.name: f for f in composed.features}
    assert {(r.change, r.name) for r in by_name["metric checks"].registrations} == {
        (Change.DECLARED, "metrics snapshot"),
        (Change.RESOLVED, "metrics still bad"),
        (Change.DECLARED, "impact start from metrics"),
        (Change.RESOLVED, "relapse watch"),
        (Change.RESOLVED, "error budget consumed"),
        (Change.REOPENED, "end relapse watch"),
    }
    services = composed.services
    assert services.metrics is not None and services.patterns is not None
    assert services.paging is not None and services.tracking is not None
    assert {j.name for j in composed.jobs} == {
        "relapse_watch", "incident_watch", "update_fanout", "integration_retries", "tracker_sync"
    }
    routes = {r.path for f in composed.features for r in f.routes}  # type: ignore[attr-defined]
    assert {"/alertmanager", "/webhooks/pagerduty", "/webhooks/opsgenie"} <= routes


async def test_a_step_registered_from_outside_its_package_is_named(
    composed: Composition,
) -> None:
    async def verify(outcome: Outcome) -> None:
        return None

    flows = composed.services.flows
    flows.after(Change.RESOLVED, "verify", verify)  # as a composition root would
    problems = outside_their_package(composed.features, flows)
    assert problems == [
        "step resolved/'verify' registered by tests.test_features, not an install"
    ]
    patterns = next(f for f in composed.features if f.name == "patterns")
    patterns.registrations.append(flows.registrations[-1])  # claimed by the wrong package
    assert outside_their_package(composed.features, flows) == [
        "patterns: step resolved/'verify' comes from tests.test_features, outside bot.patterns",
        "patterns: step resolved/'verify' comes from tests.test_features, outside bot.patterns",
    ]


async def test_unconfigured_features_are_absent(redis_url: str) -> None:
    bare = {"slack_bot_token": "xoxb-test", "redis_url": redis_url, "prometheus_url": None}
    done = compose(Settings.model_validate(bare))
    try:
        names = {f.name for f in done.features}
        assert not names & {"metric checks", "integrations"}
        services = done.services
        assert services.metrics is None and services.paging is None and services.tracking is None
        assert all(not r.name.startswith("metrics") for r in services.flows.registrations)
    finally:
        await done.services.store.aclose()


def test_the_composition_root_is_a_short_list_of_installs() -> None:
    wiring = (ROOT / "bot" / "wiring.py").read_text()
    assert len(wiring.splitlines()) <= 150
    assert "flows.after(" not in wiring and "flows.guard(" not in wiring
    assert all(install.__name__ == "install" for install in FEATURES)


async def test_a_new_features_routes_listeners_and_web_setup_reach_the_app(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a later package (the web app, a status page) hands back is served."""
    from aiohttp import web

    from bot import wiring
    from bot.features import InstallContext

    seen: list[str] = []

    async def page(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    def install(ctx: InstallContext) -> Installed:
        return Installed(
            "status page",
            routes=[web.get("/status-page", page)],
            listeners=[lambda app, services: seen.append("listeners")],
            web_setup=[lambda app: seen.append(f"setup {len(app.router.routes())}")],
        )

    monkeypatch.setattr(wiring, "FEATURES", [*FEATURES, install])
    bot = wiring.build_bot(Settings.model_validate({**EVERYTHING, "redis_url": redis_url}))
    try:
        paths = {r.resource.canonical for r in bot.web_app.router.routes() if r.resource}
        assert "/status-page" in paths and "/slack/events" in paths
        assert seen[0] == "listeners" and seen[1].startswith("setup ")
        assert bot.features[-1].name == "status page"
    finally:
        await bot.services.store.aclose()
