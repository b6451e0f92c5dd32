"""Settings of call links (a group of bot.settings.Settings, beside the adapters that use
them); each field's description is its line in docs/settings.md (`make docs`)."""

from __future__ import annotations

from pydantic import AnyHttpUrl, BaseModel, Field, field_validator, model_validator


class CallSettings(BaseModel):
    """Calls

    A call link on declare at `CALL_MIN_SEVERITY` or worse, and by `/incident call`: a Zoom
    meeting, a Google Meet conference, or the team's fixed bridge (at most one of Zoom and
    Meet; `MEETING_URL` may stand beside either, in for it when it fails). A half-configured
    provider stops the bot at start naming the missing setting."""

    zoom_account_id: str | None = Field(
        None, description="a Zoom Server-to-Server OAuth app's account id (with "
        "ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET): calls are Zoom meetings")
    zoom_client_id: str | None = Field(None, description="the Zoom app's client id")
    zoom_client_secret: str | None = Field(None, description="the Zoom app's client secret")
    zoom_api_url: AnyHttpUrl = Field(AnyHttpUrl("https://api.zoom.us"), description="Zoom's API")
    zoom_oauth_url: AnyHttpUrl = Field(
        AnyHttpUrl("https://zoom.us"), description="Zoom's OAuth server (its token endpoint)")
    google_service_account_file: str | None = Field(
        None, description="a Google service account's JSON key file (checked at start), for "
        "Google Meet calls (GOOGLE_CALENDAR_ID) and Google Docs postmortems "
        "(GDRIVE_FOLDER_ID)")
    google_calendar_id: str | None = Field(
        None, description="with the key file: calls are Google Meet conferences on events "
        "the service account makes in this calendar")
    google_api_url: AnyHttpUrl = Field(
        AnyHttpUrl("https://www.googleapis.com"),
        description="Google's API host (Calendar v3, Drive v3)")
    meeting_url: AnyHttpUrl | None = Field(
        None, description="the team's fixed bridge: every call is this link; beside Zoom or "
        "Meet, it stands in at once when they fail")
    call_min_severity: int = Field(
        2, ge=1, le=4, description="declaring (or raising) at this severity or worse (`SEV2` "
        "or `2`) opens the incident with a call link; `/incident call` makes one any time")

    @field_validator("call_min_severity", mode="before")
    @classmethod
    def _severity(cls, v: object) -> object:
        if isinstance(v, str):
            return v.strip().lower().removeprefix("sev")
        return v

    @field_validator("google_service_account_file")
    @classmethod
    def _key_file(cls, v: str | None) -> str | None:
        if v:
            from bot.integrations.google import ServiceAccountKey

            ServiceAccountKey.from_file(v)  # raises ValueError saying what is wrong
        return v

    @model_validator(mode="after")
    def _one_complete_provider(self) -> CallSettings:
        zoom = ("zoom_account_id", "zoom_client_id", "zoom_client_secret")
        given = [f for f in zoom if getattr(self, f)]
        missing = [f for f in zoom if not getattr(self, f)]
        if given and missing:
            raise ValueError(f"{missing[0].upper()} is required when {given[0].upper()} is set")
        if self.google_calendar_id and not self.google_service_account_file:
            raise ValueError("GOOGLE_SERVICE_ACCOUNT_FILE is required when GOOGLE_CALENDAR_ID "
                             "is set")
        if self.zoom_account_id and self.google_calendar_id:
            raise ValueError("configure one call provider, not ZOOM and GOOGLE_CALENDAR_ID "
                             "(MEETING_URL may stand beside either)")
        return self
