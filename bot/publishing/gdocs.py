"""Google Docs through Drive API v3: a multipart upload (`uploadType=multipart`, a
multipart/related body: the file's metadata as JSON, then the document as HTML) with
`mimeType: application/vnd.google-apps.document`, so Drive converts the HTML into a Google
Doc in GDRIVE_FOLDER_ID; a new version is the same upload with `PATCH` on the file. The chart
is in the HTML as a data: URI image, which the conversion keeps. As the service account
(GOOGLE_SERVICE_ACCOUNT_FILE, drive.file scope)."""

from __future__ import annotations

import html
import json
import secrets
from typing import Any

from bot.errors import IntegrationError
from bot.integrations.google import DEFAULT_API_URL, DRIVE_SCOPE, ServiceAccount
from bot.integrations.http import ApiClient
from bot.publishing.document import Document
from bot.publishing.port import Published

GOOGLE_DOC = "application/vnd.google-apps.document"
FIELDS = "id,name,webViewLink"


def multipart_related(metadata: dict[str, Any], html: str) -> tuple[bytes, str]:
    boundary = "incident-bot-" + secrets.token_hex(12)
    body = (
        f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n"
        f"{json.dumps(metadata)}\r\n"
        f"--{boundary}\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n"
        f"{html}\r\n--{boundary}--\r\n"
    )
    return body.encode(), f"multipart/related; boundary={boundary}"


class GoogleDocsStore:
    name = "gdocs"
    label = "Google Docs"

    def __init__(self, *, account: ServiceAccount, folder_id: str,
                 api_url: str = DEFAULT_API_URL, timeout: float = 5.0) -> None:
        if account.scope != DRIVE_SCOPE:
            raise ValueError("the service account must be asked for the drive.file scope")
        self.account = account
        self.folder = folder_id
        self.http = ApiClient("Google Drive", api_url, timeout=timeout)

    def page(self, doc: Document) -> str:
        image = (f'<p><img src="{doc.data_uri()}" alt="Metrics around the incident" /></p>'
                 if doc.chart_png is not None else "")
        return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\" /><title>"
                f"{html.escape(doc.title)}</title></head><body>{doc.html(image)}</body></html>")

    async def _upload(self, method: str, path: str, metadata: dict[str, Any],
                      doc: Document) -> dict[str, Any]:
        body, content_type = multipart_related(metadata, self.page(doc))
        params = {"uploadType": "multipart", "fields": FIELDS, "supportsAllDrives": "true"}
        for attempt in (1, 2):
            token = await self.account.token()
            try:
                response = await self.http.request(
                    method, path, content=body, params=params, headers={
                        "Authorization": f"Bearer {token}", "Content-Type": content_type})
            except IntegrationError as exc:
                if exc.status == 401 and attempt == 1:
                    self.account.forget()
                    continue
                raise
            return dict(response.json())
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _published(file: dict[str, Any]) -> Published:
        url = file.get("webViewLink") or f"https://docs.google.com/document/d/{file['id']}/edit"
        return Published(ref=str(file["id"]), url=str(url))

    async def create(self, doc: Document, place: str | None) -> Published:
        metadata = {"name": doc.title, "mimeType": GOOGLE_DOC,
                    "parents": [place or self.folder]}
        return self._published(await self._upload("POST", "upload/drive/v3/files",
                                                   metadata, doc))

    async def update(self, doc: Document, ref: str) -> Published | None:
        try:
            file = await self._upload("PATCH", f"upload/drive/v3/files/{ref}",
                                      {"name": doc.title}, doc)
        except IntegrationError as exc:
            if exc.status == 404:
                return None
            raise
        return self._published(file)

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.account.aclose()
