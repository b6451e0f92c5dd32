"""Sign in with Slack in the emulator: Slack's OpenID Connect endpoints, strict.

* ``GET /openid/connect/authorize`` (the page people are sent to): checks ``client_id``
  and ``redirect_uri`` against the registered app, ``response_type=code`` and the
  ``openid`` scope, then signs in the user named by ``user`` (``?user=U0ALICE``) or
  OpenID Connect's ``login_hint``, or shows a
  form listing the workspace's people (and any outsiders added), and redirects to
  ``redirect_uri`` with ``code`` and ``state``;
* ``openid.connect.token`` (Web API): the client authenticates with HTTP Basic (what
  slack_sdk sends) or ``client_id``/``client_secret`` arguments; refuses an unknown client
  (``invalid_client_id``), a wrong secret (``bad_client_secret``), an unknown or reused
  code (``invalid_code``) and a ``redirect_uri`` other than the authorize request's
  (``bad_redirect_uri``), as Slack does; answers ``access_token`` and an RS256 ``id_token``
  (``iss`` https://slack.com, ``aud`` the client id, ``nonce``, ``https://slack.com/team_id``);
* ``GET /openid/connect/keys``: the JWKS that verifies it;
* ``openid.connect.userInfo`` with the access token: the same claims.

    emu.oidc.register_client("111.222", "secret", ["http://127.0.0.1:3000/auth/callback"])
    emu.oidc.add_outsider("U0EVE", "Eve Other", team_id="T0OTHER")  # another workspace
"""

from __future__ import annotations

import base64
import html
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

if TYPE_CHECKING:
    from sandbox.slack_emulator import SlackEmulator

ISSUER = "https://slack.com"
CODE_SECONDS = 600
TOKEN_SECONDS = 3600
DEFAULT_CLIENT_ID = "1000000001.2000000002"
DEFAULT_CLIENT_SECRET = "emulated-client-secret"
OIDC_METHODS = ("openid.connect.token", "openid.connect.userInfo")


@dataclass
class OidcClient:
    client_id: str
    client_secret: str
    redirect_uris: list[str] = field(default_factory=list)


@dataclass
class Person:
    user_id: str
    name: str
    team_id: str
    email: str


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    nonce: str | None
    person: Person
    expires: float
    used: bool = False


