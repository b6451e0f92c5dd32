"""The local world a scenario plays in: the Slack Web API emulator, a real Redis database
(flushed), a real Prometheus over one of sandbox/scenarios.py's worlds, the stand-ins the
scenario names, and the bot itself built from settings that point at all of them, serving
signed requests on a free port.

A new stand-in is one entry in STANDINS: how to build it, the settings that point the bot at
it, and what it holds (the lines a `shows: - in: <name>` check searches, and prints)."""

from __future__ import annotations

import inspect
import secrets
import socket
from collections.abc import Callable
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.clock import ManualClock

# The play starts 2 minutes before the Prometheus world's "now" and moves on its 30 s grid,
# so `/metrics correlate` after a few steps runs exactly at "now" (the seed-000 table).
PLAY_START = timedelta(minutes=2)


@dataclass(frozen=True)
class StandinKind:
    name: str  # the product, e.g. "PagerDuty"
    label: str  # how the demo names what it holds, e.g. "PagerDuty (stand-in) paged"
    build: Callable[[], Any]
    settings: Callable[[Any], dict[str, object]]
    holds: Callable[[Any], list[str]]


def _pagerduty() -> StandinKind:
    from sandbox.standins import PagerDutyStandin

    return StandinKind(
        "PagerDuty",
        "PagerDuty (stand-in) paged",
        PagerDutyStandin,
        lambda pd: {
            "pagerduty_routing_key": next(iter(pd.routing_keys)),
            "pagerduty_events_url": f"{pd.base_url}/v2/enqueue",
        },
        lambda pd: sorted(pd.triggered()),
    )


def _jira() -> StandinKind:
    from sandbox.standins import JiraStandin

    return StandinKind(
        "Jira",
        "tracked in Jira (stand-in)",
        lambda: JiraStandin(users={"bob@example.com": "jira-account-bob"}),
        lambda jira: {
            "jira_url": jira.base_url,
            "jira_email": jira.email,
            "jira_api_token": jira.api_token,
            "jira_project": jira.project,
        },
        lambda jira: [f"{key} {issue['fields'].get('summary', '')}".strip()
                      for key, issue in jira.issues.items()],
    )


def _confluence() -> StandinKind:
    from sandbox.standins import ConfluenceStandin

    def pages(wiki: Any) -> list[str]:
        return [f"{wiki.page_url(page_id)} (“{page['title']}”, page version {page['version']})"
                for page_id, page in wiki.pages.items() if page.get("parentId")]

    return StandinKind(
        "Confluence",
        "Postmortem published to Confluence (stand-in)",
        ConfluenceStandin,
        lambda wiki: {
            "confluence_url": wiki.base_url,
            "confluence_email": wiki.email,
            "confluence_api_token": wiki.api_token,
            "confluence_space_id": wiki.space_id,
            "confluence_parent_page_id": "65601",  # the stand-in's "Postmortems" page
        },
        pages,
    )


def _anthropic() -> StandinKind:
    from sandbox.anthropic_standin import AnthropicStandin

    return StandinKind(
        "Anthropic",
        "Anthropic (stand-in) answered",
        AnthropicStandin,
        lambda model: {"anthropic_api_key": model.api_key, "anthropic_base_url": model.base_url},
        lambda model: [f"{len(model.requests)} request(s)"],
    )


