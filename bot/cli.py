"""`incident-bot`: serve (HTTP), socket (Socket Mode), check-config, and more."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import structlog
import typer

from bot.settings import Settings, SettingsError, load_settings

cli = typer.Typer(add_completion=False, help="Self-hosted Slack incident commander.")


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
    )


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        typer.echo(f"incident-bot: {exc}", err=True)
        raise typer.Exit(2) from None


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop where it is installed (the `fast` extra; the Docker image has
    it), else None: asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run_or_exit(job: Coroutine[Any, Any, None]) -> None:
    """Run a process (on uvloop where installed); Redis settings that do not match the
    servers end it with one line."""
    from bot.store.connection import RedisSetupError

    try:
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            runner.run(job)
    except RedisSetupError as exc:
        typer.echo(f"incident-bot: {exc}", err=True)
        raise typer.Exit(2) from None


def require(settings: Settings, *names: str) -> None:
    for name in names:
        if not getattr(settings, name.lower()):
            typer.echo(f"incident-bot: setting {name} is required for this command", err=True)
            raise typer.Exit(2)


@cli.command()
def serve() -> None:
    """Serve Slack over HTTP on $PORT (POST /slack/events, GET /healthz)."""
    from bot.runners import run_http

    settings = settings_or_exit()
    configure_logging(settings.log_level)
    require(settings, "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    run_or_exit(run_http(settings))


@cli.command()
def socket() -> None:
    """Serve Slack over Socket Mode (needs SLACK_APP_TOKEN; no public URL)."""
    from bot.runners import run_socket_mode

    settings = settings_or_exit()
    configure_logging(settings.log_level)
    require(settings, "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")
    run_or_exit(run_socket_mode(settings))


def main() -> None:
    cli()


@cli.command()
def worker() -> None:
    """Run the worker (APScheduler): reminders, escalations, weekly digest, the followers' DMs
    queued by updates, update cadence and nudges, and the features' own jobs."""
    from bot.runners import run_worker_process

    settings = settings_or_exit()
    configure_logging(settings.log_level)
    require(settings, "SLACK_BOT_TOKEN")
    run_or_exit(run_worker_process(settings))


@cli.command()
def export(
    incident_id: str,
    fmt: str = typer.Option("md", "--format", help="output format (md)"),
    output: str | None = typer.Option(None, "--output", "-o", help="file to write"),
    include_private: bool = typer.Option(
        False, "--include-private", help="include a private incident's content"
    ),
    reader: str | None = typer.Option(
        None, "--as", help="export as this Slack user (U…) may read it: a private incident "
        "in full for its channel's members and ADMIN_USERGROUP, else its label"
    ),
) -> None:
    """Write an incident's postmortem (the stored draft, or a fresh one). A private
    incident is marked and its content omitted unless `--as` names someone who may read it
    or --include-private is given."""
    from bot.errors import IncidentBotError
    from bot.export import export_postmortem

    settings = settings_or_exit()
    try:
        text = asyncio.run(
            export_postmortem(
                settings, incident_id.upper(), fmt, include_private=include_private, reader=reader
            )
        )
    except IncidentBotError as exc:
        typer.echo(f"incident-bot: {exc.message}", err=True)
        raise typer.Exit(1) from None
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
        typer.echo(f"wrote {output}")
    else:
        typer.echo(text)


@cli.command("check-config")
def check_config() -> None:
    """Validate settings and reach Slack, Redis, Prometheus and Anthropic; say which fails."""
    from bot.health import check_everything

    settings = settings_or_exit()
    results = asyncio.run(check_everything(settings))
    failed = False
    for name, ok, detail in results:
        failed |= ok is False
        mark = "ok  " if ok else ("skip" if ok is None else "FAIL")
        typer.echo(f"{mark} {name}: {detail}")
    raise typer.Exit(1 if failed else 0)


@cli.command("slack-access")
def slack_access(
    clear: bool = typer.Option(
        False, "--clear", help="use Slack again (after a reinstall gave this token back)"
    ),
) -> None:
    """Whether the bot stopped calling Slack for SLACK_BOT_TOKEN after an uninstall or a
    revoked token (every process reads this mark in Redis); --clear removes it."""
    from bot.errors import IncidentBotError
    from bot.store.connection import db_for
    from bot.store.slack_access import SlackAccessStore

    settings = settings_or_exit()
    require(settings, "SLACK_BOT_TOKEN")
    token = str(settings.slack_bot_token)

    async def look() -> str | None:
        store = SlackAccessStore(db_for(settings.redis_config()))
        try:
            reason = await store.lost(token)
            if clear and reason is not None:
                await store.clear(token)
            return reason
        finally:
            await store.aclose()

    try:
        reason = asyncio.run(look())
    except IncidentBotError as exc:
        typer.echo(f"incident-bot: {exc.message}", err=True)
        raise typer.Exit(1) from None
    if reason is None:
        typer.echo("Slack access: ok (no uninstall or revoked token remembered)")
    elif clear:
        typer.echo(f"Slack access: cleared (was lost: {reason})")
    else:
        typer.echo(f"Slack access: lost ({reason}); --clear after a reinstall")
        raise typer.Exit(1)


