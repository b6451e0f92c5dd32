"""Settings of publishing (a group of bot.settings.Settings, beside the adapters that use
them); each field's description is its line in docs/settings.md (`make docs`)."""

from __future__ import annotations

from typing import Literal

from pydantic import AnyHttpUrl, BaseModel, Field, model_validator


class PublishSettings(BaseModel):
    """Publishing postmortems

    Each postmortem in Confluence, Notion or Google Docs as one document that follows its
    versions (`/incident postmortem publish`, or every version with
    `POSTMORTEM_PUBLISH=auto`). Each place is optional; a half-configured one stops the bot
    at start naming the missing setting. Google Docs uses GOOGLE_SERVICE_ACCOUNT_FILE (under
    *Calls*)."""

    confluence_url: AnyHttpUrl | None = Field(
        None, description="Confluence Cloud site, e.g. `https://acme.atlassian.net` (with "
        "CONFLUENCE_EMAIL, CONFLUENCE_API_TOKEN and CONFLUENCE_SPACE_ID)")
    confluence_email: str | None = Field(
        None, description="the Atlassian account that writes the pages")
    confluence_api_token: str | None = Field(
        None, description="that account's API token (basic auth)")
    confluence_space_id: str | None = Field(
        None, description="numeric id of the space postmortems go in (REST v2 `spaceId`)")
    confluence_parent_page_id: str | None = Field(
        None, description="the page postmortems are filed under (else the space's top level)")
    notion_token: str | None = Field(
        None, description="a Notion integration's secret (with NOTION_PARENT_PAGE_ID; share "
        "that page with the integration)")
    notion_parent_page_id: str | None = Field(
        None, description="the Notion page postmortems are created under")
    notion_api_url: AnyHttpUrl = Field(
        AnyHttpUrl("https://api.notion.com"), description="Notion's API")
    gdrive_folder_id: str | None = Field(
        None, description="Google Drive folder postmortems go in as Google Docs (with "
        "GOOGLE_SERVICE_ACCOUNT_FILE; share the folder with the service account)")
    postmortem_publish: Literal["manual", "auto"] = Field(
        "manual", description="`auto`: every postmortem version is published to each "
        "configured place (a private incident never without a person's yes); `manual`: by "
        "`/incident postmortem publish`")

    @model_validator(mode="after")
    def _complete_places(self) -> PublishSettings:
        groups = (
            ("confluence_url", "confluence_email", "confluence_api_token",
             "confluence_space_id"),
            ("notion_token", "notion_parent_page_id"),
        )
        for fields in groups:
            given = [f for f in fields if getattr(self, f)]
            missing = [f for f in fields if not getattr(self, f)]
            if given and missing:
                raise ValueError(f"{missing[0].upper()} is required when {given[0].upper()} is set")
        if self.confluence_parent_page_id and not self.confluence_url:
            raise ValueError("CONFLUENCE_URL is required when CONFLUENCE_PARENT_PAGE_ID is set")
        if self.gdrive_folder_id and not getattr(self, "google_service_account_file", None):
            raise ValueError("GOOGLE_SERVICE_ACCOUNT_FILE is required when GDRIVE_FOLDER_ID "
                             "is set")
        return self
