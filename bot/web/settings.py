"""Settings of the web app (a group of bot.settings.Settings, beside the code that uses
them). Every field's description is its line in docs/settings.md (`make docs`)."""

from __future__ import annotations

from pydantic import AnyHttpUrl, BaseModel, Field

SLACK_OIDC_DEFAULT_URL = "https://slack.com/openid/connect/"
#: what the web app needs, in the order the "not configured" page names them
REQUIRED = ("slack_client_id", "slack_client_secret", "web_base_url", "web_session_secret")


class WebSettings(BaseModel):
    """Web app

    Incident pages, search and the JSON API outside Slack, on the same port as the bot
    (`/incidents`, `/api/v1/…`), for people who sign in with Slack (OpenID Connect). Until
    the four settings below marked *required* are set, every page of it answers with one
    page naming them. Setting `SLACK_CLIENT_ID` and `SLACK_CLIENT_SECRET` does not turn on
    Bolt's multi-workspace OAuth: the bot stays on its one workspace's bot token."""

    slack_client_id: str | None = Field(
        None, description="the app's Client ID (*Basic Information*; required for sign-in)"
    )
    slack_client_secret: str | None = Field(
        None, description="the app's Client Secret (required for sign-in)"
    )
    web_base_url: AnyHttpUrl | None = Field(
        None,
        description="public URL of the bot's HTTP port, e.g. `https://incidents.example.com` "
        "(required for sign-in: the redirect is `<WEB_BASE_URL>/auth/callback`); links the "
        "bot posts in Slack point at its incident pages when set",
    )
    web_session_secret: str | None = Field(
        None,
        min_length=32,
        description="at least 32 characters that encrypt and sign the session cookie "
        "(required for sign-in; changing it signs everyone out)",
    )
    web_session_hours: int = Field(
        12, ge=1, le=24 * 30, description="how long a sign-in lasts, in hours"
    )
    slack_oidc_url: AnyHttpUrl = Field(
        AnyHttpUrl(SLACK_OIDC_DEFAULT_URL),
        description="where Slack's OpenID Connect `authorize` page and `keys` document are "
        "(the token and userInfo calls go through `SLACK_API_URL`)",
    )
    web_api_token: str | None = Field(
        None,
        min_length=16,
        description="bearer token scripts send to `/api/v1/…` (`Authorization: Bearer …`); "
        "unset: the API answers only signed-in people",
    )

    def web_missing(self) -> list[str]:
        """The settings the web app still needs (upper case), none when it is configured."""
        return [name.upper() for name in REQUIRED if not getattr(self, name)]

    @property
    def web_base(self) -> str | None:
        """WEB_BASE_URL without its trailing slash, or None."""
        return str(self.web_base_url).rstrip("/") if self.web_base_url else None


def incident_url(settings: WebSettings, incident_id: str) -> str | None:
    """The incident's page, when WEB_BASE_URL is set (for links the bot posts)."""
    base = settings.web_base
    return f"{base}/incidents/{incident_id}" if base else None
