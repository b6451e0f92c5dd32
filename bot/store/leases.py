"""Leases: "only one process does this now", with an expiry instead of a lock held forever.

Any number of `serve` and `worker` replicas may run. Work that must happen once (a
reminder, an escalation, the weekly digest, one run of a scheduled scan) is guarded by

* a **lease** (`acquire`): a key set only if absent, holding the holder's random token,
  that expires by itself after `ttl` — a worker killed mid-job blocks the work for at most
  `ttl`, then another worker takes it. `release` and `extend` act only if the lease is still
  the caller's own (compare the token in a script), so a slow holder whose lease already
  expired can never release someone else's;
* a **done marker** (`mark_done` / `is_done`): set after the work succeeded, so a second
  holder after an expiry sees it was finished and does not repeat it.

    async with leases.hold("digest:2026-W48", ttl=timedelta(minutes=5)) as lease:
        if lease and not await leases.is_done("digest:2026-W48"):
            await post_digest()
            await leases.mark_done("digest:2026-W48", keep=timedelta(days=30))

`run_once` wraps exactly that. Lease names are free text; keys come from bot/store/keys.py.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from bot.store import keys
from bot.store.atomic import run_script
from bot.store.connection import Db, guarded

T = TypeVar("T")

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


def _ms(ttl: timedelta) -> int:
    return max(1, int(ttl.total_seconds() * 1000))


@dataclass(frozen=True)
class Lease:
    key: str
    token: str


class Leases:
    def __init__(self, db: Db, *, holder: str | None = None) -> None:
        self.db = db
        self.holder = holder or uuid.uuid4().hex[:8]

    @guarded
    async def acquire(
        self, name: str, ttl: timedelta, *, key: str | None = None, token: str | None = None
    ) -> Lease | None:
        """The lease, or None when another holder has it. `key` overrides the key (for
        claims whose keys predate this module)."""
        lease = Lease(key or keys.lease(name), token or f"{self.holder}:{uuid.uuid4().hex}")
        ok = await self.db.client.set(lease.key, lease.token, nx=True, px=_ms(ttl))
        return lease if ok else None

    @guarded
    async def release(self, lease: Lease) -> bool:
        """Drop the lease if it is still ours; False when it had expired or was taken."""
        return bool(await run_script(self.db, _RELEASE, [lease.key], [lease.token]))

    @guarded
    async def extend(self, lease: Lease, ttl: timedelta) -> bool:
        """Keep a long job's lease; False when it was lost (stop the job)."""
        return bool(await run_script(self.db, _EXTEND, [lease.key], [lease.token, _ms(ttl)]))

    @contextlib.asynccontextmanager
    async def hold(self, name: str, ttl: timedelta) -> AsyncIterator[Lease | None]:
        lease = await self.acquire(name, ttl)
        try:
            yield lease
        finally:
            if lease is not None:
                with contextlib.suppress(Exception):
                    await self.release(lease)

    @guarded
    async def is_done(self, name: str) -> bool:
        return bool(await self.db.client.exists(keys.done(name)))

    @guarded
    async def mark_done(self, name: str, keep: timedelta) -> None:
        await self.db.client.set(keys.done(name), self.holder, px=_ms(keep))

    async def run_once(
        self, name: str, job: Callable[[], Awaitable[T]], *, ttl: timedelta, keep: timedelta
    ) -> tuple[bool, T | None]:
        """Run `job` once across every replica: under a lease, unless already done. Returns
        (ran, result). A job that raises is not marked done (the next holder retries)."""
        async with self.hold(name, ttl) as lease:
            if lease is None or await self.is_done(name):
                return False, None
            result = await job()
            await self.mark_done(name, keep)
            return True, result
