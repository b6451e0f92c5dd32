"""Alertmanager alerts: the last firing payload per fingerprint (raw JSON, the model lives in
bot/alerts.py), once-per-alert posting claims and the alert → incident link."""

from __future__ import annotations

from bot.store import keys
from bot.store.base import StoreBase
from bot.store.connection import guarded

POSTED_TTL_SECONDS = 7 * 24 * 3600
LINK_TTL_SECONDS = 90 * 24 * 3600


class AlertStore(StoreBase):
    @guarded
    async def remember(self, fingerprint: str, payload_json: str) -> None:
        await self.db.client.set(keys.alert(fingerprint), payload_json, ex=LINK_TTL_SECONDS)

    @guarded
    async def payload(self, fingerprint: str) -> str | None:
        raw = await self.db.client.get(keys.alert(fingerprint))
        return None if raw is None else str(raw)

    @guarded
    async def claim_post(self, fingerprint: str, starts_at: str) -> bool:
        """True once per firing (fingerprint, startsAt): Alertmanager re-sends."""
        key = keys.alert_posted(fingerprint, starts_at)
        return bool(await self.db.client.set(key, "1", nx=True, ex=POSTED_TTL_SECONDS))

    @guarded
    async def release_post(self, fingerprint: str, starts_at: str) -> None:
        """The post failed: let Alertmanager's retry post it."""
        await self.db.client.delete(keys.alert_posted(fingerprint, starts_at))

    @guarded
    async def link_incident(self, fingerprint: str, incident_id: str) -> None:
        await self.db.client.set(keys.alert_incident(fingerprint), incident_id, ex=LINK_TTL_SECONDS)

    @guarded
    async def incident_id(self, fingerprint: str) -> str | None:
        value = await self.db.client.get(keys.alert_incident(fingerprint))
        return None if value is None else str(value)

    @guarded
    async def claim_resolved(self, fingerprint: str, ends_at: str) -> bool:
        key = keys.alert_resolved(fingerprint, ends_at)
        return bool(await self.db.client.set(key, "1", nx=True, ex=24 * 3600))
