"""The acknowledged writes of concurrent requests, sent together.

Every atomic change is one Lua script (bot/store/atomic.py). When several requests reach
their script in the same turn of the event loop (a burst of Slack events), the scripts go
to Redis as one pipeline — one write and one read on one connection — instead of one round
trip each; with `Durability.replicas` one `WAIT` closes the pipeline and counts for every
script before it on that connection. Nothing else changes: each script is still atomic on
its own, each caller still awaits its own script's reply (so nothing is acknowledged to
Slack before Redis has it, and replicas when asked), a script's error reaches only its
caller, and a lost connection reaches every caller of the batch (each answers 503, Slack
delivers again). A lone request is sent on the next turn of the loop, alone.

A Redis Cluster is not batched (a pipeline there splits by node): atomic.py sends each
script itself."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis

if TYPE_CHECKING:
    from bot.store.connection import Db

Reply = tuple[Any, Any]  # (the script's reply, WAIT's count or None)


@dataclass
class _Pending:
    source: str
    keys: list[str]
    argv: list[str]
    future: asyncio.Future[Reply]


class ScriptBatch:
    """The scripts waiting for the next turn of one event loop, for one client."""

    def __init__(self, client: aioredis.Redis, wait: tuple[int, int] | None) -> None:
        self.client = client
        self.wait = wait  # (replicas, timeout ms) for WAIT, or None
        self.loop = asyncio.get_running_loop()
        self.pending: list[_Pending] = []
        self.sending: set[asyncio.Task[None]] = set()

    async def run(self, source: str, keys: list[str], argv: list[str]) -> Reply:
        future: asyncio.Future[Reply] = self.loop.create_future()
        self.pending.append(_Pending(source, keys, argv, future))
        if len(self.pending) == 1:
            self.loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        batch, self.pending = self.pending, []
        task = self.loop.create_task(self._send(batch))
        self.sending.add(task)
        task.add_done_callback(self.sending.discard)

    async def _send(self, batch: list[_Pending]) -> None:
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                for p in batch:
                    pipe.eval(p.source, len(p.keys), *p.keys, *p.argv)
                if self.wait is not None:
                    pipe.execute_command("WAIT", *self.wait)
                replies = await pipe.execute(raise_on_error=False)
        except asyncio.CancelledError:
            for p in batch:
                p.future.cancel()
            raise
        except Exception as exc:  # the connection: every caller of the batch is told
            for p in batch:
                if not p.future.done():
                    p.future.set_exception(exc)
            return
        acked = replies[-1] if self.wait is not None else None
        for p, reply in zip(batch, replies, strict=False):
            if p.future.done():
                continue  # its request went away (cancelled); the write stands
            if isinstance(reply, Exception):
                p.future.set_exception(reply)
            elif isinstance(acked, Exception):
                p.future.set_exception(acked)
            else:
                p.future.set_result((reply, acked))


def batch_for(db: Db, client: aioredis.Redis, wait: tuple[int, int] | None) -> ScriptBatch:
    """The Db's batch for the running loop, made on first use."""
    batch = db.script_batch
    if batch is None or batch.loop is not asyncio.get_running_loop() or batch.wait != wait:
        batch = db.script_batch = ScriptBatch(client, wait)
    return batch
