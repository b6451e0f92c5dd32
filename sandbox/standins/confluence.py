"""Confluence Cloud stand-in: REST API v2 pages (`POST /wiki/api/v2/pages`, `GET` and `PUT
/wiki/api/v2/pages/{id}`; the body as `{"representation": "storage", "value": …}` or nested
under `storage`; a PUT must carry the next version number, else 409) and v1's attachment
upload (`PUT /wiki/rest/api/content/{id}/child/attachment`, multipart `file`, with
`X-Atlassian-Token: no-check`). Basic auth with the account's email and API token. Strict:
unknown fields, a storage body that is not well-formed XHTML, a title taken in the space, a
page over 5 MB, an unknown space or parent are refused as Confluence refuses them."""

from __future__ import annotations

import base64
import re
import xml.dom.minidom
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import Field

from sandbox.standins.base import Handler, Standin, Strict

MAX_BODY = 5 * 1024 * 1024
NAMESPACES = ('xmlns:ac="http://atlassian.com/content" '
              'xmlns:ri="http://atlassian.com/resource/identifier"')


class _BodyWrite(Strict):
    # the OpenAPI document requires neither (atlassian-python-api sends `value` alone,
    # nested under `storage`)
    representation: str | None = Field(default=None, pattern="^(storage|atlas_doc_format|wiki)$")
    value: str


class _NestedBody(Strict):
    storage: _BodyWrite | None = None
    atlas_doc_format: _BodyWrite | None = None
    wiki: _BodyWrite | None = None


class _Version(Strict):
    number: int = Field(ge=1)
    message: str | None = None


class _Create(Strict):
    spaceId: str
    status: str = Field(default="current", pattern="^(current|draft)$")
    title: str = Field(min_length=1, max_length=255)
    parentId: str | None = None
    body: _BodyWrite | _NestedBody | None = None


class _Update(Strict):
    id: str
    status: str = Field(pattern="^(current|draft|archived)$")
    title: str = Field(min_length=1, max_length=255)
    spaceId: str | None = None
    parentId: str | None = None
    body: _BodyWrite | _NestedBody
    version: _Version


def storage_value(body: _BodyWrite | _NestedBody | None) -> str:
    if body is None:
        return ""
    if isinstance(body, _BodyWrite):
        return body.value
    chosen = body.storage or body.atlas_doc_format or body.wiki
    return chosen.value if chosen else ""


