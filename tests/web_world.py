"""Incidents for the web app's tests, written through the store (the same writes the bot
makes, so the search index is maintained), with real channels in the emulator so the read
rule asks Slack who is in them.

    world = await web_world(site)       # public, private, resolved, hostile titles…
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.incidents.models import Incident, Role, Severity, Status
from bot.store.redis_store import RedisStore
from bot.timeline.models import EventKind, TimelineEvent
from sandbox.slack_emulator import SlackEmulator

HOSTILE_TITLE = '<script>alert("title")</script>"><img src=x onerror=alert(1)>'
HOSTILE_TEXT = '"><img src=x onerror=alert(2)> <script>alert(3)</script> [x](javascript:alert(4))'
NOW = datetime.now(UTC).replace(microsecond=0)


@dataclass
class World:
    checkout: Incident  # SEV2, checkout-api, resolved, 40 days ago
    login: Incident  # SEV1, auth, open, 2 days ago
    hostile: Incident  # SEV3, open, a title and messages that try to run script
    secret: Incident  # SEV2, private: only bob and charlie are in its channel
    old: list[Incident]  # 30 SEV4 incidents on "search", for pagination


async def add_incident(
    store: RedisStore, slack: SlackEmulator, *, title: str, when: datetime,
    severity: int = 3, services: list[str] | None = None, status: Status = Status.INVESTIGATING,
    private: bool = False, members: list[str] | None = None, ic: str = "U0ALICE",
    summary: str | None = None, messages: list[str] | None = None,
) -> Incident:
    incident_id = await store.next_incident_id(when)
    name = f"inc-{incident_id.lower()}"
    channel = slack.add_channel(name, members=[*(members or ["U0ALICE", "U0BOB"]), "U0BOT"],
                                is_private=private)
    incident = Incident(
        id=incident_id, title=title, severity=Severity(severity), status=status,
        services=services or [], channel_id=channel.id, channel_name=name,
        roles={Role.IC: ic}, declared_by=ic, declared_at=when, private=private,
        resolved_at=when + timedelta(minutes=45) if status is Status.RESOLVED else None,
        resolution_summary=summary,
    )
    await store.create_incident(
        incident, TimelineEvent(kind=EventKind.DECLARED, at=when, actor=ic,
                                text=f"Declared {incident.severity.label}: {title}"))
    for n, text in enumerate(messages or []):
        await store.append_event(incident.id, TimelineEvent(
            kind=EventKind.MESSAGE, at=when + timedelta(minutes=n + 1), actor="U0BOB",
            text=text, message_ts=f"{when.timestamp() + n + 1:.6f}"))
    return incident


async def web_world(store: RedisStore, slack: SlackEmulator) -> World:
    checkout = await add_incident(
        store, slack, title="Checkout API returning 500s", when=NOW - timedelta(days=40),
        severity=2, services=["checkout-api"], status=Status.RESOLVED,
        summary="connection pool exhausted by a slow query",
        messages=["db pool saturated at 100%", "rolled back the deploy"])
    login = await add_incident(
        store, slack, title="Login page down", when=NOW - timedelta(days=2), severity=1,
        services=["auth"], messages=["redis for sessions is refusing connections"])
    hostile = await add_incident(
        store, slack, title=HOSTILE_TITLE, when=NOW - timedelta(days=1), severity=3,
        services=["web"], messages=[HOSTILE_TEXT])
    secret = await add_incident(
        store, slack, title="Payroll export leaked to a vendor", when=NOW - timedelta(hours=5),
        severity=2, services=["payroll"], private=True, members=["U0BOB", "U0CHARLIE"],
        ic="U0BOB", messages=["legal is informed"])
    old = [await add_incident(store, slack, title=f"Search slow {n}",
                              when=NOW - timedelta(days=60, hours=n), severity=4,
                              services=["search"], status=Status.RESOLVED)
           for n in range(30)]
    return World(checkout, login, hostile, secret, old)
