"""Subscribers: webhooks (deliveries signed with HMAC-SHA256 over the body, the secret
shown once), email (double opt-in: a first mail with a confirm link; an unsubscribe link in
every mail) and, for anyone, the Atom feed. Each publish queues one delivery per
subscriber who wants its components in a Redis outbox; the worker delivers them, retrying
with backoff, and marks each one delivered so a retry never sends it twice."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from datetime import timedelta
from typing import Protocol

import structlog

from bot.clock import Clock
from bot.errors import IncidentBotError, UsageError
from bot.statuspage.components import Components
from bot.statuspage.models import (
    Maintenance,
    Notice,
    PublicIncident,
    PublicUpdate,
    Subscriber,
)
from bot.statuspage.service import new_id
from bot.statuspage.shapes import incident as incident_json
from bot.statuspage.shapes import maintenance as maintenance_json
from bot.statuspage.snapshot import Snapshots
from bot.store.statuspage import StatusPageStore

log = structlog.get_logger(__name__)
SIGNATURE_HEADER = "X-Status-Signature"
DELIVERY_HEADER = "X-Status-Delivery"
HOLD = timedelta(minutes=2)  # a claimed delivery is retried after this if its worker died
BACKOFF = timedelta(seconds=30)
MAX_ATTEMPTS = 8  # 30 s, 1 m, 2 m … about an hour in all
EMAIL = r"^[^@\s<>\"']{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,}$"


class DeliveryFailed(Exception):
    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.retryable = retryable


class Mailer(Protocol):
    async def send(self, to: str, subject: str, text: str, headers: dict[str, str]) -> None: ...


class HookSender(Protocol):
    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> None: ...


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class SubscriberService:
    def __init__(
        self,
        *,
        pages: StatusPageStore,
        clock: Clock,
        components: Components,
        snapshots: Snapshots,
        hooks: HookSender,
        mailer: Mailer | None,
        url: str,
        title: str,
    ) -> None:
        self.pages = pages
        self.clock = clock
        self.components = components
        self.snapshots = snapshots
        self.hooks = hooks
        self.mailer = mailer
        self.url = url.rstrip("/")
        self.title = title

    # --- subscribing -----------------------------------------------------------------

    def _components(self, names: list[str]) -> list[str]:
        out = []
        for name in names:
            found = self.components.find(name)
            if found is None or found.internal:
                raise UsageError(f"{name!r} is not a component of this page.")
            out.append(found.name)
        return out

    async def subscribe_webhook(self, url: str, names: list[str]) -> tuple[Subscriber, str]:
        """The subscriber and its secret (shown to the person once, never again)."""
        if not url.startswith(("https://", "http://")) or len(url) > 500 or " " in url:
            raise UsageError("Give the webhook's full http(s) URL.")
        secret = secrets.token_hex(32)
        sub = Subscriber(id=new_id(), kind="webhook", target=url,
                         components=self._components(names), secret=secret,
                         token=secrets.token_urlsafe(24), confirmed=True, created_at=self.clock())
        await self.pages.add_subscriber(sub)
        return sub, secret

    async def subscribe_email(self, address: str, names: list[str]) -> Subscriber:
        """A pending subscriber; the confirm mail goes out through the outbox."""
        if self.mailer is None:
            raise IncidentBotError("Email subscriptions are not set up (SMTP_URL).")
        address = address.strip()
        if not re.match(EMAIL, address):
            raise UsageError("That is not an email address.")
        sub = Subscriber(id=new_id(), kind="email", target=address,
                         components=self._components(names), token=secrets.token_urlsafe(24),
                         created_at=self.clock())
        await self.pages.add_subscriber(sub)
        notice = Notice(
            id=f"confirm:{sub.id}", kind="confirm", subject_id=sub.id, update_id="confirm",
            components=[], at=self.clock(), subject=f"Confirm your subscription to {self.title}",
            text=(f"Someone (we hope you) asked to get {self.title} status updates by email.\n\n"
                  f"Confirm: {self.url}/subscriptions/confirm/{sub.token}\n\n"
                  "If it was not you, ignore this mail: nothing more will be sent."),
        )
        await self.pages.enqueue(notice, [sub.id], self.clock())
        return sub

    async def confirm(self, token: str) -> Subscriber | None:
        sub = await self.pages.subscriber_by_token(token)
        if sub is None:
            return None
        if not sub.confirmed:
            sub = sub.model_copy(update={"confirmed": True})
            await self.pages.save_subscriber(sub)
        return sub

    async def unsubscribe(self, token: str) -> Subscriber | None:
        sub = await self.pages.subscriber_by_token(token)
        if sub is not None:
            await self.pages.remove_subscriber(sub)
        return sub

    # --- telling them ------------------------------------------------------------------

    async def notify(self, subject: PublicIncident | Maintenance, update: PublicUpdate) -> int:
        """A follower of every publish: queue a delivery per subscriber who wants it."""
        if subject.internal:
            return 0
        public = {c.name.lower() for c in self.components.public}
        names = [n for n in (update.components or _names(subject)) if n.lower() in public]
        if not names:
            return 0
        kind = "incident" if isinstance(subject, PublicIncident) else "maintenance"
        view = (await self.snapshots.refresh()).views["public"]
        payload: dict[str, object] = {
            "meta": {"unsubscribe": "", "documentation": f"{self.url}"},
            "page": {"id": view.title, "status_indicator": view.indicator,
                     "status_description": view.description},
            "incident": incident_json(subject, view) if isinstance(subject, PublicIncident)
            else maintenance_json(subject, view),
        }
        status = update.status.replace("_", " ").capitalize()
        notice = Notice(
            id=f"{subject.id}:{update.id}", kind=kind, subject_id=subject.id,
            update_id=update.id, components=names, at=update.at, payload=payload,
            subject=f"[{self.title}] {subject.name}: {status}",
            text=(f"{subject.name} — {status}\n\n{update.body}\n\n"
                  f"Affected: {', '.join(names)}\n"
                  f"{self.url}/{'incidents' if kind == 'incident' else 'maintenance'}/"
                  f"{subject.id}"),
        )
        subs = [s for s in await self.pages.subscribers()
                if (s.kind == "webhook" or (s.confirmed and self.mailer is not None))
                and s.wants(names)]
        return await self.pages.enqueue(notice, [s.id for s in subs], self.clock())

    async def deliver_due(self) -> int:
        """The worker's job: deliver what is due; returns how many went out."""
        now = self.clock()
        sent = 0
        for member in await self.pages.claim_deliveries(now, HOLD):
            notice_id, sub_id, attempt = _parse(member)
            notice = await self.pages.notice(notice_id)
            sub = await self.pages.subscriber(sub_id)
            if notice is None or sub is None or await self.pages.was_delivered(notice_id, sub_id):
                await self.pages.retry_later(member, None, now)
                continue
            try:
                await self._send(notice, sub)
            except DeliveryFailed as exc:
                again = attempt < MAX_ATTEMPTS and exc.retryable
                log.warning("status_delivery_failed", subscriber=sub.id, kind=sub.kind,
                            attempt=attempt, reason=str(exc), again=again)
                await self.pages.retry_later(
                    member, f"{notice_id}|{sub_id}|{attempt + 1}" if again else None,
                    now + BACKOFF * (2 ** (attempt - 1)),
                )
                continue
            await self.pages.delivered(member, notice_id, sub_id)
            sent += 1
        return sent

    async def _send(self, notice: Notice, sub: Subscriber) -> None:
        unsubscribe = f"{self.url}/subscriptions/unsubscribe/{sub.token}"
        if sub.kind == "webhook":
            payload = dict(notice.payload)
            payload["meta"] = {"unsubscribe": unsubscribe, "documentation": self.url}
            body = json.dumps(payload, separators=(",", ":")).encode()
            await self.hooks.post(sub.target, body, {
                "Content-Type": "application/json", SIGNATURE_HEADER: signature(sub.secret, body),
                DELIVERY_HEADER: f"{notice.id}:{sub.id}",
            })
            return
        if self.mailer is None:
            raise DeliveryFailed("email is not set up", retryable=False)
        text = f"{notice.text}\n\n--\nUnsubscribe: {unsubscribe}\n"
        await self.mailer.send(sub.target, notice.subject, text, {
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        })


def _names(subject: PublicIncident | Maintenance) -> list[str]:
    return list(subject.components)


def _parse(member: str) -> tuple[str, str, int]:
    notice_id, sub_id, attempt = member.rsplit("|", 2)
    return notice_id, sub_id, int(attempt)


__all__ = ["DeliveryFailed", "HookSender", "Mailer", "SubscriberService", "signature"]

