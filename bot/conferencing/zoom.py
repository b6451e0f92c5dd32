"""Zoom: Server-to-Server OAuth (POST {ZOOM_OAUTH_URL}/oauth/token with
grant_type=account_credentials and the account id, basic auth with the app's client id and
secret; an hour's bearer token, no refresh token), then POST /v2/users/me/meetings: an
instant meeting (type 1) whose join_url goes in the channel."""

from __future__ import annotations

import time

from bot.conferencing.port import Meeting
from bot.errors import IntegrationError
from bot.integrations.http import ApiClient

DEFAULT_API_URL = "https://api.zoom.us"
DEFAULT_OAUTH_URL = "https://zoom.us"
TOPIC_MAX = 200  # Zoom's limit on a meeting topic
EARLY = 60.0


class ZoomConference:
    name = "zoom"
    label = "Zoom"

    def __init__(
        self,
        *,
        account_id: str,
        client_id: str,
        client_secret: str,
        api_url: str = DEFAULT_API_URL,
        oauth_url: str = DEFAULT_OAUTH_URL,
        timeout: float = 3.0,
        attempts: int = 2,
        budget: float = 4.0,
    ) -> None:
        self.account_id = account_id
        self._basic = (client_id, client_secret)
        self.oauth = ApiClient("Zoom", oauth_url, timeout=timeout, attempts=attempts,
                               budget=budget)
        self.api = ApiClient("Zoom", api_url, timeout=timeout, attempts=attempts,
                             budget=budget)
        self._token: str | None = None
        self._expires = 0.0

    async def _access_token(self) -> str:
        if self._token is not None and time.monotonic() < self._expires - EARLY:
            return self._token
        try:
            response = await self.oauth.request(
                "POST", "oauth/token",
                data={"grant_type": "account_credentials", "account_id": self.account_id},
                auth=self._basic,
            )
        except IntegrationError as exc:
            if exc.status in (400, 401):  # Zoom: invalid_client / invalid account
                raise IntegrationError(
                    "Zoom", f"the credentials were refused (HTTP {exc.status}); check "
                    "ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET",
                    status=401, retryable=False,
                ) from None
            raise
        doc = response.json()
        self._token = str(doc["access_token"])
        self._expires = time.monotonic() + float(doc.get("expires_in") or 3600)
        return self._token

    async def create(self, topic: str, request_id: str) -> Meeting:
        body = {
            "topic": topic[:TOPIC_MAX],
            "type": 1,
            "agenda": f"Incident call ({request_id})",
            "settings": {"join_before_host": True, "waiting_room": False},
        }
        for attempt in (1, 2):
            token = await self._access_token()
            try:
                response = await self.api.request(
                    "POST", "v2/users/me/meetings", json=body, ok=(201,),
                    headers={"Authorization": f"Bearer {token}"},
                )
            except IntegrationError as exc:
                if exc.status == 401 and attempt == 1:
                    self._token = None  # expired or revoked early: one new token
                    continue
                raise
            doc = response.json()
            return Meeting(url=str(doc["join_url"]), ref=str(doc["id"]))
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        await self.oauth.aclose()
        await self.api.aclose()
