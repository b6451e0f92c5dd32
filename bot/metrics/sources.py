"""Which Prometheus servers the bot reads: PROMETHEUS_URL (one) or PROMETHEUS_URLS
(`eu=http://…,us=http://…`, several by name). Any server speaking Prometheus's HTTP query
API works: Prometheus, VictoriaMetrics, Thanos Query, Mimir."""

from __future__ import annotations

import re
from typing import Protocol
from urllib.parse import urlparse

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def parse_prometheus_urls(text: str) -> dict[str, str]:
    """`eu=http://a:9090,us=http://b:9090` → {"eu": …, "us": …}; ValueError naming the
    bad entry."""
    servers: dict[str, str] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, url = part.partition("=")
        name, url = name.strip(), url.strip()
        if not sep or not _NAME.match(name):
            raise ValueError(f"{part!r} is not name=URL (want eu=http://…,us=http://…)")
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"{name}: {url!r} is not an http(s) URL")
        if name in servers:
            raise ValueError(f"{name!r} is named twice")
        servers[name] = url.rstrip("/")
    if not servers:
        raise ValueError("name at least one server: eu=http://…")
    return servers


class ServerSettings(Protocol):
    """The two settings naming the servers (bot.settings.Settings has both)."""

    @property
    def prometheus_urls(self) -> str | None: ...

    @property
    def prometheus_url(self) -> object | None: ...


def prometheus_servers(settings: ServerSettings) -> dict[str, str]:
    """The servers to read, by name ("" for the one PROMETHEUS_URL); empty: none."""
    if settings.prometheus_urls:
        return parse_prometheus_urls(settings.prometheus_urls)
    if settings.prometheus_url is not None:
        return {"": str(settings.prometheus_url).rstrip("/")}
    return {}
