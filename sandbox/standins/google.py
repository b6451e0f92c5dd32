"""Google stand-in: the OAuth 2.0 token endpoint for service accounts (`POST /token`,
`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` and an RS256 `assertion` signed by
the account's key: iss, scope, aud = this token URI or Google's, iat/exp at most an hour
apart), Calendar
API v3 `events.insert` with a Meet conference (`conferenceDataVersion=1`) and `events.get`,
and Drive API v3 (bot/publishing's stand-in is in google_drive.py, on this same server).
Errors in Google's shape: `{"error": {"code", "message", "status"}}`; the token endpoint
answers `{"error": "invalid_grant", "error_description": …}`. `key_file()` writes a real
service-account key file (a fresh RSA key) for the bot to use."""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import Field

from sandbox.standins.base import Handler, Standin, Strict

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# google-auth always names Google's token endpoint as the audience, whatever token_uri says
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
SCOPES = {"https://www.googleapis.com/auth/calendar.events",
          "https://www.googleapis.com/auth/calendar",
          "https://www.googleapis.com/auth/drive.file",
          "https://www.googleapis.com/auth/drive"}


class _When(Strict):
    dateTime: str | None = None
    date: str | None = None
    timeZone: str | None = None


class _SolutionKey(Strict):
    type: str = Field(pattern="^(hangoutsMeet|eventHangout|eventNamedHangout|addOn)$")


class _CreateRequest(Strict):
    requestId: str = Field(min_length=1, max_length=1024)
    conferenceSolutionKey: _SolutionKey


class _ConferenceData(Strict):
    createRequest: _CreateRequest | None = None


class _Event(Strict):
    summary: str | None = Field(default=None, max_length=1024)
    description: str | None = Field(default=None, max_length=8192)
    location: str | None = None
    start: _When
    end: _When
    conferenceData: _ConferenceData | None = None
    visibility: str | None = None


def _letters(n: int) -> str:
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(n))


def _meet_code() -> str:
    return f"{_letters(3)}-{_letters(4)}-{_letters(3)}"