class SlackOidc:
    """The emulator's Sign in with Slack (see the module docstring)."""

    def __init__(self, emulator: SlackEmulator, clock: Callable[[], float] = time.time) -> None:
        self._emu = emulator
        self._clock = clock
        self._private_key: rsa.RSAPrivateKey | None = None  # made when first needed
        self.kid = "emulator-" + secrets.token_hex(4)
        self.clients: dict[str, OidcClient] = {}
        self.reset()

    @property
    def _key(self) -> rsa.RSAPrivateKey:
        if self._private_key is None:
            self._private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return self._private_key

    def reset(self) -> None:
        """Forget codes, tokens, outsiders and sign-ins (registered clients stay)."""
        self.outsiders: dict[str, Person] = {}
        self._codes: dict[str, _Code] = {}
        self._tokens: dict[str, dict[str, Any]] = {}
        self.signins: list[str] = []  # user ids signed in through authorize, in order

    # ------------------------------------------------------------------ set-up

    def register_client(self, client_id: str = DEFAULT_CLIENT_ID,
                        client_secret: str = DEFAULT_CLIENT_SECRET,
                        redirect_uris: list[str] | None = None) -> OidcClient:
        client = OidcClient(client_id, client_secret, list(redirect_uris or []))
        self.clients[client_id] = client
        return client

    def add_outsider(self, user_id: str, name: str, *, team_id: str = "T0OTHER",
                     email: str = "") -> None:
        """Someone of another workspace, who may also sign in with Slack (and must be
        refused by an app meant for this one)."""
        self.outsiders[user_id] = Person(user_id, name, team_id,
                                         email or f"{user_id.lower()}@other.example")

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        return {"keys": [{**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    # ------------------------------------------------------------------ people

    def _people(self) -> list[Person]:
        team = self._emu.team.id
        local = [Person(u.id, u.real_name or u.name, team,
                        u.email or f"{u.name}@{self._emu.team.domain}.example")
                 for u in self._emu.users() if not u.is_bot and not u.deleted]
        return local + list(self.outsiders.values())

    def _person(self, user_id: str) -> Person | None:
        return next((p for p in self._people() if p.user_id == user_id), None)

    def claims(self, person: Person, client_id: str, nonce: str | None) -> dict[str, Any]:
        now = int(self._clock())
        claims: dict[str, Any] = {
            "iss": ISSUER, "sub": person.user_id, "aud": client_id,
            "exp": now + TOKEN_SECONDS, "iat": now, "auth_time": now,
            "https://slack.com/team_id": person.team_id,
            "https://slack.com/user_id": person.user_id,
            "email": person.email, "email_verified": True, "name": person.name,
            "locale": "en-US",
        }
        if nonce:
            claims["nonce"] = nonce
        return claims

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})

    # ------------------------------------------------------------------ HTTP pages

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/openid/connect/authorize", self.authorize),
            web.get("/openid/connect/keys", self.keys),
        ]

    async def keys(self, request: web.Request) -> web.Response:
        return web.json_response(self.jwks())

    async def authorize(self, request: web.Request) -> web.Response:
        q = request.query
        client = self.clients.get(q.get("client_id", ""))
        if client is None:
            return self._error_page("invalid_client_id")
        redirect_uri = q.get("redirect_uri", "")
        if redirect_uri not in client.redirect_uris:
            return self._error_page("bad_redirect_uri")
        scopes = set(q.get("scope", "").replace(",", " ").split())
        if q.get("response_type") != "code" or "openid" not in scopes:
            return self._error_page("invalid_scope" if "openid" not in scopes
                                    else "unsupported_response_type")
        # ?user= picks the person (tests); login_hint (OpenID Connect's) does the same
        user = q.get("user", "") or q.get("login_hint", "")
        if not user:
            return self._choose_page(request)
        person = self._person(user)
        if person is None:
            return self._error_page("user_not_found")
        code = f"{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"
        with self._emu._lock:
            self._codes[code] = _Code(client.client_id, redirect_uri, q.get("nonce"), person,
                                      self._clock() + CODE_SECONDS)
            self.signins.append(person.user_id)
        params = {"code": code, **({"state": q["state"]} if "state" in q else {})}
        sep = "&" if "?" in redirect_uri else "?"
        raise web.HTTPFound(f"{redirect_uri}{sep}{urlencode(params)}")

    def _choose_page(self, request: web.Request) -> web.Response:
        rows = []
        for p in self._people():
            query = {k: v for k, v in request.query.items() if k != "user"}
            query["user"] = p.user_id
            href = html.escape(f"{request.path}?{urlencode(query)}")
            rows.append(f'<li><a href="{href}" data-user="{html.escape(p.user_id)}">'
                        f"{html.escape(p.name)}</a> <small>{html.escape(p.team_id)}</small></li>")
        body = ("<!doctype html><title>Sign in with Slack (emulator)</title>"
                "<link rel=icon href=\"data:,\">"
                f"<h1>Sign in to {html.escape(self._emu.team.name)}</h1><ul>"
                + "".join(rows) + "</ul>")
        return web.Response(text=body, content_type="text/html")

    def _error_page(self, error: str) -> web.Response:
        return web.Response(status=400, text=f"Sign in with Slack: {error}",
                            content_type="text/plain")

    # ------------------------------------------------------------------ Web API

    def handle(self, method: str, args: dict[str, Any], authorization: str) -> dict[str, Any]:
        """The body of an openid.connect.* call (always HTTP 200, like the Web API)."""
        if method == "openid.connect.token":
            return self._token(args, authorization)
        return self._user_info(authorization, args)

    def _client_credentials(self, args: dict[str, Any], authorization: str) -> tuple[str, str]:
        if authorization.lower().startswith("basic "):
            try:
                raw = base64.b64decode(authorization[6:].strip()).decode()
            except ValueError:
                return "", ""
            client_id, _, secret = raw.partition(":")
            return client_id, secret
        return str(args.get("client_id") or ""), str(args.get("client_secret") or "")

    def _token(self, args: dict[str, Any], authorization: str) -> dict[str, Any]:
        client_id, secret = self._client_credentials(args, authorization)
        client = self.clients.get(client_id)
        if client is None:
            return {"ok": False, "error": "invalid_client_id"}
        if not secrets.compare_digest(secret, client.client_secret):
            return {"ok": False, "error": "bad_client_secret"}
        grant = str(args.get("grant_type") or "authorization_code")
        if grant != "authorization_code":
            return {"ok": False, "error": "invalid_grant_type"}
        code = self._codes.get(str(args.get("code") or ""))
        if code is None or code.used or code.client_id != client_id \
                or code.expires < self._clock():
            return {"ok": False, "error": "invalid_code"}
        code.used = True  # one use, even when what follows is refused
        if str(args.get("redirect_uri") or "") != code.redirect_uri:
            return {"ok": False, "error": "bad_redirect_uri"}
        claims = self.claims(code.person, client_id, code.nonce)
        access = "xoxp-oidc-" + secrets.token_hex(12)
        self._tokens[access] = {k: v for k, v in claims.items()
                                if k not in ("aud", "exp", "iat", "auth_time", "nonce", "iss")}
        return {"ok": True, "access_token": access, "token_type": "Bearer",
                "id_token": self.sign(claims)}

    def _user_info(self, authorization: str, args: dict[str, Any]) -> dict[str, Any]:
        token = authorization[7:].strip() if authorization.lower().startswith("bearer ") \
            else str(args.get("token") or "")
        if not token:
            return {"ok": False, "error": "not_authed"}
        info = self._tokens.get(token)
        if info is None:
            return {"ok": False, "error": "invalid_auth"}
        return {"ok": True, **info}
