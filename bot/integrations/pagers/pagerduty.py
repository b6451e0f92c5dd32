"""PagerDuty Events API v2 (POST /v2/enqueue): trigger and resolve alerts by dedup_key."""

from __future__ import annotations

from urllib.parse import urlsplit

from bot.integrations.http import ApiClient
from bot.integrations.pagers.base import Page

DEFAULT_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
SEVERITY = {1: "critical", 2: "error", 3: "warning", 4: "info"}
MAX_SUMMARY = 1024


def parse_routing_keys(value: str | None) -> dict[str, str]:
    """`service:key,service:key` → {service: key}; raises ValueError naming the bad entry."""
    keys: dict[str, str] = {}
    for part in (value or "").split(","):
        part = part.strip()
        if not part:
            continue
        target, sep, key = part.partition(":")
        if not sep or not target.strip() or not key.strip():
            raise ValueError(f"{part!r} is not service:routing_key")
        keys[target.strip().lower()] = key.strip()
    return keys


class PagerDutyPager:
    name = "PagerDuty"

    def __init__(
        self,
        *,
        routing_key: str | None,
        routing_keys: dict[str, str],
        events_url: str = DEFAULT_EVENTS_URL,
        client: ApiClient | None = None,
    ) -> None:
        self.default_key = routing_key
        self.keys = routing_keys
        parts = urlsplit(events_url)
        self.path = parts.path.lstrip("/") or "v2/enqueue"
        self.http = client or ApiClient("PagerDuty", f"{parts.scheme}://{parts.netloc}")

    def _key(self, target: str) -> str | None:
        return self.keys.get(target.lower(), self.default_key)

    def can_page(self, target: str) -> bool:
        return self._key(target) is not None

    async def trigger(self, page: Page) -> None:
        payload: dict[str, object] = {
            "summary": page.summary[:MAX_SUMMARY],
            "source": page.target,
            "severity": SEVERITY.get(page.severity, "error"),
            "component": page.target,
            "group": "incident-bot",
            "class": "incident",
            "custom_details": page.details,
        }
        body: dict[str, object] = {
            "routing_key": self._key(page.target),
            "event_action": "trigger",
            "dedup_key": page.dedup_key[:255],
            "payload": payload,
            "client": "incident-bot",
        }
        if page.link:
            body["links"] = [{"href": page.link, "text": "Incident channel"}]
        await self.http.request("POST", self.path, json=body, ok=(202,))

    async def resolve(self, dedup_key: str, target: str) -> None:
        body = {
            "routing_key": self._key(target),
            "event_action": "resolve",
            "dedup_key": dedup_key[:255],
        }
        await self.http.request("POST", self.path, json=body, ok=(202,))

    async def aclose(self) -> None:
        await self.http.aclose()
