"""What the update service and the follower fan-out need from around it: the chat calls,
how a status or severity given with an update is changed (the incident flows), who counts
as an admin."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.incidents.models import Incident, Severity, Status

AdminCheck = Callable[[str], Awaitable[bool]]


class UpdateChat(Protocol):
    async def post(self, channel_id: str, text: str) -> str: ...

    async def reply_in_thread(self, channel_id: str, thread_ts: str, text: str) -> str: ...

    async def update_announcement(
        self, incident: Incident, text: str, status_line: str
    ) -> None: ...



class FanOutChat(Protocol):
    """What the worker's fan-out of follower DMs needs (bot/updates/fanout.py)."""

    async def post(self, channel_id: str, text: str) -> str: ...

    async def channel_members(self, channel_id: str) -> list[str]: ...

    async def direct_message(self, user_id: str, text: str) -> None: ...

    async def pace(self) -> None:
        """Wait while Slack has asked the bot to slow down."""


class ChangeOutcome(Protocol):
    incident: Incident
    warnings: list[str]


class IncidentChanges(Protocol):
    """How a status or severity given with an update is applied: the incident flows, so
    their follow-up steps run as for `/incident status` and `/incident severity`."""

    async def set_severity(
        self, incident: Incident, severity: Severity, actor: str
    ) -> ChangeOutcome: ...

    async def set_status(self, incident: Incident, status: Status, actor: str) -> ChangeOutcome: ...
