"""A change a guard stopped until the person confirms it ("Resolve anyway").

Slack caps a button's value at 2,000 characters, and a resolve summary alone can be longer,
so the button carries only a reference: the change itself (what, which incident, its
arguments, whom it was asked of) waits in Redis for CONFIRMATION_TTL, as long as Slack lets
the bot replace the question through its response_url. Pressing the button claims the
reference once; an expired, reused or someone else's reference is answered in plain words
and changes nothing."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from pydantic import BaseModel, ValidationError

from bot.errors import ConfirmationNeeded, IncidentBotError
from bot.store.confirmations import Claim, ConfirmationStore

CONFIRMATION_TTL = timedelta(minutes=30)
REF = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
ASK_AGAIN = "Nothing changed; run the command again to be asked anew."


class PendingChange(BaseModel):
    change: str
    incident_id: str
    arguments: dict[str, str]
    asked_of: str
    label: str  # the button's words, e.g. "Resolve anyway"


class ConfirmationGone(IncidentBotError):
    """The button's reference cannot be used (expired, used, someone else's, unknown)."""


class PendingChanges:
    def __init__(self, store: ConfirmationStore, ttl: timedelta = CONFIRMATION_TTL) -> None:
        self.store = store
        self.ttl = ttl

    async def ask(self, error: ConfirmationNeeded, user_id: str) -> str:
        """Keep the stopped change; returns the reference for the button."""
        ref = secrets.token_urlsafe(18)
        pending = PendingChange(
            change=error.change,
            incident_id=error.incident_id,
            arguments=dict(error.arguments),
            asked_of=user_id,
            label=error.confirm_label,
        )
        await self.store.put(ref, pending.model_dump_json(), self.ttl)
        return ref

    async def take(self, ref: str, user_id: str) -> PendingChange:
        """The change behind `ref`, once, for the person it was asked of."""
        if not REF.match(ref):
            raise ConfirmationGone(f"This button is not one I can use. {ASK_AGAIN}")
        verdict, document = await self.store.claim(ref, user_id)
        minutes = int(self.ttl.total_seconds() // 60)
        if verdict is Claim.EXPIRED:
            raise ConfirmationGone(
                f"This confirmation has expired (a question stands for {minutes} minutes). "
                + ASK_AGAIN
            )
        if verdict is Claim.USED:
            raise ConfirmationGone(
                "This confirmation was already used: the change ran once. Nothing more changed."
            )
        try:
            pending = PendingChange.model_validate_json(document)
        except ValidationError as exc:
            raise ConfirmationGone(f"This confirmation cannot be read. {ASK_AGAIN}") from exc
        if verdict is Claim.OTHER:
            raise ConfirmationGone(
                f"This confirmation was asked of <@{pending.asked_of}>, not you. "
                "Nothing changed."
            )
        return pending
