"""Settings of status updates and the worker's nudges: a group of bot.settings.Settings,
kept beside the updates that use them (docs/settings.md is generated from it: `make docs`)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field

from bot.setting_values import BusinessDays, Duration, OptionalDuration


class UpdateSettings(BaseModel):
    """Status updates and nudges

    How often updates are due, and when the worker nudges (each once per condition, across
    workers and restarts)."""

    updates_by_anyone: bool = Field(
        False,
        description="`true`: anyone may post `/incident update`; otherwise only the "
        "incident's IC, Ops and Comms (and admins)",
    )
    update_cadence_sev1: OptionalDuration = Field(
        timedelta(minutes=30),
        description="how often a status update is due at SEV1 (`off`: never)",
    )
    update_cadence_sev2: OptionalDuration = Field(
        timedelta(minutes=60), description="the same at SEV2"
    )
    update_cadence_sev3: OptionalDuration = Field(None, description="the same at SEV3 (`2h`)")
    update_cadence_sev4: OptionalDuration = Field(None, description="the same at SEV4")
    update_overdue_after: Duration = Field(
        timedelta(minutes=15),
        description="an update this late is announced once in the incident channel",
    )
    stale_after: OptionalDuration = Field(
        timedelta(hours=2),
        description="an open incident with no timeline activity this long: the IC is asked if "
        "it is still active (`off`: never)",
    )
    postmortem_due: BusinessDays = Field(
        2,
        ge=0,
        description="business days (in the IC's time zone) after resolving a SEV1/SEV2 until "
        "the IC, then the channel, is nudged for the postmortem (`2`, `2d`, `2bd`)",
    )
    close_after: OptionalDuration = Field(
        timedelta(days=7),
        description="a resolved incident not closed this long: the IC is asked to close it "
        "(`off`: never)",
    )
