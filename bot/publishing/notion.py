"""Notion: `POST /v1/pages` under a parent page (title property, the first 100 blocks),
the rest appended 100 at a time (`PATCH /v1/blocks/{id}/children`); a new version renames
the page and replaces its children (list them, delete each, append the new ones). The chart
is a file upload (`POST /v1/file_uploads`, then `…/send` multipart) shown as an image
block. Every call carries `Notion-Version` and the integration's bearer token."""

from __future__ import annotations

from typing import Any

from bot.errors import IntegrationError
from bot.integrations.http import ApiClient
from bot.publishing.document import CHART_FILE, Document
from bot.publishing.notion_blocks import Block, _text, chunks, to_blocks
from bot.publishing.port import Published

NOTION_VERSION = "2022-06-28"
DEFAULT_API_URL = "https://api.notion.com"


class NotionStore:
    name = "notion"
    label = "Notion"

    def __init__(self, *, token: str, parent_page_id: str, api_url: str = DEFAULT_API_URL,
                 timeout: float = 5.0) -> None:
        self.parent = parent_page_id
        self.http = ApiClient("Notion", api_url, timeout=timeout, headers={
            "Authorization": f"Bearer {token}", "Notion-Version": NOTION_VERSION,
        })

    @staticmethod
    def _title(doc: Document) -> dict[str, Any]:
        return {"title": {"title": _text(doc.title[:2000])}}

    async def _chart_block(self, doc: Document) -> Block:
        if doc.chart_png is None:
            return {"object": "block", "type": "paragraph", "paragraph": {
                "rich_text": _text(doc.chart_note, italic=True)}}
        upload = (await self.http.request("POST", "v1/file_uploads", json={
            "filename": CHART_FILE, "content_type": "image/png"})).json()
        await self.http.request(
            "POST", f"v1/file_uploads/{upload['id']}/send",
            files={"file": (CHART_FILE, doc.chart_png, "image/png")},
        )
        return {"object": "block", "type": "image", "image": {
            "type": "file_upload", "file_upload": {"id": upload["id"]}}}

    async def _blocks(self, doc: Document) -> list[Block]:
        blocks = to_blocks(doc.markdown)
        chart = await self._chart_block(doc)
        at = next((i + 1 for i, b in enumerate(blocks) if b["type"] == "heading_2"
                   and "".join(t["text"]["content"] for t in b["heading_2"]["rich_text"])
                   == "Metrics"), len(blocks))
        return [*blocks[:at], chart, *blocks[at:]]

    async def _append(self, page_id: str, blocks: list[Block]) -> None:
        for part in chunks(blocks):
            await self.http.request("PATCH", f"v1/blocks/{page_id}/children",
                                    json={"children": part})

    async def create(self, doc: Document, place: str | None) -> Published:
        blocks = await self._blocks(doc)
        first, rest = blocks[:100], blocks[100:]
        page = (await self.http.request("POST", "v1/pages", json={
            "parent": {"page_id": place or self.parent},
            "properties": self._title(doc), "children": first,
        })).json()
        await self._append(str(page["id"]), rest)
        return Published(ref=str(page["id"]), url=str(page["url"]))

    async def _children(self, page_id: str) -> list[str]:
        ids: list[str] = []
        cursor: str | None = None
        while True:
            params = {"page_size": "100", **({"start_cursor": cursor} if cursor else {})}
            listing = (await self.http.request("GET", f"v1/blocks/{page_id}/children",
                                               params=params)).json()
            ids += [str(b["id"]) for b in listing.get("results", [])]
            cursor = listing.get("next_cursor")
            if not listing.get("has_more") or not cursor:
                return ids

    async def update(self, doc: Document, ref: str) -> Published | None:
        try:
            page = (await self.http.request("PATCH", f"v1/pages/{ref}",
                                            json={"properties": self._title(doc)})).json()
        except IntegrationError as exc:
            if exc.status == 404:
                return None
            raise
        blocks = await self._blocks(doc)
        for block_id in await self._children(ref):
            await self.http.request("DELETE", f"v1/blocks/{block_id}")
        await self._append(ref, blocks)
        return Published(ref=ref, url=str(page["url"]))

    async def aclose(self) -> None:
        await self.http.aclose()
