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

The batch owns one connection of the client's pool (one pipeline is on the wire at a time),
so a write does not take a connection from the pool and give it back each time; it is
checked before each write as the pool checks what it lends, and a lost connection is
retried as redis-py retries a pipeline (the client's `retry` policy), then reaches every
caller of the batch.

A Redis Cluster is not batched (a pipeline there splits by node): atomic.py sends each
script itself."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import hiredis
import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

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
        self.connection: AbstractConnection | None = None  # the batch's own, from the pool

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

    async def _exchange(self, conn: AbstractConnection, commands: list[Command]) -> list[Any]:
        """One write, then each command's reply in order (an error reply as its exception).
        Packed by hiredis's C packer, as redis-py's own sync connections do (its asyncio
        connections pack in Python)."""
        await conn.send_packed_command(b"".join(hiredis.pack_command(c) for c in commands))
        replies: list[Any] = []
        for _ in commands:
            try:
                replies.append(await conn.read_response())
            except ResponseError as exc:
                replies.append(exc)
        return replies

    async def _send(self, batch: list[_Pending]) -> None:
        commands = [command for p in batch for command in p.commands]
        if self.wait is not None:
            commands.append(("WAIT", *self.wait))
        conn = self.connection
        pool = self.client.connection_pool
        try:
            if conn is None:
                conn = self.connection = await pool.get_connection()  # type: ignore[no-untyped-call]
            else:  # as the pool checks what it lends: a connection the server closed reconnects
                await pool.ensure_connection(conn)
            held = conn
            replies = await held.retry.call_with_retry(
                lambda: self._exchange(held, commands), lambda _error: held.disconnect()
            )
        except asyncio.CancelledError:  # the sender went away: the others cannot know
            if conn is not None:  # replies may be left on the wire: start afresh
                await conn.disconnect(nowait=True)
            lost = RedisConnectionError("the pipeline's sender was cancelled")
            for p in batch:  # whether Redis has their writes; they answer 503, Slack retries
                if not p.future.done():
                    p.future.set_exception(lost)
            raise
        except Exception as exc:  # the connection: every caller of the batch is told
            if conn is not None:
                await conn.disconnect(nowait=True)
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
