"""What every domain store shares: the `Db` (client + durability) it talks through."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.store.connection import Client, Db


class StoreBase:
    def __init__(self, db: Db | Client) -> None:
        self.db = db if isinstance(db, Db) else Db(db)

    @property
    def redis(self) -> Client:
        """The client, for tests and tools only: services go through store methods."""
        return self.db.client

    @redis.setter
    def redis(self, client: Client) -> None:
        self.db.client = client

    async def get_many(self, keys: list[str]) -> list[Any]:
        """GET of many keys: one MGET on one server, one pipeline per node on a cluster
        (MGET across slots would be CROSSSLOT)."""
        if not keys:
            return []
        if not self.db.is_cluster:
            return list(await self.db.client.mget(keys))
        async with self.db.client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.get(key)
            return list(await pipe.execute())

    async def aclose(self) -> None:
        await self.db.aclose()
        await asyncio.sleep(0)
