"""The session cookie's contents: who is signed in (WebUser) and the codec that seals it
into an encrypted, signed value (Fernet: AES-CBC + HMAC) with its expiry inside, and opens
it again. bot/web/sessions.py reads it on each request."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken


@dataclass(frozen=True)
class WebUser:
    """A signed-in member of the bot's workspace."""

    id: str
    team_id: str
    name: str
    tz: str = "UTC"
    email: str = ""
    csrf: str = ""
    expires: float = 0.0


class SessionCodec:
    """Seals a dict into a cookie value and opens it again (None when forged, for another
    secret, or expired). The key is derived from WEB_SESSION_SECRET."""

    def __init__(self, secret: str, *, purpose: str = "session") -> None:
        digest = hashlib.sha256(f"incident-bot web {purpose}\0{secret}".encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, data: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(data, separators=(",", ":")).encode()).decode()

    def open(self, value: str | None, *, now: float | None = None) -> dict[str, Any] | None:
        if not value:
            return None
        try:
            data = json.loads(self._fernet.decrypt(value.encode()))
        except (InvalidToken, ValueError):
            return None
        if not isinstance(data, dict):
            return None
        expires = data.get("expires")
        if not isinstance(expires, int | float) or expires <= (now or time.time()):
            return None
        return data

    def seal_user(self, user: WebUser) -> str:
        return self.seal(asdict(user))

    def open_user(self, value: str | None, *, now: float | None = None) -> WebUser | None:
        data = self.open(value, now=now)
        if data is None:
            return None
        try:
            return WebUser(**data)
        except TypeError:
            return None
