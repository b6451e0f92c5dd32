"""The store the services are given: incidents, timelines and idempotency markers directly
(`store.get_incident`, `store.append_event`, `store.first_time`, …), and one small store per
other domain as an attribute (`store.actions`, `store.postmortems`, `store.alerts`,
`store.patterns`, `store.insights`, `store.leases`, `store.updates`, `store.fanout`,
`store.confirmations`, `store.slack_access`). They all share one `Db` (client +
durability); every Redis command lives in bot/store/ or bot/actions/store.py."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from bot.store.alerts import AlertStore
from bot.store.confirmations import ConfirmationStore
from bot.store.connection import Client, Db, connect, guarded
from bot.store.fanout import FanOutStore
from bot.store.incidents import IncidentStore
from bot.store.insights import InsightsStore
from bot.store.integrations import IntegrationStore
from bot.store.leases import Leases
from bot.store.postmortems import PostmortemStore
from bot.store.relapse import RelapseStore
from bot.store.search_index import INDEX_VERSION
from bot.store.search_index import key as search_key
from bot.store.seen import SEEN_TTL_SECONDS, SeenStore
from bot.store.slack_access import SlackAccessStore
from bot.store.timeline import RECORD_MESSAGE_LUA, TimelineStore

if TYPE_CHECKING:
    from bot.actions.store import ActionItemStore
    from bot.store.patterns import PatternIndex
    from bot.store.updates import UpdateStore

__all__ = [
    "RECORD_MESSAGE_LUA",
    "SEEN_TTL_SECONDS",
    "RedisStore",
    "connect",
    "guarded",
]


class RedisStore(IncidentStore, TimelineStore, SeenStore):
    """Incidents and their timelines. Writes that touch one incident are atomic."""

    def __init__(self, db: Db | Client) -> None:
        super().__init__(db)

    # the search index (bot/store/search_index.py) rebuilt from the records it indexes
    async def rebuild_index(self, batch: int = 200) -> int:
        """Index every incident and its timeline from the records (the `all` index, in
        pages; no SCAN), then record the version. Returns how many were indexed."""
        done, start = 0, 0
        while ids := await self.incident_ids_page(start, batch):
            start += len(ids)
            for incident in await self.incidents(ids):
                await self.index_incident(incident)
                await self.index_events(incident.id, [e for _, e in
                                                      await self.events(incident.id)])
                done += 1
        await self.db.client.set(search_key("version"), INDEX_VERSION)
        return done

    async def ensure_current(self) -> None:
        if await self.index_version() < INDEX_VERSION:
            await self.rebuild_index()

    @cached_property
    def actions(self) -> ActionItemStore:
        from bot.actions.store import ActionItemStore

        return ActionItemStore(self.db)

    @cached_property
    def postmortems(self) -> PostmortemStore:
        return PostmortemStore(self.db)

    @cached_property
    def insights(self) -> InsightsStore:
        return InsightsStore(self.db)

    @cached_property
    def alerts(self) -> AlertStore:
        return AlertStore(self.db)

    @cached_property
    def patterns(self) -> PatternIndex:
        from bot.store.patterns import PatternIndex

        return PatternIndex(self.db)

    @cached_property
    def integrations(self) -> IntegrationStore:
        return IntegrationStore(self.db)

    @cached_property
    def relapse(self) -> RelapseStore:
        return RelapseStore(self.db)

    @cached_property
    def confirmations(self) -> ConfirmationStore:
        return ConfirmationStore(self.db)

    @cached_property
    def slack_access(self) -> SlackAccessStore:
        return SlackAccessStore(self.db)

    @cached_property
    def fanout(self) -> FanOutStore:
        return FanOutStore(self.db)

    @cached_property
    def leases(self) -> Leases:
        return Leases(self.db)

    @cached_property
    def updates(self) -> UpdateStore:
        from bot.store.updates import UpdateStore

        return UpdateStore(self.db)
