"""Drive API v3 on the Google stand-in (filled in with publishing)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.standins.base import Handler

if TYPE_CHECKING:
    from sandbox.standins.google import GoogleStandin


def drive_routes(google: GoogleStandin) -> list[tuple[str, str, Handler]]:
    return []
