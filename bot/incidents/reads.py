"""Finding the incident a command, button or page acts on: by channel, by id through the
read rule (bot/incidents/access.py), the open ones and the latest. IncidentService builds
on it."""

from __future__ import annotations

from bot.errors import NotInIncidentChannel
from bot.incidents.access import IncidentAccess
from bot.incidents.models import Incident
from bot.store.redis_store import RedisStore


class IncidentReads:
    store: RedisStore
    access: IncidentAccess

    async def for_channel(self, channel_id: str) -> Incident | None:
        incident_id = await self.store.incident_id_for_channel(channel_id)
        return None if incident_id is None else await self.store.get_incident(incident_id)

    async def readable(self, incident_id: str, reader: str) -> Incident:
        """The incident, when `reader` may read it; else PrivateIncident (its label only)."""
        incident = await self.store.get_incident(incident_id.strip().upper())
        return await self.access.require_read(incident, reader)

    async def target(self, channel_id: str, explicit_id: str | None) -> Incident:
        """The incident a command acts on: `id:` when given, else the channel's (unchecked:
        commands read it through CommandContext.incident, which applies the read rule)."""
        if explicit_id:
            return await self.store.get_incident(explicit_id.upper())
        incident = await self.for_channel(channel_id)
        if incident is None:
            raise NotInIncidentChannel(
                "This is not an incident channel. Run it in the incident's channel, "
                "or add `id:INC-…`."
            )
        return incident

    async def list_open(self) -> list[Incident]:
        ids = await self.store.list_incident_ids(open_only=True)
        return [i for i in await self.store.incidents(ids) if i.is_active]

    async def list_recent(self, limit: int = 50) -> list[Incident]:
        """The latest incidents whatever their state (declined and merged ones included)."""
        ids = await self.store.list_incident_ids(open_only=False, limit=limit)
        return await self.store.incidents(ids)