@cli.command()
def healthcheck(
    worker: bool = typer.Option(False, "--worker", help="probe the worker (WORKER_PORT)"),
) -> None:
    """Exit 0 when this host's bot process answers GET /healthz with 200 (Docker HEALTHCHECK)."""
    import urllib.error
    import urllib.request

    settings = settings_or_exit()
    port = settings.worker_port if worker else settings.port
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            typer.echo(answer.read().decode())
    except urllib.error.HTTPError as exc:
        typer.echo(f"incident-bot: {url} answered {exc.code}: {exc.read().decode()}", err=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        typer.echo(f"incident-bot: {url} unreachable: {exc}", err=True)
        raise typer.Exit(1) from None


@cli.command()
def run(
    scenario: str = typer.Option(
        "seed",
        "--scenario",
        help="demo only: a scenario of sandbox/demo/scenarios/ (seed, otel, micrometer…) or "
        "the path of a scenario file",
    ),
    worker: bool = typer.Option(
        True, "--worker/--no-worker",
        help="with credentials: run the worker in this process too (default)",
    ),
) -> None:
    """`make run`: real workspace with credentials, else the bundled local workspace demo.
    With credentials the worker runs in the same process (reminders, the followers' DMs,
    nudges), so one command runs the whole bot; `--no-worker` when `incident-bot worker`
    runs elsewhere (and to scale out: `serve`/`socket` and `worker` as separate processes)."""
    settings = settings_or_exit()
    if settings.slack_bot_token and (settings.slack_app_token or settings.slack_signing_secret):
        from bot.runners import run_http, run_socket_mode, run_together, run_worker_process

        configure_logging(settings.log_level)
        chat = run_socket_mode(settings) if settings.slack_app_token else run_http(settings)
        run_or_exit(run_together(chat, run_worker_process(settings)) if worker else chat)
    else:
        from sandbox.demo import run_demo

        configure_logging("WARNING")
        raise typer.Exit(asyncio.run(run_demo(scenario=scenario, serve=until_stopped)))


async def until_stopped(world: object, incident_id: str | None) -> None:
    """`make run`'s demo stays up after its transcript (the web app), until Ctrl-C."""
    print("\nOpen a link above in a browser on this machine; Ctrl-C stops the demo.")
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        print("demo stopped")


@cli.command()
def docs(
    check: bool = typer.Option(False, "--check", help="only say which pages are stale"),
) -> None:
    """Rewrite the pages generated from the code (docs/settings.md, docs/commands.md…);
    `make docs` runs this."""
    from bot.docs.__main__ import main as docs_main

    raise typer.Exit(docs_main(["--check"] if check else []))


metrics_cli = typer.Typer(add_completion=False, help="Metric checks: see what Prometheus has.")
cli.add_typer(metrics_cli, name="metrics")


@metrics_cli.command("discover")
def metrics_discover(
    write: str | None = typer.Option(
        None, "--write", help="write the bindings as YAML to FILE (edit it, pass as METRICS_CONFIG)"
    ),
) -> None:
    """Ask Prometheus (PROMETHEUS_URL or PROMETHEUS_URLS) which services and conventions it has."""
    from bot.metrics.discovery import pins_yaml
    from bot.metrics.install import build_metrics
    from bot.metrics.render_discovery import render_fleet_discovery
    from bot.metrics.sources import prometheus_servers

    settings = settings_or_exit()
    servers = prometheus_servers(settings)
    if not servers:
        require(settings, "PROMETHEUS_URL")
    if write and len(servers) > 1:
        typer.echo(
            "incident-bot: --write pins one server's bindings: run it with PROMETHEUS_URL "
            "set to that server",
            err=True,
        )
        raise typer.Exit(2)
    service = build_metrics(settings, clock=lambda: datetime.now(UTC))
    assert service is not None
    fleet = asyncio.run(service.fleet())
    if not fleet.up:
        typer.echo(f"incident-bot: {'; '.join(fleet.down.values())}", err=True)
        raise typer.Exit(1)
    typer.echo(render_fleet_discovery(fleet, service.config.slos))
    if write:
        found = fleet.members[0].bindings
        assert found is not None
        with open(write, "w", encoding="utf-8") as fh:
            fh.write(pins_yaml(found, next(iter(servers.values()))))
        typer.echo(f"wrote {write}: edit it and set METRICS_CONFIG={write}")


status_cli = typer.Typer(add_completion=False, help="The status page (STATUS_PAGE_COMPONENTS).")
cli.add_typer(status_cli, name="status-page")


@status_cli.command("suggest")
def status_page_suggest(
    write: str | None = typer.Option(
        None, "--write", help="write the components file to FILE (else print it)"
    ),
) -> None:
    """A starting components file from the services metrics discovery finds in Prometheus
    (PROMETHEUS_URL or PROMETHEUS_URLS): one component per service, to rename, group and mark
    internal."""
    from bot.metrics.install import build_metrics
    from bot.metrics.sources import prometheus_servers
    from bot.statuspage.components import suggest_yaml

    settings = settings_or_exit()
    if not prometheus_servers(settings):
        require(settings, "PROMETHEUS_URL")
    service = build_metrics(settings, clock=lambda: datetime.now(UTC))
    assert service is not None
    fleet = asyncio.run(service.fleet())
    if not fleet.up:
        typer.echo(f"incident-bot: {'; '.join(fleet.down.values())}", err=True)
        raise typer.Exit(1)
    services = sorted({s for m in fleet.members if m.bindings for s in m.bindings.services})
    text = suggest_yaml(services)
    if not write:
        typer.echo(text, nl=False)
        return
    with open(write, "w", encoding="utf-8") as fh:
        fh.write(text)
    typer.echo(f"wrote {write} ({len(services)} services): edit it and set "
               f"STATUS_PAGE_COMPONENTS={write}")
