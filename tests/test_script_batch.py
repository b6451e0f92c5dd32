"""The script batch's own packing (hiredis's C packer) writes the same bytes as redis-py's
asyncio connection would, for every kind of argument the stores send."""

from __future__ import annotations

import hiredis
import redis.asyncio as aioredis


def test_the_batch_packs_commands_as_redis_py_does() -> None:
    client = aioredis.Redis(decode_responses=True)
    conn = client.connection_pool.make_connection()
    commands = [
        ("EVAL", "return {KEYS[1], ARGV[1]}", 2, "{ix}:word:café", "{INC-7}:t",
         "1795000000.123456", 0, -3, 12.5, "emoji 🚨 and \"quotes\"\r\n"),
        ("WAIT", 1, 500),
    ]
    assert b"".join(hiredis.pack_command(c) for c in commands) == b"".join(
        conn.pack_commands(commands)
    )
