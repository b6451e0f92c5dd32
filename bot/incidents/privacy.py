"""What may be said about an incident where: a private incident is only its label
("Private incident INC-… (SEV2)") anywhere its members are not the only readers."""

from __future__ import annotations

from typing import Protocol

from bot.errors import ChatError
from bot.incidents.models import Incident


class MemberLookup(Protocol):
    async def channel_members(self, channel_id: str) -> list[str]: ...


async def can_see(chat: MemberLookup, incident: Incident, user_id: str) -> bool:
    """Anyone may see a public incident; a private one only its channel's members."""
    if not incident.private:
        return True
    try:
        return user_id in await chat.channel_members(incident.channel_id)
    except ChatError:
        return False  # when in doubt, say nothing


def title_for(incident: Incident, *, visible: bool) -> str:
    """The incident's title, or its label when the reader may not see it (raw; escape it)."""
    return incident.title if visible or not incident.private else incident.public_label
