"""How setting values are read from the environment: durations, working weeks, token shapes,
host lists. Each is an annotated type the Settings fields use, so a bad value is refused at
start with one line naming the setting (bot/settings.py: load_settings)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator
from pydantic_settings import NoDecode

from bot.workweek import parse_work_days

OFF_WORDS = ("", "off", "none", "no", "0")


def _work_days(value: object) -> object:
    """`mon-fri`, `sun-thu`, `mon,tue,wed,thu,sat`."""
    return parse_work_days(value) if isinstance(value, str) else value


def _duration(value: object) -> object:
    """`30m`, `2h`, `1d` (or seconds as a number); `off`/`none` for no duration."""
    if isinstance(value, str):
        from bot.errors import UsageError
        from bot.parsing import parse_duration

        if value.strip().lower() in OFF_WORDS:
            return None
        try:
            return parse_duration(value)
        except UsageError:
            raise ValueError("use a duration like 30m, 2h or 7d, or off") from None
    return value


def _short_duration(value: object) -> object:
    """`90s`, `10m`, `2h`, `1d` (`0s` allowed)."""
    if isinstance(value, str) and re.fullmatch(r"\d+[smhd]", value.strip()):
        amount, unit = int(value.strip()[:-1]), value.strip()[-1]
        return timedelta(seconds=amount * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit])
    return value


def _bot_token(value: str | None) -> str | None:
    if value is not None and not value.startswith("xoxb-"):
        raise ValueError("must be a bot token starting with xoxb-")
    return value


def _app_token(value: str | None) -> str | None:
    if value is not None and not value.startswith("xapp-"):
        raise ValueError("must be an app-level token starting with xapp-")
    return value


def _redis_url(value: str) -> str:
    if not value.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("must start with redis://, rediss:// or unix://")
    return value


def _business_days(value: object) -> object:
    """`2`, `2d` or `2bd`: business days."""
    if isinstance(value, str):
        return value.strip().lower().removesuffix("bd").removesuffix("d").strip()
    return value


def _host_ports(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    for part in value.split(","):
        host, _, port = part.strip().rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{part.strip()!r} is not host:port (want host:port,host:port,…)")
    return value


def _channel_name(value: str) -> str:
    return value.lstrip("#")


def _routing_keys(value: str | None) -> str | None:
    from bot.integrations.pagers.pagerduty import parse_routing_keys

    parse_routing_keys(value)  # raises ValueError naming the bad entry
    return value


def _prometheus_servers(value: str | None) -> str | None:
    from bot.metrics.sources import parse_prometheus_urls

    if value is None or not value.strip():
        return None
    parse_prometheus_urls(value)  # raises ValueError naming the bad entry
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]
OptionalDuration = Annotated[timedelta | None, BeforeValidator(_duration)]
ShortDuration = Annotated[timedelta, BeforeValidator(_short_duration)]
WorkDays = Annotated[frozenset[int], NoDecode, BeforeValidator(_work_days)]
BotToken = Annotated[str | None, AfterValidator(_bot_token)]
AppToken = Annotated[str | None, AfterValidator(_app_token)]
RedisUrl = Annotated[str, AfterValidator(_redis_url)]
BusinessDays = Annotated[int, BeforeValidator(_business_days)]
HostPorts = Annotated[str | None, AfterValidator(_host_ports)]
ChannelName = Annotated[str, AfterValidator(_channel_name)]
RoutingKeys = Annotated[str | None, AfterValidator(_routing_keys)]
PrometheusServers = Annotated[str | None, AfterValidator(_prometheus_servers)]
