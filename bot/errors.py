"""Typed domain errors. The app's single error handler turns them into ephemeral replies."""

from __future__ import annotations

from bot.tallies import REDIS_ERRORS, tally


class IncidentBotError(Exception):
    """An error the user can act on; `usage` is shown with it when set."""

    def __init__(self, message: str, *, usage: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


class UsageError(IncidentBotError):
    """The command text could not be understood."""


class NotFound(IncidentBotError):
    """An incident, action item or user that does not exist."""


class NotInIncidentChannel(IncidentBotError):
    """A channel-scoped command used outside an incident channel without id:."""


class PermissionDenied(IncidentBotError):
    """The user may not do this."""


class InvalidTransition(IncidentBotError):
    """A status or lifecycle change that is not allowed from the current state."""


class StoreUnavailable(IncidentBotError):
    """Redis cannot be reached; nothing was changed."""

    def __init__(self, message: str, *, usage: str | None = None) -> None:
        super().__init__(message, usage=usage)
        tally(REDIS_ERRORS)  # incident_bot_redis_errors_total


class ChatError(IncidentBotError):
    """The chat platform refused a call; `code` is its error name (e.g. name_taken)."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


class ConfirmationNeeded(IncidentBotError):
    """A guard stopped a change until the user confirms it (e.g. "Resolve anyway").

    The flow that ran the guard fills in `guard` (its name, to skip it on the confirmed
    retry), `change`, `incident_id` and `arguments` (what the retry needs)."""

    def __init__(self, message: str, *, confirm_label: str) -> None:
        super().__init__(message)
        self.confirm_label = confirm_label
        self.guard = ""
        self.change = ""
        self.incident_id = ""
        self.arguments: dict[str, str] = {}


class IntegrationError(IncidentBotError):
    """An integration call failed; the message is safe to show (no credentials, no body dump).
    `retryable` says whether trying again later can help (down, throttled), as opposed to a
    refusal (bad credentials, a bad request) that needs a person to fix the settings."""

    def __init__(self, product: str, message: str, *, status: int | None, retryable: bool) -> None:
        super().__init__(f"{product}: {message}")
        self.product = product
        self.status = status
        self.retryable = retryable
