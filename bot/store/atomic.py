"""The one way the stores change several keys at once, and the one optimistic update.

A change is a list of `Write`s run by one Lua script, so it is atomic on a single Redis,
behind Sentinel and on a Redis Cluster alike. All its keys must share one hash slot (see
bot/store/keys.py); `slot_check` refuses anything else before Redis is asked, so a key
design mistake fails in every test run, not only on a cluster (no CROSSSLOT, ever).

Optimistic updates (`update`) read the record, let the caller decide the writes, and
commit only if the record is still what was read (compare-and-set in the same script),
retrying otherwise. This replaces WATCH/MULTI: redis-py's asyncio cluster client cannot
WATCH on the event loop it runs in, while a script runs the same everywhere.

When the store must be durable (`Durability.replicas` > 0), the script and `WAIT n ms`
go out on one connection, so WAIT counts this write (and any sent with it: scripts of
concurrent requests share one pipeline, bot/store/batching.py); fewer acks →
StoreUnavailable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import orjson
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot

from bot.store.batching import ScriptBatch
from bot.store.connection import Db, unavailable

Arg = str | int | float


class CrossSlotWrite(Exception):
    """A programming error: one atomic change touched keys in different hash slots."""


@dataclass(frozen=True)
class Write:
    """One Redis command on one key, e.g. Write("XADD", key, ("*", "v", json))."""

    command: str
    key: str
    args: tuple[Arg, ...] = ()


# KEYS[1] the guarded record; ARGV[1] 'any' | 'absent' | 'equals', ARGV[2] the value read,
# ARGV[3] JSON [[command, key index, args...], ...]. Returns {1, replies...} or {0}.
APPLY_LUA = """
local mode = ARGV[1]
if mode ~= 'any' then
  local cur = redis.call('GET', KEYS[1])
  if mode == 'absent' and cur then return {0} end
  if mode == 'equals' and cur ~= ARGV[2] then return {0} end
end
local out = {1}
for _, op in ipairs(cjson.decode(ARGV[3])) do
  local args = {op[1], KEYS[op[2]]}
  for i = 3, #op do args[#args + 1] = op[i] end
  local reply = redis.call(unpack(args))
  if type(reply) == 'table' and reply.ok then reply = reply.ok end
  out[#out + 1] = reply
end
return out
"""

ABSENT = object()  # `expect=ABSENT`: commit only if the guarded key does not exist
ANY = object()  # `expect=ANY`: no guard


def slot_check(keys: Sequence[str]) -> None:
    slots = {key_slot(k.encode()) for k in keys}
    if len(slots) > 1:
        raise CrossSlotWrite(f"one atomic write spans hash slots: {sorted(set(keys))}")


def _arg(v: Arg) -> str:
    return repr(v) if isinstance(v, float) else str(v)


async def run_script(
    db: Db, source: str, keys: list[str], args: list[Arg], *,
    first: Sequence[tuple[Arg, ...]] = (),
) -> Any:
    """EVAL `source` over `keys` (one slot), then WAIT for replicas when durability asks.
    `first`: single-key commands that must reach Redis before the script (an index entry
    written before its record); they go in the same pipeline, just before it, so the whole
    write is one round trip (on a Cluster they are sent first, on their own)."""
    slot_check(keys)
    client = db.client
    argv = [_arg(a) for a in args]
    need = db.durability.replicas
    if not isinstance(client, RedisCluster):  # with the other requests' (bot/store/batching.py)
        wait = (need, db.durability.timeout_ms) if need > 0 else None
        commands = [*first, ("EVAL", source, len(keys), *keys, *argv)]
        replies, acked = await batch_for(db, client, wait).run(commands)
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        if need > 0 and int(acked) < need:
            raise unavailable(f"the write reached {acked} of {need} replicas in time")
        return replies[-1]
    if first:
        async with client.pipeline(transaction=False) as pipe:
            for command in first:
                pipe.execute_command(*command)
            await pipe.execute()
    if need <= 0:  # EVALSHA (the script body is sent once per server, not per write)
        script = client.register_script(source)  # type: ignore[misc]
        return await script(keys=keys, args=argv)
    wait_cmd = ("WAIT", need, db.durability.timeout_ms)
    reply, acked = await _cluster_eval_and_wait(client, source, keys, argv, wait_cmd)
    if int(acked) < need:
        raise unavailable(f"the write reached {acked} of {need} replicas in time")
    return reply


async def _cluster_eval_and_wait(
    client: RedisCluster, source: str, keys: list[str], argv: list[str], wait: tuple[Any, ...]
) -> tuple[Any, Any]:
    """EVAL and WAIT on the same connection to the primary that owns the slot (WAIT counts
    the replication of the writes made on its own connection)."""
    if client._initialize:
        await client.initialize()
    node = client.get_node_from_key(keys[0])
    if node is None:
        raise unavailable(f"no cluster node serves {keys[0]}")
    conn = node.acquire_connection()
    try:
        await conn.send_packed_command(
            conn.pack_commands([("EVAL", source, len(keys), *keys, *argv), wait]), False
        )
        reply = await conn.read_response()
        acked = await conn.read_response()
    except BaseException:
        await conn.disconnect()
        raise
    finally:
        node.release(conn)
    if isinstance(reply, Exception):
        raise reply
    return reply, acked


async def apply(
    db: Db, writes: Sequence[Write], *, guard: str | None = None, expect: object = ANY,
    first: Sequence[tuple[Arg, ...]] = (),
) -> list[Any] | None:
    """Run `writes` atomically; with `guard` and `expect` (a value read before, ABSENT or
    ANY) only if the guarded key still holds it. Returns the replies, or None on conflict.
    `first`: commands sent just before, in the same round trip (see run_script)."""
    order: list[str] = []
    if guard is not None:
        order.append(guard)
    for w in writes:
        if w.key not in order:
            order.append(w.key)
    if not order:
        return []
    mode, seen = "any", ""
    if expect is ABSENT:
        mode = "absent"
    elif expect is not ANY:
        mode, seen = "equals", str(expect)
    ops = [[w.command, order.index(w.key) + 1, *(_arg(a) for a in w.args)] for w in writes]
    reply = await run_script(
        db, APPLY_LUA, order, [mode, seen, orjson.dumps(ops).decode()], first=first
    )
    out = cast(list[Any], reply)
    if not out or int(out[0]) == 0:
        return None
    return out[1:]


Decide = Callable[[str | None], Awaitable[Sequence[Write]]]

MAX_ATTEMPTS = 100


async def update(db: Db, key: str, decide: Decide) -> list[Any]:
    """The optimistic update every store uses: read `key`, let `decide` (which may raise to
    refuse) return the writes for what it read, commit them only if `key` is unchanged,
    else read again. Returns the replies of the writes."""
    for _ in range(MAX_ATTEMPTS):
        raw = await db.client.get(key)
        writes = await decide(None if raw is None else str(raw))
        replies = await apply(db, writes, guard=key, expect=ABSENT if raw is None else str(raw))
        if replies is not None:
            return replies
    raise unavailable(f"{key} kept changing under {MAX_ATTEMPTS} attempts")


def batch_for(db: Db, client: aioredis.Redis, wait: tuple[int, int] | None) -> ScriptBatch:
    """The Db's batch for the running loop (bot/store/batching.py), made on first use."""
    batch = db.script_batch
    if batch is None or batch.loop is not asyncio.get_running_loop() or batch.wait != wait:
        batch = db.script_batch = ScriptBatch(client, wait)
    return batch
