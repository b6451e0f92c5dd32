"""The one rule for reading and changing an incident, whatever the entry point (a command
with `id:`, a button, a modal, App Home, an export, a webhook, a web page):

* a public incident: anyone may read it (changes keep their own rules: IC-only and so on);
* a private incident: its channel's members and the admins (ADMIN_USERGROUP) read
  everything and may change it; anyone else sees only its label, "Private incident
  INC-… (SEV2)", and changes nothing. Whoever holds one of its roles counts as a member
  (the bot invites them when the role is given).

Two ports and no Slack: `Membership` says who is in a channel, `AdminCheck` who is an
admin. Channel membership is cached briefly (`MEMBERSHIP_TTL_SECONDS`); a lookup that fails
counts as "not a member" and is not cached (when in doubt, say nothing).

    access = IncidentAccess(members=chat, is_admin=is_admin)
    if await access.can_read(incident, user_id): ...            # a yes or no
    incident = await access.require_read(incident, user_id)     # or PrivateIncident
    await access.require_change(incident, user_id)              # before any change
    title = await access.title_for(incident, user_id)           # the title, or the label
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol, runtime_checkable

import structlog

from bot.errors import ChatError, PermissionDenied
from bot.incidents.models import Incident

log = structlog.get_logger(__name__)

MEMBERSHIP_TTL_SECONDS = 30.0
MAX_CACHED_CHANNELS = 1024
AdminCheck = Callable[[str], Awaitable[bool]]


class Membership(Protocol):
    async def channel_members(self, channel_id: str) -> list[str]: ...


@runtime_checkable
class ChannelsOfUser(Protocol):
    """Optional: the private channels a person is in, in one call (many incidents at once)."""

    async def member_channels(self, user_id: str) -> set[str]: ...


async def nobody_is_admin(user_id: str) -> bool:
    return False


class PrivateIncident(PermissionDenied):
    """A private incident asked for by someone outside it: the answer names only its label."""

    def __init__(self, incident: Incident) -> None:
        super().__init__(refusal(incident))
        self.incident_id = incident.id


def refusal(incident: Incident) -> str:
    """The whole answer to a non-member: the label, and how to get in (nothing else)."""
    return (
        f":lock: {incident.public_label}: only its channel's members and admins can see or "
        "change it. Ask its incident commander to add you to the channel."
    )


class IncidentAccess:
    """Who may read and change an incident (see the module docstring)."""

    def __init__(
        self,
        *,
        members: Membership,
        is_admin: AdminCheck = nobody_is_admin,
        ttl: float = MEMBERSHIP_TTL_SECONDS,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.members = members
        self.is_admin = is_admin
        self.ttl = ttl
        self.now = now
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._channels_of: dict[str, tuple[float, frozenset[str]]] = {}

    async def can_read(self, incident: Incident, user_id: str | None) -> bool:
        """Anyone reads a public incident; a private one its channel's members and admins.
        `None` is nobody in particular (an export without a reader): the label only."""
        if not incident.private:
            return True
        if not user_id:
            return False
        if user_id in incident.roles.values():  # the bot invited them; no lookup needed
            return True
        if user_id in await self._channel_members(incident.channel_id):
            return True
        return await self.is_admin(user_id)

    async def can_change(self, incident: Incident, user_id: str | None) -> bool:
        """Whoever may read it may ask for a change (the change's own rules still apply)."""
        return await self.can_read(incident, user_id)

    async def require_read(self, incident: Incident, user_id: str | None) -> Incident:
        if not await self.can_read(incident, user_id):
            log.info("private_incident_refused", incident_id=incident.id, user=user_id)
            raise PrivateIncident(incident)
        return incident

    async def require_change(self, incident: Incident, user_id: str | None) -> None:
        if not await self.can_change(incident, user_id):
            log.info("private_incident_change_refused", incident_id=incident.id, user=user_id)
            raise PrivateIncident(incident)

    async def title_for(self, incident: Incident, user_id: str | None) -> str:
        """The title for a reader who may see it, else the label (raw text: escape it)."""
        return incident.title if await self.can_read(incident, user_id) else incident.public_label

    async def readable(
        self, incidents: Iterable[Incident], user_id: str | None
    ) -> dict[str, bool]:
        """For each incident id: whether `user_id` may read it."""
        return {inc.id: await self.can_read(inc, user_id) for inc in incidents}

    async def readable_private(self, incidents: Iterable[Incident], user_id: str | None
                               ) -> set[str]:
        """Ids of the private `incidents` that `user_id` may read: the same rule as
        can_read, with one lookup of the person's channels (cached like channel members)
        instead of one per channel, when the membership port can (a list of many)."""
        private = [i for i in incidents if i.private]
        if not user_id or not private:
            return set()
        if not isinstance(self.members, ChannelsOfUser):
            return {i.id for i in private if await self.can_read(i, user_id)}
        if await self.is_admin(user_id):
            return {i.id for i in private}
        channels = await self._channels_of_user(self.members, user_id)
        return {i.id for i in private
                if user_id in i.roles.values() or i.channel_id in channels}

    async def _channels_of_user(self, port: ChannelsOfUser, user_id: str) -> frozenset[str]:
        cached = self._channels_of.get(user_id)
        if cached is not None and self.now() - cached[0] < self.ttl:
            return cached[1]
        try:
            channels = frozenset(await port.member_channels(user_id))
        except ChatError as exc:
            log.warning("member_channels_unreadable", user=user_id, error=exc.code)
            return frozenset()  # fail closed, and ask again next time
        if len(self._channels_of) >= MAX_CACHED_CHANNELS:
            self._channels_of.pop(next(iter(self._channels_of)))
        self._channels_of[user_id] = (self.now(), channels)
        return channels

    async def readable_by(self, incident: Incident, users: Iterable[str]) -> set[str]:
        """Those of `users` who may read `incident` (one membership lookup for them all)."""
        return {user for user in users if await self.can_read(incident, user)}

    def forget(self, channel_id: str) -> None:
        """Membership of `channel_id` changed (someone joined): look it up again next time."""
        self._cache.pop(channel_id, None)
        self._channels_of.clear()  # whose channels changed is not known here

    async def _channel_members(self, channel_id: str) -> frozenset[str]:
        cached = self._cache.get(channel_id)
        if cached is not None and self.now() - cached[0] < self.ttl:
            return cached[1]
        try:
            members = frozenset(await self.members.channel_members(channel_id))
        except ChatError as exc:
            log.warning("channel_members_unreadable", channel=channel_id, error=exc.code)
            return frozenset()  # fail closed, and ask again next time
        if len(self._cache) >= MAX_CACHED_CHANNELS:
            self._cache.pop(next(iter(self._cache)))
        self._cache[channel_id] = (self.now(), members)
        return members