STANDINS: dict[str, Callable[[], StandinKind]] = {
    "anthropic": _anthropic,
    "pagerduty": _pagerduty,
    "jira": _jira,
    "confluence": _confluence,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class World:
    """Everything a scenario plays against; `async with World(...)` starts and stops it."""

    redis_url: str
    prometheus: str | None
    standin_names: list[str]
    extra_settings: dict[str, Any] = field(default_factory=dict)
    clock: ManualClock = field(default_factory=lambda: ManualClock(datetime.now(UTC)))
    standins: dict[str, tuple[StandinKind, Any]] = field(default_factory=dict)
    _sync: ExitStack = field(default_factory=ExitStack)
    _async: AsyncExitStack = field(default_factory=AsyncExitStack)

    async def __aenter__(self) -> World:
        from sandbox.slack_emulator import SlackEmulator

        try:
            self.emulator = SlackEmulator(clock=lambda: self.clock().timestamp())
            self.emulator.start()
            self._sync.callback(self.emulator.stop)
            for name in self.standin_names:
                kind = STANDINS[name]()
                standin = kind.build()
                standin.start()
                self._sync.callback(standin.stop)
                self.standins[name] = (kind, standin)
            self.prometheus_url = self._start_prometheus()
            await self._start_bot()
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self._async.aclose()
        finally:
            self._sync.close()

    def _start_prometheus(self) -> str | None:
        if self.prometheus is None:
            return None
        from sandbox.prometheus_scenario import PrometheusServer
        from sandbox.scenarios import openmetrics_for

        prom = PrometheusServer(openmetrics=openmetrics_for(self.prometheus))
        prom.start()
        self._sync.callback(prom.stop)
        assert prom.times is not None
        self.clock.set(prom.times.now - PLAY_START)
        return str(prom.url)

    async def _start_bot(self) -> None:
        from bot.runners import serve_http
        from bot.settings import Settings
        from bot.wiring import build_bot
        from sandbox.driver import SlackDriver

        secret = secrets.token_hex(16)
        port = free_port()
        self.web_url = f"http://127.0.0.1:{port}"
        client_id, client_secret = "1000000001.2000000002", secrets.token_hex(16)
        self.emulator.oidc.register_client(client_id, client_secret,
                                           [f"{self.web_url}/auth/callback"])
        values: dict[str, object] = {
            "slack_bot_token": self.emulator.bot_token,
            "slack_signing_secret": secret,
            "slack_api_url": self.emulator.api_url,
            "redis_url": self.redis_url,
            "prometheus_url": self.prometheus_url,
            "incidents_channel": "incidents",
            # the web app, signing in through the emulator's Sign in with Slack
            "slack_client_id": client_id,
            "slack_client_secret": client_secret,
            "web_base_url": self.web_url,
            "web_session_secret": secrets.token_hex(32),
            "slack_oidc_url": f"{self.emulator.base_url}/openid/connect/",
        }
        for kind, standin in self.standins.values():
            values.update(kind.settings(standin))
        values.update(self.extra_settings)
        self.settings = Settings.model_validate(values)
        self.bot = build_bot(self.settings, clock=self.clock)
        self._async.push_async_callback(self.bot.services.store.aclose)
        runner = await serve_http(self.bot, "127.0.0.1", port)
        self._async.push_async_callback(runner.cleanup)
        self.driver = SlackDriver(
            endpoint=f"http://127.0.0.1:{port}/slack/events",
            signing_secret=secret,
            emulator=self.emulator,
        )
        self._async.push_async_callback(self.driver.settle)

    async def settle(self) -> None:
        """Until the bot's work for the last request is done: Bolt's background listeners,
        then any service that works in the background and can say when it is done (e.g.
        publishing a postmortem)."""
        await self.driver.settle()
        for service in vars(self.bot.services).values():
            settle = getattr(service, "settle", None)
            if settle is not None and inspect.iscoroutinefunction(settle):
                await settle()

    def describe(self) -> str:
        """Where everything runs, for the first lines of the demo."""
        parts = [f"Slack (emulated): {self.emulator.api_url}"]
        if self.prometheus_url:
            parts.append(f"Prometheus: {self.prometheus_url}")
        parts += [f"{kind.name} (stand-in): {standin.base_url}"
                  for kind, standin in self.standins.values()]
        return "  ".join(parts[:3]) + ("\n" + "  ".join(parts[3:]) if parts[3:] else "")

    def web_links(self, incident_id: str | None) -> list[str]:
        """The web app's address and a sign-in link per person of the workspace (each
        lands on the demo incident's page), and the status page's."""
        page = f"/incidents/{incident_id}" if incident_id else "/incidents"
        lines = [f"Web app: {self.web_url}/incidents  (insights: {self.web_url}/insights)"]
        for user in self.emulator.users():
            if not user.is_bot:
                lines.append(f"  sign in as {user.name:<8} {self.web_url}/auth/signin?"
                             f"login_hint={user.id}&next={page}")
        if self.bot.services.statuspage is not None:
            lines.append(f"Status page: {self.web_url}/status (signed in, the internal one: "
                         f"{self.web_url}/status/internal)")
        return lines

    def user_id(self, name: str) -> str:
        for user in self.emulator.users():
            if user.name == name:
                return str(user.id)
        raise KeyError(f"no user {name!r} in the workspace")
