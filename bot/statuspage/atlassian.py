"""Atlassian Statuspage's REST API v1 (`Authorization: OAuth <key>`) through the shared
integration client (bot/integrations/http.py: 429 and 5xx retried honouring Retry-After,
other refusals not, no credential logged)."""

from __future__ import annotations

from typing import Any

from bot.integrations.http import ApiClient


class StatuspageApi:
    def __init__(self, *, api_key: str, page_id: str, api_url: str) -> None:
        self.page_id = page_id
        self.client = ApiClient("Statuspage", api_url,
                                headers={"Authorization": f"OAuth {api_key}"})

    async def create_incident(self, incident: dict[str, Any]) -> str:
        answer = await self.client.request("POST", f"pages/{self.page_id}/incidents",
                                           json={"incident": incident})
        return str(answer.json()["id"])

    async def update_incident(self, remote_id: str, incident: dict[str, Any]) -> None:
        await self.client.request("PATCH", f"pages/{self.page_id}/incidents/{remote_id}",
                                  json={"incident": incident})

    async def set_component(self, component_id: str, status: str) -> None:
        await self.client.request("PATCH", f"pages/{self.page_id}/components/{component_id}",
                                  json={"component": {"status": status}})

    async def aclose(self) -> None:
        await self.client.aclose()
