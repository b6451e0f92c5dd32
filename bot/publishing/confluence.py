"""Confluence Cloud, REST API v2: `POST /wiki/api/v2/pages` (spaceId, parentId, status
current, the title and the body in `storage` representation), and for a new version
`GET` the page's version then `PUT /wiki/api/v2/pages/{id}` with the next version number.
The chart is the page's attachment (v2 has no attachment upload: v1's
`PUT /wiki/rest/api/content/{id}/child/attachment`, which creates or updates it), shown with
`<ac:image><ri:attachment …/></ac:image>`. Basic auth: the account's email and API token."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from bot.errors import IntegrationError
from bot.integrations.http import ApiClient
from bot.publishing.document import CHART_FILE, Document
from bot.publishing.port import Published

V2 = "wiki/api/v2"


class ConfluenceStore:
    name = "confluence"
    label = "Confluence"

    def __init__(
        self, *, url: str, email: str, api_token: str, space_id: str,
        parent_page_id: str | None = None, timeout: float = 5.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.space_id = space_id
        self.parent = parent_page_id
        self.http = ApiClient("Confluence", self.url, auth=(email, api_token), timeout=timeout)

    def storage(self, doc: Document) -> str:
        image = (f"<ac:image ac:alt={quoteattr('Metrics around the incident')}>"
                 f"<ri:attachment ri:filename={quoteattr(CHART_FILE)} /></ac:image>")
        return doc.html(image)

    def _published(self, page: dict[str, object]) -> Published:
        links = page.get("_links") or {}
        assert isinstance(links, dict)
        base = str(links.get("base") or f"{self.url}/wiki")
        webui = str(links.get("webui") or f"/pages/viewpage.action?pageId={page['id']}")
        version = page.get("version") or {}
        assert isinstance(version, dict)
        return Published(ref=str(page["id"]), url=base + webui,
                         version=int(version.get("number") or 1))

    async def _attach_chart(self, page_id: str, doc: Document) -> None:
        if doc.chart_png is None:
            return
        await self.http.request(
            "PUT", f"wiki/rest/api/content/{page_id}/child/attachment",
            files={"file": (CHART_FILE, doc.chart_png, "image/png")},
            headers={"X-Atlassian-Token": "no-check"},
        )

    async def create(self, doc: Document, place: str | None) -> Published:
        body: dict[str, object] = {
            "spaceId": self.space_id, "status": "current", "title": doc.title,
            "body": {"representation": "storage", "value": self.storage(doc)},
        }
        parent = place or self.parent
        if parent:
            body["parentId"] = parent
        response = await self.http.request("POST", f"{V2}/pages", json=body)
        published = self._published(response.json())
        await self._attach_chart(published.ref, doc)
        return published

    async def update(self, doc: Document, ref: str) -> Published | None:
        try:
            current = (await self.http.request("GET", f"{V2}/pages/{ref}")).json()
        except IntegrationError as exc:
            if exc.status == 404:
                return None
            raise
        number = int((current.get("version") or {}).get("number") or 1)
        await self._attach_chart(ref, doc)
        response = await self.http.request("PUT", f"{V2}/pages/{ref}", json={
            "id": ref, "status": "current", "title": doc.title,
            "body": {"representation": "storage", "value": self.storage(doc)},
            "version": {"number": number + 1, "message": f"Postmortem draft v{doc.version}"},
        })
        return self._published(response.json())

    async def aclose(self) -> None:
        await self.http.aclose()
