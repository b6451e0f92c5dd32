"""Zoom stand-in: Server-to-Server OAuth (`POST /oauth/token`, basic auth with the app's
client id and secret, `grant_type=account_credentials` and `account_id` in the query or the
form; an hour's bearer token) and `POST /v2/users/me/meetings` (201 with id, join_url,
start_url…). Errors in Zoom's shape: `{"code": …, "message": …}`; unknown fields and a topic
over 200 characters are `300 Validation Failed.`"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web
from pydantic import Field

from sandbox.standins.base import Handler, Standin, Strict


class _Settings(Strict):
    host_video: bool | None = None
    participant_video: bool | None = None
    join_before_host: bool | None = None
    mute_upon_entry: bool | None = None
    waiting_room: bool | None = None
    auto_recording: str | None = None
    audio: str | None = None


class _Meeting(Strict):
    topic: str = Field(default="Zoom Meeting", max_length=200)
    type: int = Field(default=2, ge=1, le=10)
    agenda: str | None = Field(default=None, max_length=2000)
    start_time: str | None = None
    duration: int | None = None
    timezone: str | None = None
    password: str | None = Field(default=None, max_length=10)
    default_password: bool | None = None
    settings: _Settings | None = None


@dataclass
class ZoomStandin(Standin):
    name: str = "zoom"
    account_id: str = "acct-Zx81"
    client_id: str = "zoom-client-id"
    client_secret: str = "zoom-client-secret"
    tokens: set[str] = field(default_factory=set)
    meetings: dict[int, dict[str, Any]] = field(default_factory=dict)

    def reset_state(self) -> None:
        self.tokens.clear()
        self.meetings.clear()

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [("POST", "/oauth/token", self._token),
                ("POST", "/v2/users/{user}/meetings", self._create)]

    def takes_raw(self, request: web.Request) -> bool:
        return request.path == "/oauth/token"

    def authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if request.path == "/oauth/token":
            basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
            return header == f"Basic {basic}"
        return header.startswith("Bearer ") and header[7:] in self.tokens

    @staticmethod
    def error(status: int, message: str, **extra: Any) -> web.Response:
        code = {401: 124, 404: 1001, 429: 429}.get(status, 300)
        return web.json_response({"code": code, "message": message, **extra}, status=status)

    def revoke_tokens(self) -> None:
        """Test control: every issued token stops working (as when the app is deactivated
        and activated again)."""
        self.tokens.clear()

    async def _token(self, request: web.Request, body: Any) -> web.Response:
        form = {k: v[0] for k, v in parse_qs((body or b"").decode()).items()}
        given = {**form, **dict(request.query)}
        if given.get("grant_type") != "account_credentials":
            return web.json_response({"reason": "Unsupported grant type",
                                      "error": "unsupported_grant_type"}, status=400)
        if given.get("account_id") != self.account_id:
            return web.json_response({"reason": "Invalid account_id",
                                      "error": "invalid_request"}, status=400)
        token = "zt_" + secrets.token_urlsafe(24)
        self.tokens.add(token)
        return web.json_response({"access_token": token, "token_type": "bearer",
                                  "expires_in": 3599, "scope": "meeting:write:admin",
                                  "api_url": self.base_url})

    async def _create(self, request: web.Request, body: Any) -> web.Response:
        if request.match_info["user"] != "me":
            return self.error(404, "User does not exist: " + request.match_info["user"])
        try:
            meeting = _Meeting.model_validate(body or {})
        except ValueError as exc:
            return self.error(400, "Validation Failed.", errors=[{"message": str(exc)[:200]}])
        number = 85_000_000_000 + len(self.meetings) + 1
        pwd = secrets.token_urlsafe(8)
        self.meetings[number] = meeting.model_dump(exclude_none=True)
        return web.json_response({
            "id": number, "uuid": base64.b64encode(secrets.token_bytes(16)).decode(),
            "host_id": "host-0001", "topic": meeting.topic, "type": meeting.type,
            "status": "waiting", "agenda": meeting.agenda or "",
            "join_url": f"https://zoom.example/j/{number}?pwd={pwd}",
            "start_url": f"https://zoom.example/s/{number}?zak=secret",
            "password": pwd[:6], "settings": (meeting.settings or _Settings()).model_dump(),
        }, status=201)
