"""Settings of the status page (a group of bot.settings.Settings, beside the code that uses
them). Every field's description is its line in docs/settings.md (`make docs`)."""

from __future__ import annotations

from pydantic import AnyHttpUrl, BaseModel, Field, model_validator

STATUSPAGE_DEFAULT_API_URL = "https://api.statuspage.io/v1"


class StatusPageSettings(BaseModel):
    """Status page

    A page customers read at `/status` (and `/status/internal` for people signed in with
    Slack), its Statuspage-shaped JSON, subscribers by webhook, email and Atom, and an
    optional mirror to Atlassian Statuspage (docs/status-page.md). Unset
    `STATUS_PAGE_COMPONENTS`: no status page, and `/incident statuspage` says so."""

    status_page_title: str = Field(
        "Status", min_length=1, max_length=100, description="the page's name (its title and "
        "the `page.name` of the JSON)"
    )
    status_page_components: str | None = Field(
        None,
        description="YAML file of the page's components (`name`, optional `group`, the "
        "incident `services` that affect it, `internal: true` for /status/internal only, "
        "optional `statuspage_id` for the mirror); `incident-bot status-page suggest` writes "
        "a first one",
    )
    status_page_public: bool | None = Field(
        None,
        description="serve `/status` and its JSON to anyone; default `true` when components "
        "are configured (`false`: only /status/internal, for people signed in)",
    )
    status_page_url: AnyHttpUrl | None = Field(
        None,
        description="public URL of the status page, for links in mails, feeds and webhooks; "
        "default `<WEB_BASE_URL>/status`",
    )
    smtp_url: str | None = Field(
        None,
        pattern=r"^smtps?://",
        description="mail relay for email subscribers: `smtp://user:password@host:587` "
        "(STARTTLS when offered) or `smtps://…:465`; unset: no email subscriptions",
    )
    status_page_from: str | None = Field(
        None,
        pattern=r"^[^@\s]+@[^@\s]+$|^.*<[^@\s<>]+@[^@\s<>]+>$",
        description="the From address of status mails (required with `SMTP_URL`)",
    )
    statuspage_api_key: str | None = Field(
        None,
        description="Atlassian Statuspage API key: every publish is mirrored there "
        "(component mapping: `statuspage_id` in the components file)",
    )
    statuspage_page_id: str | None = Field(
        None, description="the Statuspage page to mirror to (required with the key)"
    )
    statuspage_api_url: AnyHttpUrl = Field(
        AnyHttpUrl(STATUSPAGE_DEFAULT_API_URL),
        description="Statuspage's REST API v1 (the tests use a local stand-in)",
    )

    @model_validator(mode="after")
    def _pairs(self) -> StatusPageSettings:
        pairs = (
            ("smtp_url", "status_page_from"),
            ("status_page_from", "smtp_url"),
            ("statuspage_api_key", "statuspage_page_id"),
            ("statuspage_page_id", "statuspage_api_key"),
        )
        for given, needed in pairs:
            if getattr(self, given) and not getattr(self, needed):
                raise ValueError(f"{needed.upper()} is required when {given.upper()} is set")
        if self.statuspage_api_key and not self.status_page_components:
            raise ValueError("STATUS_PAGE_COMPONENTS is required when STATUSPAGE_API_KEY is set")
        return self
