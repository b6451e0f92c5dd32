"""Scan cost with 100 due items among 1,000 vs 100,000 items (real Redis, db 6, flushed).

The scan reads only the due range of the sorted set, so the ratio should stay near 1
(goal <= 2). Prints the result and appends a JSON line to bench/results.jsonl."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from bench import append_result
from bot.actions.models import ActionItem, ActionSettings
from bot.actions.reminders import ReminderScanner
from bot.actions.store import ActionItemStore
from bot.clock import ManualClock
from bot.ports import ChatUser
from bot.store import codec, keys
from bot.store.redis_store import RedisStore, connect

URL = "redis://127.0.0.1:6379/6"
NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
DUE = 100


class NullChat:
    async def user(self, user_id: str) -> ChatUser:
        return ChatUser(id=user_id, name="u", tz="UTC")

    async def post(self, channel_id: str, text: str) -> str:
        return "1.0"

    async def post_blocks(self, channel_id: str, text: str, blocks: Any) -> str:
        return "1.0"

    async def direct_message(self, user_id: str, text: str) -> None:
        return None


async def fill(redis: Any, total: int) -> None:
    await redis.flushdb()
    pipe = redis.pipeline(transaction=False)
    for n in range(total):
        due_soon = n < DUE
        item = ActionItem(
            id=f"AI-{n:06d}",
            incident_id="INC-1",
            text="bench",
            owner=f"U{n % 50:04d}",
            created_by="U0",
            created_at=NOW - timedelta(days=1),
            due=NOW + (timedelta(hours=1) if due_soon else timedelta(days=30 + n % 300)),
        )
        item.next_reminder_at = item.due - timedelta(hours=24)  # type: ignore[operator]
        pipe.set(keys.action_item(item.id), codec.dumps(item))
        pipe.sadd(keys.action_items_open(), item.id)
        pipe.zadd(keys.action_items_due(), {item.id: item.next_reminder_at.timestamp()})
        if n % 5000 == 4999:
            await pipe.execute()
    await pipe.execute()


async def measure(total: int, repeats: int = 5) -> float:
    redis = connect(URL)
    best = float("inf")
    for _ in range(repeats):
        await fill(redis, total)
        scanner = ReminderScanner(
            actions_store=ActionItemStore(redis),
            store=RedisStore(redis),
            chat=NullChat(),
            clock=ManualClock(NOW),
            settings=ActionSettings(scan_limit=1000),
        )
        start = time.perf_counter()
        result = await scanner.scan()
        best = min(best, time.perf_counter() - start)
        assert len(result.sent) == DUE, len(result.sent)
    await redis.flushdb()
    await redis.aclose()
    return best


async def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    small = await measure(1_000)
    large = await measure(100_000, repeats=3)
    ratio = large / small
    row = {
        "bench": "reminder_scan",
        "due": DUE,
        "small_items": 1_000,
        "large_items": 100_000,
        "small_seconds": round(small, 4),
        "large_seconds": round(large, 4),
        "ratio": round(ratio, 2),
        "goal": 2,
    }
    append_result(row)


if __name__ == "__main__":
    asyncio.run(main())
