"""Redis for the integrations: which pages went out per incident, and an outbox of calls to
retry when a tracker or pager was down. A job is claimed by removing it (ZREM), so two
workers never run the same retry."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from datetime import datetime
from typing import Any, cast

from pydantic import BaseModel, Field

from bot.store import keys
from bot.store.base import StoreBase
from bot.store.connection import guarded


class RetryJob(BaseModel):
    op: str  # "page" | "resolve_page" | "track" | "finish_issue"
    incident_id: str
    target: str = ""
    item_id: str = ""
    text: str = ""
    attempt: int = 1
    args: dict[str, Any] = Field(default_factory=dict)


class IntegrationStore(StoreBase):
    @guarded
    async def remember_page(self, incident_id: str, target: str, pager: str, dedup: str) -> None:
        await cast(
            Awaitable[int],
            self.db.client.hset(keys.pages_of_incident(incident_id), target, f"{pager}|{dedup}"),
        )

    @guarded
    async def pages(self, incident_id: str) -> dict[str, tuple[str, str]]:
        raw = await cast(
            Awaitable[dict[str, str]], self.db.client.hgetall(keys.pages_of_incident(incident_id))
        )
        out: dict[str, tuple[str, str]] = {}
        for target, value in raw.items():
            pager, _, dedup = str(value).partition("|")
            out[str(target)] = (pager, dedup)
        return out

    @guarded
    async def remember_tracked(self, tracker: str, key: str, item_id: str) -> None:
        await self.db.client.set(keys.tracked_issue(tracker, key), item_id)

    @guarded
    async def tracked_item(self, tracker: str, key: str) -> str | None:
        value = await self.db.client.get(keys.tracked_issue(tracker, key))
        return None if value is None else str(value)

    @guarded
    async def set_github_login(self, user_id: str, login: str) -> None:
        await self.db.client.set(keys.github_login(user_id), login)

    @guarded
    async def github_login(self, user_id: str) -> str | None:
        value = await self.db.client.get(keys.github_login(user_id))
        return None if value is None else str(value)

    @guarded
    async def enqueue(self, job: RetryJob, due: datetime, *, queue: str = "") -> None:
        member = job.model_dump_json()
        await self.db.client.zadd(keys.integration_outbox(queue), {member: due.timestamp()})

    @guarded
    async def remove(self, job: RetryJob, *, queue: str = "") -> bool:
        """Drop a job that is no longer needed (it was done before it fell due)."""
        return bool(await self.db.client.zrem(keys.integration_outbox(queue),
                                              job.model_dump_json()))

    @guarded
    async def claim_due(
        self, now: datetime, limit: int = 50, *, queue: str = ""
    ) -> list[RetryJob]:
        outbox = keys.integration_outbox(queue)
        raw = await self.db.client.zrangebyscore(
            outbox, "-inf", now.timestamp(), start=0, num=limit
        )
        claimed: list[RetryJob] = []
        for member in raw:
            if await self.db.client.zrem(outbox, member):
                claimed.append(RetryJob.model_validate(json.loads(member)))
        return claimed

    @guarded
    async def waiting(self, queue: str = "") -> int:
        return int(await self.db.client.zcard(keys.integration_outbox(queue)))

