"""The Conference port: what the bot needs from a meeting provider."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel


class Meeting(BaseModel):
    url: str  # what people click to join
    ref: str = ""  # the provider's id of the meeting or event


class Conference(Protocol):
    name: str  # "zoom" | "meet" | "bridge"
    label: str  # "Zoom", "Google Meet", "the bridge"

    async def create(self, topic: str, request_id: str) -> Meeting:
        """A new meeting named `topic`; `request_id` is the same on every try for one
        incident, where the provider de-duplicates by it (Google's createRequest)."""

    async def aclose(self) -> None: ...


class FixedBridge:
    """MEETING_URL: the team's standing bridge, nothing to create."""

    name = "bridge"
    label = "the bridge"

    def __init__(self, url: str) -> None:
        self.url = url

    async def create(self, topic: str, request_id: str) -> Meeting:
        return Meeting(url=self.url)

    async def aclose(self) -> None:
        return None
