"""The acknowledged writes of concurrent requests, sent together.

Every atomic change is one Lua script (bot/store/atomic.py). A request whose script finds
no other on the wire sends it at once, itself (no added wait); scripts that arrive while
one is on the wire queue up and go out together as soon as it is answered, as one
pipeline — one write and one read on one connection — instead of one round trip each
(a burst of Slack events). With `Durability.replicas` one `WAIT` closes each pipeline and
counts for every script before it on that connection. Nothing else changes: each script is
still atomic on its own, each caller still awaits its own script's reply (so nothing is
acknowledged to Slack before Redis has it, and replicas when asked), a script's error
reaches only its caller, and a lost connection reaches every caller of the batch (each
answers 503, Slack delivers again).

A Redis Cluster is not batched (a pipeline there splits by node): atomic.py sends each
script itself."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

Command = tuple[Any, ...]  # ("EVAL", source, n, *keys, *argv), ("ZADD", key, 0, member)…
Reply = tuple[list[Any], Any]  # (the commands' replies, WAIT's count or None)


@dataclass
class _Pending:
    commands: list[Command]  # sent together, in this order
    future: asyncio.Future[Reply]


class ScriptBatch:
    """The scripts of one client on one event loop: the one on the wire and those queued."""

    def __init__(self, client: aioredis.Redis, wait: tuple[int, int] | None) -> None:
        self.client = client
        self.wait = wait  # (replicas, timeout ms) for WAIT, or None
        self.loop = asyncio.get_running_loop()
        self.pending: list[_Pending] = []
        self.busy = False  # a pipeline is on the wire
        self.draining: set[asyncio.Task[None]] = set()

    async def run(self, commands: list[Command]) -> Reply:
        """Send `commands` (a script, and what must reach Redis just before it) in one
        pipeline with whatever else is waiting; their replies (an error as its exception)
        and WAIT's count."""
        item = _Pending(commands, self.loop.create_future())
        self.pending.append(item)
        if not self.busy:  # nothing on the wire: send now, in this request
            self.busy = True
            batch, self.pending = self.pending, []
            try:
                await self._send(batch)
            except asyncio.CancelledError:
                if item.future.done() and not item.future.cancelled():
                    item.future.exception()  # told to the others; this request is gone
                raise
            finally:
                if self.pending:  # queued meanwhile: sent by a task, not by this request
                    task = self.loop.create_task(self._drain())
                    self.draining.add(task)
                    task.add_done_callback(self.draining.discard)
                else:
                    self.busy = False
        return await item.future

    async def _drain(self) -> None:
        try:
            while self.pending:
                batch, self.pending = self.pending, []
                await self._send(batch)
        finally:
            self.busy = False

    async def _send(self, batch: list[_Pending]) -> None:
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                for p in batch:
                    for command in p.commands:
                        pipe.execute_command(*command)
                if self.wait is not None:
                    pipe.execute_command("WAIT", *self.wait)
                replies = await pipe.execute(raise_on_error=False)
        except asyncio.CancelledError:  # the sender went away: the others cannot know
            lost = RedisConnectionError("the pipeline's sender was cancelled")
            for p in batch:  # whether Redis has their writes; they answer 503, Slack retries
                if not p.future.done():
                    p.future.set_exception(lost)
            raise
        except Exception as exc:  # the connection: every caller of the batch is told
            for p in batch:
                if not p.future.done():
                    p.future.set_exception(exc)
            return
        acked = replies[-1] if self.wait is not None else None
        at = 0
        for p in batch:
            mine, at = replies[at : at + len(p.commands)], at + len(p.commands)
            if p.future.done():
                continue
            if isinstance(acked, Exception):
                p.future.set_exception(acked)
            else:
                p.future.set_result((mine, acked))
