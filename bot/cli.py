"""`incident-bot`: serve (HTTP), socket (Socket Mode), check-config, and more."""

from __future__ import annotations

import asyncio
import logging
import sys

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


def require(settings: Settings, *names: str) -> None:
    for name in names:
        if not getattr(settings, name.lower()):
            typer.echo(f"incident-bot: setting {name} is required for this command", err=True)
            raise typer.Exit(2)


@cli.command()
def serve() -> None:
    """Serve Slack over HTTP on $PORT (POST /slack/events, GET /healthz)."""
    from bot.__main__ import run_http

    configure_logging()
    settings = settings_or_exit()
    require(settings, "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    asyncio.run(run_http(settings))


@cli.command()
def socket() -> None:
    """Serve Slack over Socket Mode (needs SLACK_APP_TOKEN; no public URL)."""
    from bot.__main__ import run_socket_mode

    configure_logging()
    settings = settings_or_exit()
    require(settings, "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")
    asyncio.run(run_socket_mode(settings))


def main() -> None:
    cli()
