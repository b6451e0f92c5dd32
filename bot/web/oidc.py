"""Sign in with Slack (OpenID Connect): the authorize URL with state and nonce, the code
exchanged through `openid.connect.token` (slack_sdk, at SLACK_API_URL), and the id_token
checked with PyJWT: RS256 against the keys document at `<SLACK_OIDC_URL>keys`, issuer
https://slack.com, audience the client id, expiry, the nonce, and the
`https://slack.com/team_id` claim, which must be the bot's own workspace (auth.test)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import jwt
import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth import OpenIDConnectAuthorizeUrlGenerator
from slack_sdk.web.async_client import AsyncWebClient

log = structlog.get_logger(__name__)

ISSUER = "https://slack.com"
TEAM_CLAIM = "https://slack.com/team_id"
USER_CLAIM = "https://slack.com/user_id"
SCOPES = ("openid", "email", "profile")
KEYS_TTL_SECONDS = 3600.0
LEEWAY_SECONDS = 30


class SignInRefused(Exception):
    """Why a sign-in was refused (shown to the person, never a secret)."""


@dataclass(frozen=True)
class Identity:
    user_id: str
    team_id: str
    name: str
    email: str


class SlackSignIn:
    """One app's Sign in with Slack (see the module docstring)."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        oidc_url: str,
        api_url: str,
        bot_client: AsyncWebClient,
    ) -> None:
        self.client_id = client_id
        self._secret = client_secret
        self.redirect_uri = redirect_uri
        base = oidc_url if oidc_url.endswith("/") else oidc_url + "/"
        self.keys_url = base + "keys"
        self._urls = OpenIDConnectAuthorizeUrlGenerator(
            client_id=client_id, redirect_uri=redirect_uri, scopes=list(SCOPES),
            authorization_url=base + "authorize",
        )
        self._api = AsyncWebClient(base_url=api_url)
        self._bot = bot_client
        self._team: str | None = None
        self._keys: tuple[float, jwt.PyJWKSet] | None = None

    def authorize_url(self, state: str, nonce: str) -> str:
        return self._urls.generate(state=state, nonce=nonce)

    async def bot_team(self) -> str:
        """The bot's own workspace (auth.test with the bot token), asked once."""
        if self._team is None:
            answer = await self._bot.auth_test()
            self._team = str(answer["team_id"])
        return self._team

    async def _key_set(self, *, fresh: bool = False) -> jwt.PyJWKSet:
        now = time.monotonic()
        if self._keys is not None and not fresh and now - self._keys[0] < KEYS_TTL_SECONDS:
            return self._keys[1]
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as http, http.get(self.keys_url) as r:
            if r.status != 200:
                raise SignInRefused(f"Slack's keys document answered HTTP {r.status}")
            doc: dict[str, Any] = await r.json(content_type=None)
        keys = jwt.PyJWKSet.from_dict(doc)
        self._keys = (now, keys)
        return keys

    async def _signing_key(self, token: str) -> jwt.PyJWK:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise SignInRefused(f"the id_token is malformed ({exc})") from None
        for fresh in (False, True):  # a key Slack rotated in: read the document again
            keys = await self._key_set(fresh=fresh)
            for key in keys.keys:
                if key.key_id == kid:
                    return key
        raise SignInRefused("the id_token is signed with a key Slack does not publish")

    async def verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The id_token's claims, once every check passed; else SignInRefused."""
        key = await self._signing_key(id_token)
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token, key=key, algorithms=["RS256"], audience=self.client_id,
                issuer=ISSUER, leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise SignInRefused(f"the id_token was refused: {exc}") from None
        if not nonce or claims.get("nonce") != nonce:
            raise SignInRefused("the id_token's nonce is not the one this sign-in sent")
        try:
            team = await self.bot_team()
        except SlackApiError as exc:  # never let anyone in on a workspace we cannot name
            error = exc.response.get("error", "failed") if exc.response else "failed"
            raise SignInRefused(f"could not ask Slack which workspace this bot is in "
                                f"({error}); try again") from None
        if claims.get(TEAM_CLAIM) != team:
            log.info("web_signin_other_team", team=claims.get(TEAM_CLAIM))
            raise SignInRefused(
                "that Slack account belongs to another workspace; sign in with the "
                "workspace this bot runs in"
            )
        return claims

    async def exchange(self, code: str, nonce: str) -> Identity:
        """The code from the callback → the verified identity of who signed in."""
        try:
            answer = await self._api.openid_connect_token(
                client_id=self.client_id, client_secret=self._secret, code=code,
                redirect_uri=self.redirect_uri, grant_type="authorization_code",
            )
        except SlackApiError as exc:
            error = exc.response.get("error", "failed") if exc.response else "failed"
            raise SignInRefused(f"Slack refused the sign-in code ({error})") from None
        id_token = answer.get("id_token")
        if not isinstance(id_token, str):
            raise SignInRefused("Slack's answer carried no id_token")
        claims = await self.verify(id_token, nonce)
        user_id = str(claims.get(USER_CLAIM) or claims["sub"])
        return Identity(
            user_id=user_id, team_id=str(claims[TEAM_CLAIM]),
            name=str(claims.get("name") or user_id), email=str(claims.get("email") or ""),
        )
