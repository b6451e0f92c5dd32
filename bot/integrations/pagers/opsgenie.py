"""Opsgenie Alert API: create alerts with an alias (Opsgenie de-duplicates open alerts by
alias), close them by alias. Auth: `Authorization: GenieKey <key>`."""

from __future__ import annotations

from urllib.parse import quote

from bot.integrations.http import ApiClient
from bot.integrations.pagers.base import ALL_TARGETS, Page

DEFAULT_API_URL = "https://api.opsgenie.com"
PRIORITY = {1: "P1", 2: "P2", 3: "P3", 4: "P4"}
MAX_MESSAGE = 130
MAX_ALIAS = 512


class OpsgeniePager:
    name = "Opsgenie"

    def __init__(
        self, *, api_key: str, api_url: str = DEFAULT_API_URL, client: ApiClient | None = None
    ) -> None:
        self.http = client or ApiClient(
            "Opsgenie", api_url, headers={"Authorization": f"GenieKey {api_key}"}
        )

    def can_page(self, target: str) -> bool:
        return True  # routed by Opsgenie to the team named in `responders`

    async def trigger(self, page: Page) -> None:
        body: dict[str, object] = {
            "message": page.summary[:MAX_MESSAGE],
            "alias": page.dedup_key[:MAX_ALIAS],
            "description": "\n".join(f"{k}: {v}" for k, v in page.details.items()),
            "tags": ["incident-bot", page.target],
            "details": page.details,
            "entity": page.target,
            "source": "incident-bot",
            "priority": PRIORITY.get(page.severity, "P3"),
        }
        if page.target != ALL_TARGETS:  # else Opsgenie routes by the integration's team
            body["responders"] = [{"name": page.target, "type": "team"}]
        await self.http.request("POST", "v2/alerts", json=body, ok=(202,))

    async def resolve(self, dedup_key: str, target: str) -> None:
        await self.http.request(
            "POST",
            f"v2/alerts/{quote(dedup_key[:MAX_ALIAS], safe='')}/close",
            params={"identifierType": "alias"},
            json={"source": "incident-bot", "note": "Resolved in Slack"},
            ok=(202,),
        )

    async def aclose(self) -> None:
        await self.http.aclose()
