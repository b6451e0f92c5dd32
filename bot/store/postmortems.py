"""Postmortem drafts: the latest, every version (a list) and the version sequence, all in
the incident's `{INC-…}` slot so a new version and the latest change together."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import cast

from bot.postmortem.models import Postmortem
from bot.store import atomic, codec, keys
from bot.store.atomic import Write
from bot.store.base import StoreBase
from bot.store.connection import guarded

ACCEPT_CLAIM_SECONDS = 3600


class PostmortemStore(StoreBase):
    @guarded
    async def save_new_version(self, pm: Postmortem) -> Postmortem:
        """Store `pm` as the next version and as the latest; returns it with its version."""
        version = int(await self.db.client.incr(keys.postmortem_sequence(pm.incident_id)))
        pm = pm.model_copy(update={"version": version})
        raw = codec.dumps(pm)
        await atomic.apply(
            self.db,
            [
                Write("SET", keys.postmortem(pm.incident_id), (raw,)),
                Write("RPUSH", keys.postmortem_versions(pm.incident_id), (raw,)),
                Write(  # its first draft's time, for insights (ZADD LT keeps the earliest)
                    "ZADD",
                    keys.incident_firsts(pm.incident_id),
                    ("LT", pm.generated_at.timestamp(), "postmortem"),
                ),
            ],
        )
        return pm

    @guarded
    async def replace_latest(self, pm: Postmortem) -> None:
        raw = codec.dumps(pm)
        await atomic.apply(
            self.db,
            [
                Write("SET", keys.postmortem(pm.incident_id), (raw,)),
                Write("LSET", keys.postmortem_versions(pm.incident_id), (pm.version - 1, raw)),
            ],
        )

    @guarded
    async def latest(self, incident_id: str) -> Postmortem | None:
        raw = await self.db.client.get(keys.postmortem(incident_id))
        return None if raw is None else codec.loads(Postmortem, raw)

    @guarded
    async def versions(self, incident_id: str) -> list[Postmortem]:
        """Every stored version, oldest first (the web page shows and compares them)."""
        key = keys.postmortem_versions(incident_id)
        raws = await cast(Awaitable[list[str]], self.db.client.lrange(key, 0, -1))
        return [codec.loads(Postmortem, raw) for raw in raws]

    @guarded
    async def version_count(self, incident_id: str) -> int:
        key = keys.postmortem_versions(incident_id)
        return int(await cast(Awaitable[int], self.db.client.llen(key)))

    @guarded
    async def claim_accept(self, incident_id: str, proposal_id: str) -> bool:
        """True once per proposed action item while it is being accepted."""
        key = keys.postmortem_accept(incident_id, proposal_id)
        return bool(await self.db.client.set(key, "1", nx=True, ex=ACCEPT_CLAIM_SECONDS))

    @guarded
    async def release_accept(self, incident_id: str, proposal_id: str) -> None:
        await self.db.client.delete(keys.postmortem_accept(incident_id, proposal_id))