@dataclass
class ConfluenceStandin(Standin):
    name: str = "confluence"
    email: str = "bot@example.com"
    api_token: str = "confluence-test-token"
    space_id: str = "98304"
    space_key: str = "OPS"
    pages: dict[str, dict[str, Any]] = field(default_factory=lambda: {
        "65601": {"title": "Postmortems", "parentId": None, "body": "", "version": 1,
                  "attachments": {}},
        "65602": {"title": "Security reviews", "parentId": None, "body": "", "version": 1,
                  "attachments": {}},
    })
    next_id: int = 131073

    def reset_state(self) -> None:
        self.pages = {k: v for k, v in self.pages.items() if k in ("65601", "65602")}
        for page in self.pages.values():
            page["attachments"] = {}

    def authorized(self, request: web.Request) -> bool:
        token = base64.b64encode(f"{self.email}:{self.api_token}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {token}"

    def takes_raw(self, request: web.Request) -> bool:
        return "/child/attachment" in request.path

    def routes(self) -> list[tuple[str, str, Handler]]:
        v2 = "/wiki/api/v2/pages"
        return [("POST", v2, self._create), ("GET", v2 + "/{id}", self._get),
                ("PUT", v2 + "/{id}", self._update),
                ("PUT", "/wiki/rest/api/content/{id}/child/attachment", self._attach),
                ("POST", "/wiki/rest/api/content/{id}/child/attachment", self._attach)]

    @staticmethod
    def error(status: int, message: str, **extra: Any) -> web.Response:
        code = {400: "INVALID_REQUEST_PARAMETER", 401: "UNAUTHORIZED", 404: "NOT_FOUND",
                409: "CONFLICT", 413: "REQUEST_ENTITY_TOO_LARGE"}.get(status, "ERROR")
        return web.json_response(
            {"errors": [{"status": status, "code": code, "title": message, "detail": None}]},
            status=status)

    def _well_formed(self, value: str) -> str | None:
        if len(value.encode()) > MAX_BODY:
            return "Content body is too large"
        try:
            xml.dom.minidom.parseString(f"<root {NAMESPACES}>{value}</root>")
        except Exception as exc:  # expat says where the markup breaks
            return f"Error parsing xhtml: {exc}"
        return None

    def _view(self, page_id: str) -> dict[str, Any]:
        page = self.pages[page_id]
        slug = re.sub(r"[^A-Za-z0-9]+", "+", page["title"]).strip("+")
        return {
            "id": page_id, "status": "current", "title": page["title"],
            "spaceId": self.space_id, "parentId": page["parentId"], "parentType": "page",
            "authorId": "557058:bot", "createdAt": "2026-11-23T14:00:00.000Z",
            "version": {"number": page["version"], "message": page.get("message", ""),
                        "minorEdit": False, "authorId": "557058:bot"},
            "body": {"storage": {"representation": "storage", "value": page["body"]}},
            "_links": {"webui": f"/spaces/{self.space_key}/pages/{page_id}/{slug}",
                       "editui": f"/pages/resumedraft.action?draftId={page_id}",
                       "tinyui": f"/x/{page_id}", "base": f"{self.base_url}/wiki"},
        }

    def page_url(self, page_id: str) -> str:
        """Where a person reads the page (its `_links` base and webui, as the API gives)."""
        links = self._view(page_id)["_links"]
        return f"{links['base']}{links['webui']}"

    def _title_taken(self, title: str, but: str | None = None) -> bool:
        return any(p["title"] == title and pid != but for pid, p in self.pages.items())

    async def _create(self, request: web.Request, body: Any) -> web.Response:
        new = _Create.model_validate(body)
        if new.spaceId != self.space_id:
            return self.error(400, "Provided space id is not valid or does not exist")
        if new.parentId is not None and new.parentId not in self.pages:
            return self.error(400, "Provided parent id is not valid or does not exist")
        value = storage_value(new.body)
        bad = self._well_formed(value)
        if bad:
            return self.error(413 if "large" in bad else 400, bad)
        if self._title_taken(new.title):
            return self.error(400, "A page with this title already exists: A page already "
                              "exists with the same TITLE in this space")
        page_id = str(self.next_id)
        self.next_id += 1
        self.pages[page_id] = {"title": new.title, "parentId": new.parentId, "body": value,
                               "version": 1, "attachments": {}}
        return web.json_response(self._view(page_id))

    async def _get(self, request: web.Request, body: Any) -> web.Response:
        page_id = request.match_info["id"]
        if page_id not in self.pages:
            return self.error(404, "Not Found")
        return web.json_response(self._view(page_id))

    async def _update(self, request: web.Request, body: Any) -> web.Response:
        page_id = request.match_info["id"]
        if page_id not in self.pages:
            return self.error(404, "Not Found")
        change = _Update.model_validate(body)
        page = self.pages[page_id]
        if change.id != page_id:
            return self.error(400, "The page id in the body does not match the path")
        if change.version.number != page["version"] + 1:
            return self.error(409, f"Version must be incremented on update. Current "
                              f"version is: {page['version']}")
        value = storage_value(change.body)
        bad = self._well_formed(value)
        if bad:
            return self.error(413 if "large" in bad else 400, bad)
        if self._title_taken(change.title, but=page_id):
            return self.error(400, "A page with this title already exists")
        page.update(title=change.title, body=value, version=change.version.number,
                    message=change.version.message or "")
        return web.json_response(self._view(page_id))

    async def _attach(self, request: web.Request, body: Any) -> web.Response:
        page_id = request.match_info["id"]
        if request.headers.get("X-Atlassian-Token") != "no-check":
            return web.Response(status=403, text="XSRF check failed")
        if page_id not in self.pages:
            return self.error(404, "Not Found")
        ctype = request.headers.get("Content-Type", "")
        match = re.search(r"boundary=\"?([^\";]+)", ctype)
        if not ctype.startswith("multipart/form-data") or not match:
            return self.error(400, "attachments must be multipart/form-data")
        files = parse_form_files(bytes(body or b""), match.group(1))
        if "file" not in files:
            return self.error(400, "No file part named 'file'")
        filename, data, mime = files["file"]
        page = self.pages[page_id]
        version = page["attachments"].get(filename, {}).get("version", 0) + 1
        page["attachments"][filename] = {"data": data, "mediaType": mime, "version": version}
        return web.json_response({"results": [{
            "id": f"att{page_id}{version}", "type": "attachment", "status": "current",
            "title": filename, "version": {"number": version},
            "extensions": {"mediaType": mime, "fileSize": len(data)},
            "_links": {"download": f"/download/attachments/{page_id}/{filename}"}}],
            "size": 1})


def parse_form_files(body: bytes, boundary: str) -> dict[str, tuple[str, bytes, str]]:
    """The file parts of a multipart/form-data body: name -> (filename, bytes, type)."""
    out: dict[str, tuple[str, bytes, str]] = {}
    for part in body.split(b"--" + boundary.encode()):
        head, sep, data = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        headers = head.decode(errors="replace")
        name = re.search(r'name="([^"]*)"', headers)
        filename = re.search(r'filename="([^"]*)"', headers)
        mime = re.search(r"Content-Type:\s*([^\r\n]+)", headers, re.I)
        if name and filename:
            out[name.group(1)] = (filename.group(1), data.removesuffix(b"\r\n"),
                                  mime.group(1).strip() if mime else "application/octet-stream")
    return out