@dataclass
class GoogleStandin(Standin):
    name: str = "google"
    client_email: str = "incident-bot@acme-ops.iam.gserviceaccount.com"
    calendar_id: str = "incidents@acme.example"
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    tokens: dict[str, str] = field(default_factory=dict)  # token -> scope
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    conferences: dict[str, str] = field(default_factory=dict)  # requestId -> meet url
    pending_next: bool = False
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # Drive (google_drive.py)

    def reset_state(self) -> None:
        self.tokens.clear()
        self.events.clear()
        self.conferences.clear()
        self.files.clear()

    @property
    def token_uri(self) -> str:
        return f"{self.base_url}/token"

    def key_file(self, folder: Path, *, key: rsa.RSAPrivateKey | None = None) -> Path:
        """A service account key file as Google's console downloads it."""
        pem = (key or self.key).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        path = folder / "service-account.json"
        path.write_text(json.dumps({
            "type": "service_account", "project_id": "acme-ops",
            "private_key_id": "3f1c0ffee", "private_key": pem,
            "client_email": self.client_email, "client_id": "1098765",
            "auth_uri": "https://accounts.google.example/o/oauth2/auth",
            "token_uri": self.token_uri,
        }))
        return path

    def routes(self) -> list[tuple[str, str, Handler]]:
        from sandbox.standins.google_drive import drive_routes

        cal = "/calendar/v3/calendars/{calendar}/events"
        return [("POST", "/token", self._token), ("POST", cal, self._insert),
                ("GET", cal + "/{event}", self._get), *drive_routes(self)]

    def takes_raw(self, request: web.Request) -> bool:
        return request.path == "/token" or request.path.startswith("/upload/")

    def authorized(self, request: web.Request) -> bool:
        if request.path == "/token":
            return True  # the assertion is the credential
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and header[7:] in self.tokens

    def scope_of(self, request: web.Request) -> str:
        return self.tokens.get(request.headers.get("Authorization", "")[7:], "")

    @staticmethod
    def error(status: int, message: str, **extra: Any) -> web.Response:
        reason = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                  404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED"}.get(status, "UNKNOWN")
        return web.json_response(
            {"error": {"code": status, "message": message, "status": reason, **extra}},
            status=status,
        )

    @staticmethod
    def _grant_error(description: str) -> web.Response:
        return web.json_response({"error": "invalid_grant", "error_description": description},
                                 status=400)

    async def _token(self, request: web.Request, body: Any) -> web.Response:
        form = {k: v[0] for k, v in parse_qs((body or b"").decode()).items()}
        if form.get("grant_type") != JWT_BEARER:
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        try:
            claims = jwt.decode(
                form.get("assertion", ""), self.key.public_key(), algorithms=["RS256"],
                audience=[self.token_uri, GOOGLE_TOKEN_URI],
                options={"require": ["iss", "aud", "iat", "exp"]},
            )
        except jwt.InvalidTokenError:
            return self._grant_error("Invalid JWT Signature.")
        if claims["iss"] != self.client_email:
            return self._grant_error("Invalid JWT: iss is not the service account.")
        if int(claims["exp"]) - int(claims["iat"]) > 3600:
            return self._grant_error("Invalid JWT: expiration is more than an hour away.")
        scopes = set(str(claims.get("scope", "")).split())
        if not scopes or not scopes <= SCOPES:
            return web.json_response({"error": "invalid_scope"}, status=400)
        token = "ya29." + secrets.token_urlsafe(32)
        self.tokens[token] = " ".join(sorted(scopes))
        return web.json_response({"access_token": token, "expires_in": 3599,
                                  "token_type": "Bearer"})

    def _calendar_ok(self, request: web.Request) -> web.Response | None:
        if "calendar" not in self.scope_of(request):
            return self.error(403, "Request had insufficient authentication scopes.")
        if request.match_info["calendar"] != self.calendar_id:
            return self.error(404, "Not Found")
        return None

    def _view(self, event_id: str) -> dict[str, Any]:
        event = self.events[event_id]
        view = {"kind": "calendar#event", "id": event_id, "status": "confirmed",
                "htmlLink": f"https://calendar.google.example/event?eid={event_id}",
                **event["body"]}
        request = event.get("create")
        if request:
            url = self.conferences.get(request["requestId"])
            status = "pending" if url is None else "success"
            view["conferenceData"] = {"createRequest": {**request, "status": {
                "statusCode": status}}}
            if url:
                view["hangoutLink"] = url
                view["conferenceData"].update({
                    "entryPoints": [{"entryPointType": "video", "uri": url,
                                     "label": url.removeprefix("https://")}],
                    "conferenceSolution": {"key": {"type": "hangoutsMeet"},
                                           "name": "Google Meet"},
                    "conferenceId": url.rsplit("/", 1)[-1],
                })
        return view

    async def _insert(self, request: web.Request, body: Any) -> web.Response:
        refused = self._calendar_ok(request)
        if refused is not None:
            return refused
        event = _Event.model_validate(body)
        data = event.model_dump(exclude_none=True)
        create = data.pop("conferenceData", {}).get("createRequest")
        if create and request.query.get("conferenceDataVersion") != "1":
            create = None  # Google ignores conference data without conferenceDataVersion=1
        event_id = secrets.token_hex(13)
        self.events[event_id] = {"body": data, "create": create}
        if create and not self.pending_next:
            self.conferences.setdefault(create["requestId"],
                                        f"https://meet.google.example/{_meet_code()}")
        self.pending_next = False
        return web.json_response(self._view(event_id))

    def finish_pending(self) -> None:
        """Test control: the conferences still being made are ready now."""
        for event in self.events.values():
            request = event.get("create")
            if request:
                self.conferences.setdefault(request["requestId"],
                                            f"https://meet.google.example/{_meet_code()}")

    async def _get(self, request: web.Request, body: Any) -> web.Response:
        refused = self._calendar_ok(request)
        if refused is not None:
            return refused
        if request.match_info["event"] not in self.events:
            return self.error(404, "Not Found")
        return web.json_response(self._view(request.match_info["event"]))
