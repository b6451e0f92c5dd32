"""Redis for the status page: public incidents and maintenance (each change one atomic
write that also bumps the page's version), the maintenance transitions the worker makes,
publishes waiting for a yes, subscribers, and the delivery outbox. Every key shares the
`{status}` hash tag (bot/store/keys.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import cast

from bot.statuspage.models import Maintenance, Notice, PublicIncident, Subscriber
from bot.store import keys
from bot.store.atomic import ABSENT, Write, apply, run_script, update
from bot.store.base import StoreBase
from bot.store.connection import guarded, unavailable

# claim due members: push each one's score to ARGV[2] (the claim's expiry), so another
# worker skips it until then; returns the members claimed
_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, m in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], m) end
return due
"""


class StatusPageStore(StoreBase):
    # --- the page's version ---------------------------------------------------------

    @guarded
    async def version(self) -> int:
        return int(await self.db.client.get(keys.status_version()) or 0)

    @guarded
    async def bump(self) -> int:
        return int(await self.db.client.incr(keys.status_version()))

    # --- public incidents -----------------------------------------------------------

    @guarded
    async def public_incident(self, public_id: str) -> PublicIncident | None:
        raw = await self.db.client.get(keys.status_incident(public_id))
        return None if raw is None else PublicIncident.model_validate_json(raw)

    @guarded
    async def public_incident_of(self, incident_id: str) -> PublicIncident | None:
        public_id = await self.db.client.get(keys.status_incident_of(incident_id))
        return None if public_id is None else await self.public_incident(str(public_id))

    @guarded
    async def create_incident(self, incident: PublicIncident) -> bool:
        """False when the incident already has a public incident (another yes won)."""
        writes = [
            Write("SET", keys.status_incident_of(incident.incident_id), (incident.id,)),
            Write("SET", keys.status_incident(incident.id), (incident.model_dump_json(),)),
            Write("ZADD", keys.status_incidents(), (incident.created_at.timestamp(), incident.id)),
            Write("INCR", keys.status_version()),
        ]
        done = await apply(self.db, writes, guard=keys.status_incident_of(incident.incident_id),
                           expect=ABSENT)
        return done is not None

    @guarded
    async def change_incident(
        self, public_id: str, change: Callable[[PublicIncident], PublicIncident]
    ) -> PublicIncident:
        """Read, change and write back (optimistic); `change` may raise to refuse."""
        key = keys.status_incident(public_id)
        result: list[PublicIncident] = []

        async def decide(raw: str | None) -> list[Write]:
            if raw is None:
                raise unavailable(f"the public incident {public_id} is gone")
            result.clear()
            result.append(change(PublicIncident.model_validate_json(raw)))
            return [Write("SET", key, (result[0].model_dump_json(),)),
                    Write("INCR", keys.status_version())]

        await update(self.db, key, decide)
        return result[0]

    @guarded
    async def public_incidents(self, since: datetime) -> list[PublicIncident]:
        ids = await self.db.client.zrangebyscore(keys.status_incidents(), since.timestamp(),
                                                 "+inf")
        raws = await self.get_many([keys.status_incident(str(i)) for i in ids])
        return [PublicIncident.model_validate_json(r) for r in raws if r is not None]

    @guarded
    async def open_incidents(self) -> list[PublicIncident]:
        """Every unresolved public incident, however old."""
        ids = await self.db.client.zrange(keys.status_incidents(), 0, -1)
        raws = await self.get_many([keys.status_incident(str(i)) for i in ids])
        found = [PublicIncident.model_validate_json(r) for r in raws if r is not None]
        return [i for i in found if i.is_open]

    # --- maintenance ----------------------------------------------------------------

    @guarded
    async def create_maintenance(self, m: Maintenance) -> None:
        await apply(self.db, [
            Write("SET", keys.status_maintenance(m.id), (m.model_dump_json(),)),
            Write("ZADD", keys.status_maintenances(), (m.scheduled_for.timestamp(), m.id)),
            Write("INCR", keys.status_version()),
        ])

    @guarded
    async def maintenance(self, maintenance_id: str) -> Maintenance | None:
        raw = await self.db.client.get(keys.status_maintenance(maintenance_id))
        return None if raw is None else Maintenance.model_validate_json(raw)

    @guarded
    async def change_maintenance(
        self, maintenance_id: str, change: Callable[[Maintenance], Maintenance | None]
    ) -> Maintenance | None:
        """Optimistic; `change` returns None to leave it as it is."""
        key = keys.status_maintenance(maintenance_id)
        result: list[Maintenance | None] = [None]

        async def decide(raw: str | None) -> list[Write]:
            result[0] = None
            if raw is None:
                return []
            changed = change(Maintenance.model_validate_json(raw))
            if changed is None:
                return []
            result[0] = changed
            return [Write("SET", key, (changed.model_dump_json(),)),
                    Write("INCR", keys.status_version())]

        await update(self.db, key, decide)
        return result[0]

    @guarded
    async def maintenances(self, since: datetime) -> list[Maintenance]:
        """Maintenance starting after `since`, or still open."""
        ids = await self.db.client.zrange(keys.status_maintenances(), 0, -1)
        raws = await self.get_many([keys.status_maintenance(str(i)) for i in ids])
        found = [Maintenance.model_validate_json(r) for r in raws if r is not None]
        return [m for m in found if m.is_open or m.scheduled_until >= since]

    # --- a publish waiting for a yes --------------------------------------------------

    @guarded
    async def keep_draft(self, ref: str, body: str, ttl: timedelta) -> None:
        await self.db.client.set(keys.status_draft(ref), body, ex=int(ttl.total_seconds()))

    @guarded
    async def draft(self, ref: str) -> str | None:
        raw = await self.db.client.get(keys.status_draft(ref))
        return None if raw is None else str(raw)

    @guarded
    async def take_draft(self, ref: str) -> str | None:
        """The draft, once: a second click finds nothing."""
        raw = await self.db.client.getdel(keys.status_draft(ref))
        return None if raw is None else str(raw)

    # --- subscribers ----------------------------------------------------------------

    @guarded
    async def add_subscriber(self, sub: Subscriber) -> None:
        await apply(self.db, [
            Write("SET", keys.status_subscriber(sub.id), (sub.model_dump_json(),)),
            Write("SADD", keys.status_subscribers(), (sub.id,)),
            Write("SET", keys.status_subscriber_token(sub.token), (sub.id,)),
        ])

    @guarded
    async def subscriber(self, subscriber_id: str) -> Subscriber | None:
        raw = await self.db.client.get(keys.status_subscriber(subscriber_id))
        return None if raw is None else Subscriber.model_validate_json(raw)

    @guarded
    async def subscriber_by_token(self, token: str) -> Subscriber | None:
        sid = await self.db.client.get(keys.status_subscriber_token(token))
        return None if sid is None else await self.subscriber(str(sid))

    @guarded
    async def save_subscriber(self, sub: Subscriber) -> None:
        await self.db.client.set(keys.status_subscriber(sub.id), sub.model_dump_json())

    @guarded
    async def remove_subscriber(self, sub: Subscriber) -> None:
        await apply(self.db, [
            Write("DEL", keys.status_subscriber(sub.id)),
            Write("SREM", keys.status_subscribers(), (sub.id,)),
            Write("DEL", keys.status_subscriber_token(sub.token)),
        ])

    @guarded
    async def subscribers(self) -> list[Subscriber]:
        ids = sorted(str(i) for i in await cast(
            Awaitable[set[str]], self.db.client.smembers(keys.status_subscribers())))
        raws = await self.get_many([keys.status_subscriber(i) for i in ids])
        return [Subscriber.model_validate_json(r) for r in raws if r is not None]

    # --- the delivery outbox ----------------------------------------------------------

    @guarded
    async def enqueue(self, notice: Notice, subscriber_ids: list[str], due: datetime) -> int:
        """Queue one delivery per subscriber; a notice already queued is not queued again.
        Returns how many were queued."""
        first = await self.db.client.set(keys.status_notice(notice.id), notice.model_dump_json(),
                                         nx=True, ex=int(timedelta(days=30).total_seconds()))
        if not first or not subscriber_ids:
            return 0
        members = {f"{notice.id}|{sid}|1": due.timestamp() for sid in subscriber_ids}
        await self.db.client.zadd(keys.status_outbox(), members)
        return len(members)

    @guarded
    async def claim_deliveries(
        self, now: datetime, hold: timedelta, limit: int = 20
    ) -> list[str]:
        due = await run_script(self.db, _CLAIM, [keys.status_outbox()],
                               [now.timestamp(), (now + hold).timestamp(), limit])
        return [str(m) for m in due]

    @guarded
    async def notice(self, notice_id: str) -> Notice | None:
        raw = await self.db.client.get(keys.status_notice(notice_id))
        return None if raw is None else Notice.model_validate_json(raw)

    @guarded
    async def was_delivered(self, notice_id: str, subscriber_id: str) -> bool:
        return bool(await self.db.client.exists(keys.status_delivered(notice_id, subscriber_id)))

    @guarded
    async def delivered(self, member: str, notice_id: str, subscriber_id: str) -> None:
        await apply(self.db, [
            Write("SET", keys.status_delivered(notice_id, subscriber_id), ("1", "EX", 2592000)),
            Write("ZREM", keys.status_outbox(), (member,)),
        ])

    @guarded
    async def retry_later(self, member: str, again: str | None, due: datetime) -> None:
        """Drop `member`; queue `again` (the next attempt) at `due`, if given."""
        writes = [Write("ZREM", keys.status_outbox(), (member,))]
        if again is not None:
            writes.append(Write("ZADD", keys.status_outbox(), (due.timestamp(), again)))
        await apply(self.db, writes)

    @guarded
    async def waiting(self) -> int:
        return int(await self.db.client.zcard(keys.status_outbox()))

    # --- the mirror to Statuspage ----------------------------------------------------

    @guarded
    async def queue_mirror(self, subject: str, due: datetime) -> None:
        await self.db.client.zadd(keys.status_mirror_queue(), {subject: due.timestamp()})

    @guarded
    async def claim_mirror(self, now: datetime, hold: timedelta) -> list[str]:
        due = await run_script(self.db, _CLAIM, [keys.status_mirror_queue()],
                               [now.timestamp(), (now + hold).timestamp(), 10])
        return [str(m) for m in due]

    @guarded
    async def mirrored(self, subject: str, *, again_at: datetime | None = None) -> None:
        """Done with `subject` (or try again at `again_at`)."""
        if again_at is None:
            await self.db.client.zrem(keys.status_mirror_queue(), subject)
        else:
            await self.db.client.zadd(keys.status_mirror_queue(), {subject: again_at.timestamp()})

    @guarded
    async def mirror_state(self, subject: str) -> dict[str, str]:
        raw = await cast(Awaitable[dict[str, str]],
                         self.db.client.hgetall(keys.status_mirror(subject)))
        return {str(k): str(v) for k, v in raw.items()}

    @guarded
    async def set_mirror_state(self, subject: str, **values: str) -> None:
        await cast(Awaitable[int], self.db.client.hset(keys.status_mirror(subject),
                                                       mapping=values))

