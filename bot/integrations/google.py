"""Google APIs as a service account: the key file (GOOGLE_SERVICE_ACCOUNT_FILE, the JSON
Google's console downloads) signs a JWT (RS256: iss = the account's email, scope, aud = the
key's token_uri, an hour at most), which Google's token endpoint exchanges for an access
token (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`). The token is kept until a
minute before it expires and asked for again after a 401. Drive (bot/publishing) and
Calendar (bot/conferencing) share this."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.errors import IntegrationError
from bot.integrations.http import ApiClient

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DEFAULT_API_URL = "https://www.googleapis.com"
DRIVE_SCOPE = "https://www.googleapis.com/auth/drive.file"
CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar.events"
LIFETIME = 3600
EARLY = 60.0


@dataclass(frozen=True)
class ServiceAccountKey:
    client_email: str
    private_key: str
    token_uri: str
    private_key_id: str = ""

    @classmethod
    def from_file(cls, path: str | Path) -> ServiceAccountKey:
        """Read and check the key file; ValueError says what is wrong (never the key)."""
        try:
            doc: Any = json.loads(Path(path).read_text())
        except OSError as exc:
            raise ValueError(f"cannot read the key file ({exc.strerror})") from None
        except ValueError:
            raise ValueError("the key file is not JSON") from None
        if not isinstance(doc, dict) or doc.get("type") != "service_account":
            raise ValueError("not a service account key file (type must be service_account)")
        missing = [k for k in ("client_email", "private_key", "token_uri") if not doc.get(k)]
        if missing:
            raise ValueError(f"the key file has no {missing[0]}")
        if "PRIVATE KEY" not in str(doc["private_key"]):
            raise ValueError("the key file's private_key is not a PEM key")
        return cls(
            client_email=str(doc["client_email"]),
            private_key=str(doc["private_key"]),
            token_uri=str(doc["token_uri"]),
            private_key_id=str(doc.get("private_key_id") or ""),
        )


class ServiceAccount:
    """Access tokens for one scope, signed with the account's key."""

    def __init__(self, key: ServiceAccountKey, scope: str, *, client: ApiClient | None = None,
                 timeout: float = 5.0) -> None:
        self.key = key
        self.scope = scope
        parts = urlsplit(key.token_uri)
        self.token_path = parts.path.lstrip("/")
        self.http = client or ApiClient(
            "Google", f"{parts.scheme}://{parts.netloc}", timeout=timeout
        )
        self._token: str | None = None
        self._expires = 0.0

    def assertion(self, now: float | None = None) -> str:
        issued = int(now if now is not None else time.time())
        claims = {
            "iss": self.key.client_email,
            "scope": self.scope,
            "aud": self.key.token_uri,
            "iat": issued,
            "exp": issued + LIFETIME,
        }
        headers = {"kid": self.key.private_key_id} if self.key.private_key_id else None
        import jwt  # PyJWT with cryptography: loaded by the first token, not at start

        return jwt.encode(claims, self.key.private_key, algorithm="RS256", headers=headers)

    async def token(self) -> str:
        if self._token is not None and time.monotonic() < self._expires - EARLY:
            return self._token
        try:
            response = await self.http.request(
                "POST", self.token_path,
                data={"grant_type": JWT_BEARER, "assertion": self.assertion()},
            )
        except IntegrationError as exc:
            if exc.status in (400, 401, 403):  # invalid_grant: a wrong or revoked key
                raise IntegrationError(
                    "Google", "the service account's credentials were refused (HTTP "
                    f"{exc.status}); check GOOGLE_SERVICE_ACCOUNT_FILE",
                    status=401, retryable=False,
                ) from None
            raise
        doc = response.json()
        self._token = str(doc["access_token"])
        self._expires = time.monotonic() + float(doc.get("expires_in") or LIFETIME)
        return self._token

    def forget(self) -> None:
        """The API refused the token (revoked, expired early): ask for a new one next."""
        self._token = None

    async def aclose(self) -> None:
        await self.http.aclose()
