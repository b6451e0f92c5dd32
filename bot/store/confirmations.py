"""Changes waiting for a person's "Resolve anyway": one JSON document per question under a
random reference, with an expiry. A reference is claimed once: the claim leaves a `used`
marker until the question would have expired, so a second click is told apart from an
expired one."""

from __future__ import annotations

from datetime import timedelta
from enum import Enum

from bot.store import keys
from bot.store.atomic import run_script
from bot.store.base import StoreBase
from bot.store.connection import guarded

USED = "used"

# KEYS[1] the pending change; ARGV[1] who clicks. -> {verdict, document or ''}
_CLAIM = """
local doc = redis.call('GET', KEYS[1])
if not doc then return {'expired', ''} end
if doc == 'used' then return {'used', ''} end
if cjson.decode(doc)['asked_of'] ~= ARGV[1] then return {'other', doc} end
redis.call('SET', KEYS[1], 'used', 'KEEPTTL')
return {'claimed', doc}
"""


class Claim(Enum):
    CLAIMED = "claimed"
    EXPIRED = "expired"  # never asked, or asked longer ago than the expiry
    USED = "used"  # claimed before
    OTHER = "other"  # asked of someone else (left for them)


class ConfirmationStore(StoreBase):
    @guarded
    async def put(self, ref: str, document: str, ttl: timedelta) -> None:
        await self.db.client.set(
            keys.pending_change(ref), document, px=max(1, int(ttl.total_seconds() * 1000))
        )

    @guarded
    async def claim(self, ref: str, user_id: str) -> tuple[Claim, str]:
        """(verdict, the document when asked of `user_id` or of someone else)."""
        verdict, document = await run_script(
            self.db, _CLAIM, [keys.pending_change(ref)], [user_id]
        )
        return Claim(_text(verdict)), _text(document)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
