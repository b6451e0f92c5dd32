"""The DocumentStore port: what the bot needs from Confluence, Notion or Google Drive."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel

from bot.publishing.document import Document


class Published(BaseModel):
    """Where a document is and which of the store's versions it now is."""

    ref: str  # the page or file id
    url: str
    version: int = 0  # the store's own version number, where it has one (Confluence)


class DocumentStore(Protocol):
    name: str  # "confluence" | "notion" | "gdocs"
    label: str  # "Confluence", "Notion", "Google Docs"

    async def create(self, doc: Document, place: str | None) -> Published:
        """A new document under `place` (a parent page or folder id), else the configured
        one."""

    async def update(self, doc: Document, ref: str) -> Published | None:
        """Replace the document's content with this version; None when it is gone (deleted
        there), so the caller makes a new one."""

    async def aclose(self) -> None: ...
