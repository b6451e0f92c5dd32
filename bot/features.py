"""How a feature plugs into the bot: one `install(ctx)` per feature package.

Every optional capability (patterns, metric checks, status updates, paging and tracking,
postmortems, the webhooks, and later the web app, the status page, publishing…) is a
package under `bot/` with one entry point, in its `install.py`::

    from bot.features import InstallContext, Installed

    def install(ctx: InstallContext) -> Installed | None:
        if ctx.settings.statuspage_url is None:
            return None  # not configured: absent, and nothing else changes
        pages = StatusPages(store=ctx.store, clock=ctx.clock)

        async def publish(outcome: Outcome) -> None:  # the feature's own logic, here
            await pages.publish(outcome.incident)

        ctx.flows.after(Change.RESOLVED, "status page", publish,
                        warning="could not update the status page")
        return Installed(
            "statuspage",
            provides={"statuspage": pages},   # becomes services.statuspage for commands
            jobs=[PeriodicJob("statuspage_sync", pages.sync, every=60)],
            routes=[web.get("/status", pages.page)],
            listeners=[register],             # def register(app, services) -> None
        )

What `ctx` holds (`InstallContext`): the settings, the injected clock, the Redis store, the
Slack gateway, the incident flows (register steps with `ctx.flows.after`, guards with
`ctx.flows.guard`: see bot/incidents/flows.py) and `services`, the `Services` built so far,
so a feature can use the ones installed before it (`ctx.services.actions`, …).

What a feature hands back (`Installed`):

* `provides`: its services by `Services` field name (declare the field, typed and
  defaulting to None, in bot/services.py); commands reach them as `services.<name>` and
  say plainly when one is absent (`services.has("<name>")`);
* `jobs`: the worker's periodic jobs (bot/worker.py `PeriodicJob`);
* `listeners`: `register(app, services)` functions adding Slack listeners (commands/ holds
  the listeners of the features that are always listed, as they answer "not configured"
  themselves); they are registered after commands/ and before the catch-all;
* `routes`: aiohttp routes for the HTTP server (webhooks, web pages);
* `web_setup`: functions given the HTTP server's `web.Application` once it is built, for
  what routes alone cannot do (middlewares, templates, startup and cleanup hooks);
* `registrations`: the flow steps and guards it registered, filled in by `install_all`
  from what the install did (tests check each lives in, and was registered from, the
  feature's own package).

Return None when the feature is not configured. Half-configured is a start-up error
(bot/settings.py says which setting is missing). Installs run in the order bot/wiring.py
lists them; that order is the order of the steps each change runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

from aiohttp import web

from bot.clock import Clock
from bot.incidents.flows import IncidentFlows, Registration
from bot.incidents.service import AdminCheck
from bot.services import Services
from bot.settings import Settings
from bot.slack.gateway import SlackGateway
from bot.store.redis_store import RedisStore
from bot.worker import PeriodicJob

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

Register = Callable[["AsyncApp", Services], None]
WebSetup = Callable[[web.Application], None]


@dataclass
class InstallContext:
    """What an install may use: the adapters, the flows and the services built so far."""

    settings: Settings
    clock: Clock
    store: RedisStore
    chat: SlackGateway
    flows: IncidentFlows
    services: Services
    is_admin: AdminCheck


@dataclass
class Installed:
    """What one feature added (see the module docstring)."""

    name: str
    provides: dict[str, object] = field(default_factory=dict)
    jobs: list[PeriodicJob] = field(default_factory=list)
    listeners: list[Register] = field(default_factory=list)
    routes: Sequence[web.AbstractRouteDef] = field(default_factory=list)
    web_setup: list[WebSetup] = field(default_factory=list)
    registrations: list[Registration] = field(default_factory=list)
    package: str = ""  # the install's package, e.g. "bot.patterns" (set by install_all)


@dataclass
class Composition:
    """The services with every feature installed, and what the features added."""

    services: Services
    features: list[Installed] = field(default_factory=list)

    @property
    def jobs(self) -> list[PeriodicJob]:
        return [job for feature in self.features for job in feature.jobs]

    @property
    def routes(self) -> list[web.AbstractRouteDef]:
        return [route for feature in self.features for route in feature.routes]

    @property
    def web_setup(self) -> list[WebSetup]:
        return [setup for feature in self.features for setup in feature.web_setup]

    @property
    def listeners(self) -> list[Register]:
        return [register for feature in self.features for register in feature.listeners]


Install = Callable[[InstallContext], "Installed | None"]


def install_all(ctx: InstallContext, installs: Sequence[Install]) -> list[Installed]:
    """Run the installs in order; each one's services go onto `ctx.services` before the
    next runs. Returns what was installed (unconfigured features are left out)."""
    optional = {f.name for f in fields(Services)}
    done: list[Installed] = []
    for install in installs:
        start = len(ctx.flows.registrations)
        installed = install(ctx)
        if installed is None:
            if len(ctx.flows.registrations) != start:
                raise RuntimeError(f"{install.__module__} registered steps but returned None")
            continue
        installed.registrations = ctx.flows.registrations[start:]
        installed.package = install.__module__.rpartition(".")[0]
        for name, service in installed.provides.items():
            if name not in optional or getattr(ctx.services, name) is not None:
                raise RuntimeError(f"{installed.name} provides {name!r}: no free Services field")
            setattr(ctx.services, name, service)
        done.append(installed)
    return done
