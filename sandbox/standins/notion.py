"""Notion stand-in: `POST /v1/pages` (parent page, title property, children),
`PATCH /v1/pages/{id}` (properties), `GET`/`PATCH /v1/blocks/{id}/children` (list with
cursor, append), `DELETE /v1/blocks/{id}`, and file uploads (`POST /v1/file_uploads`,
`POST /v1/file_uploads/{id}/send`, multipart `file`). Every call needs the integration's
bearer token and a `Notion-Version` header. Strict about the API's request limits: at most
100 blocks in a children array, at most 2,000 characters in a text object and 100 objects
in a rich-text array, two levels of nesting in one request, a table's rows each
`table_width` cells, a 500 KB payload, and only the block types it knows. Errors in Notion's
shape: `{"object": "error", "status", "code", "message"}`."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sandbox.standins.base import Handler, Standin
from sandbox.standins.confluence import parse_form_files

MAX_PAYLOAD = 500 * 1024
TEXT_BLOCKS = {"paragraph", "heading_1", "heading_2", "heading_3", "bulleted_list_item",
               "numbered_list_item", "quote", "code", "callout", "to_do", "toggle"}
OTHER_BLOCKS = {"divider", "image", "table", "table_row"}
ANNOTATIONS = {"bold", "italic", "strikethrough", "underline", "code", "color"}


class NotionInvalid(ValueError):
    pass


def _check_rich(items: Any, where: str) -> None:
    if not isinstance(items, list):
        raise NotionInvalid(f"{where} should be an array")
    if len(items) > 100:
        raise NotionInvalid(f"{where}.length should be ≤ `100`, instead was `{len(items)}`.")
    for i, item in enumerate(items):
        if set(item) - {"type", "text", "annotations"} or item.get("type", "text") != "text":
            raise NotionInvalid(f"{where}[{i}] has unknown fields")
        content = (item.get("text") or {}).get("content")
        if not isinstance(content, str):
            raise NotionInvalid(f"{where}[{i}].text.content should be a string")
        if len(content) > 2000:
            raise NotionInvalid(f"{where}[{i}].text.content.length should be ≤ `2000`, "
                                f"instead was `{len(content)}`.")
        if set(item.get("annotations") or {}) - ANNOTATIONS:
            raise NotionInvalid(f"{where}[{i}].annotations has unknown fields")
        if set(item["text"]) - {"content", "link"}:
            raise NotionInvalid(f"{where}[{i}].text has unknown fields")


@dataclass
class NotionStandin(Standin):
    name: str = "notion"
    token: str = "ntn_test_secret"
    parent_page_id: str = "1a2b3c4d-0000-4000-8000-00000000d0c5"
    other_page_id: str = "1a2b3c4d-0000-4000-8000-0000000005ec"
    pages: dict[str, dict[str, Any]] = field(default_factory=dict)
    blocks: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> block (+parent)
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)

    def reset_state(self) -> None:
        self.pages.clear()
        self.blocks.clear()
        self.uploads.clear()

    def authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    def takes_raw(self, request: web.Request) -> bool:
        return request.path.endswith("/send")

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [("POST", "/v1/pages", self._create), ("PATCH", "/v1/pages/{id}", self._rename),
                ("GET", "/v1/blocks/{id}/children", self._list),
                ("PATCH", "/v1/blocks/{id}/children", self._append),
                ("DELETE", "/v1/blocks/{id}", self._delete),
                ("POST", "/v1/file_uploads", self._upload),
                ("POST", "/v1/file_uploads/{id}/send", self._send)]

    @staticmethod
    def error(status: int, message: str, **extra: Any) -> web.Response:
        code = {400: "validation_error", 401: "unauthorized", 404: "object_not_found",
                409: "conflict_error", 413: "validation_error",
                429: "rate_limited"}.get(status, "internal_server_error")
        return web.json_response({"object": "error", "status": status, "code": code,
                                  "message": message, **extra}, status=status)

    async def _answer(self, request: web.Request, handler: Handler, body: Any) -> web.Response:
        if not request.headers.get("Notion-Version"):
            return web.json_response({"object": "error", "status": 400,
                                      "code": "missing_version",
                                      "message": "Notion-Version header failed validation: "
                                      "Notion-Version header should be defined."}, status=400)
        if request.content_length and request.content_length > MAX_PAYLOAD \
                and not self.takes_raw(request):
            return self.error(413, "Request body too large.")
        try:
            return await super()._answer(request, handler, body)
        except NotionInvalid as exc:
            return self.error(400, f"body failed validation: {exc}")

    # --- blocks -----------------------------------------------------------------------

    def _check_block(self, block: Any, where: str, depth: int, width: int | None = None) -> None:
        if not isinstance(block, dict):
            raise NotionInvalid(f"{where} should be an object")
        kind = block.get("type")
        if kind not in TEXT_BLOCKS | OTHER_BLOCKS or set(block) - {"object", "type", kind}:
            raise NotionInvalid(f"{where} is not a block Notion knows")
        body = block[kind]
        if kind in TEXT_BLOCKS:
            _check_rich(body.get("rich_text"), f"{where}.{kind}.rich_text")
            if kind == "code" and not isinstance(body.get("language"), str):
                raise NotionInvalid(f"{where}.code.language should be defined")
        if kind == "image":
            source = body.get("type")
            if source == "file_upload":
                upload = self.uploads.get((body.get("file_upload") or {}).get("id", ""))
                if upload is None or upload["status"] != "uploaded":
                    raise NotionInvalid(f"{where}: the file upload is not uploaded")
            elif source != "external":
                raise NotionInvalid(f"{where}.image.type should be external or file_upload")
        if kind == "table_row":
            cells = body.get("cells")
            if not isinstance(cells, list) or len(cells) != width:
                raise NotionInvalid(f"{where}: the number of cells in table row must match "
                                    "the table width")
            for c, cell in enumerate(cells):
                _check_rich(cell, f"{where}.table_row.cells[{c}]")
        children = body.get("children")
        if kind == "table":
            w = body.get("table_width")
            if not isinstance(w, int) or w < 1 or not children:
                raise NotionInvalid(f"{where}.table needs table_width and its rows")
            for r, row in enumerate(children):
                if row.get("type") != "table_row":
                    raise NotionInvalid(f"{where}: a table's children are table rows")
                self._check_block(row, f"{where}.table.children[{r}]", depth + 1, w)
            return
        if children is not None:
            if depth >= 2:
                raise NotionInvalid(f"{where}: at most two levels of nesting in a request")
            self._check_children(children, f"{where}.{kind}.children", depth + 1)

    def _check_children(self, children: Any, where: str, depth: int = 0) -> None:
        if not isinstance(children, list):
            raise NotionInvalid(f"{where} should be an array")
        if len(children) > 100:
            raise NotionInvalid(f"{where}.length should be ≤ `100`, instead was "
                                f"`{len(children)}`.")
        for i, block in enumerate(children):
            self._check_block(block, f"{where}[{i}]", depth)

    def _store(self, parent: str, children: list[dict[str, Any]]) -> None:
        for block in children:
            block_id = str(uuid.uuid4())
            kind = block["type"]
            inner = {k: v for k, v in block[kind].items() if k != "children"}
            self.blocks[block_id] = {"parent": parent, "type": kind, kind: inner}
            self._store(block_id, block[kind].get("children") or [])

    def children_of(self, parent: str) -> list[dict[str, Any]]:
        """Test view: a page's top-level blocks, in order."""
        return [b for b in self.blocks.values() if b["parent"] == parent]

    def _page_view(self, page_id: str) -> dict[str, Any]:
        page = self.pages[page_id]
        slug = re.sub(r"[^A-Za-z0-9]+", "-", page["title"]).strip("-")
        return {"object": "page", "id": page_id, "archived": False, "in_trash": False,
                "parent": {"type": "page_id", "page_id": page["parent"]},
                "properties": {"title": {"id": "title", "type": "title",
                                         "title": page["rich_title"]}},
                "url": f"https://www.notion.example/{slug}-{page_id.replace('-', '')}"}

    @staticmethod
    def _title(properties: Any) -> list[dict[str, Any]]:
        if not isinstance(properties, dict) or set(properties) != {"title"}:
            raise NotionInvalid("properties should hold only the title of a page under a page")
        title: Any = (properties["title"] or {}).get("title")
        _check_rich(title, "properties.title.title")
        return list(title)

    async def _create(self, request: web.Request, body: Any) -> web.Response:
        if not isinstance(body, dict) or set(body) - {"parent", "properties", "children",
                                                      "icon", "cover"}:
            raise NotionInvalid("body has unknown fields")
        parent = (body.get("parent") or {}).get("page_id")
        if parent not in (self.parent_page_id, self.other_page_id, *self.pages):
            return self.error(404, f"Could not find page with ID: {parent}. Make sure the "
                              "relevant pages and databases are shared with your integration.")
        title = self._title(body.get("properties"))
        children = body.get("children") or []
        self._check_children(children, "body.children")
        page_id = str(uuid.uuid4())
        self.pages[page_id] = {"parent": parent, "rich_title": title,
                               "title": "".join(t["text"]["content"] for t in title)}
        self._store(page_id, children)
        return web.json_response(self._page_view(page_id))

    async def _rename(self, request: web.Request, body: Any) -> web.Response:
        page_id = request.match_info["id"]
        if page_id not in self.pages:
            return self.error(404, f"Could not find page with ID: {page_id}.")
        if not isinstance(body, dict) or set(body) - {"properties", "archived", "in_trash"}:
            raise NotionInvalid("body has unknown fields")
        title = self._title(body.get("properties"))
        self.pages[page_id].update(rich_title=title,
                                   title="".join(t["text"]["content"] for t in title))
        return web.json_response(self._page_view(page_id))

    async def _list(self, request: web.Request, body: Any) -> web.Response:
        parent = request.match_info["id"]
        if parent not in self.pages and parent not in self.blocks:
            return self.error(404, f"Could not find block with ID: {parent}.")
        size = int(request.query.get("page_size", "100"))
        if not 1 <= size <= 100:
            raise NotionInvalid("page_size should be ≤ 100")
        ids = [k for k, b in self.blocks.items() if b["parent"] == parent]
        start = ids.index(request.query["start_cursor"]) if "start_cursor" in \
            request.query and request.query["start_cursor"] in ids else 0
        page = ids[start:start + size]
        more = start + size < len(ids)
        return web.json_response({
            "object": "list", "type": "block", "block": {},
            "results": [{"object": "block", "id": k, "type": self.blocks[k]["type"],
                         "has_children": any(b["parent"] == k for b in self.blocks.values())}
                        for k in page],
            "next_cursor": ids[start + size] if more else None, "has_more": more})

    async def _append(self, request: web.Request, body: Any) -> web.Response:
        parent = request.match_info["id"]
        if parent not in self.pages and parent not in self.blocks:
            return self.error(404, f"Could not find block with ID: {parent}.")
        if not isinstance(body, dict) or set(body) - {"children", "after"}:
            raise NotionInvalid("body has unknown fields")
        self._check_children(body.get("children"), "body.children")
        self._store(parent, body["children"])
        return web.json_response({"object": "list", "results": [], "next_cursor": None,
                                  "has_more": False})

    async def _delete(self, request: web.Request, body: Any) -> web.Response:
        block_id = request.match_info["id"]
        if block_id not in self.blocks:
            return self.error(404, f"Could not find block with ID: {block_id}.")
        doomed = [block_id]
        while doomed:
            gone = doomed.pop()
            doomed += [k for k, b in self.blocks.items() if b["parent"] == gone]
            self.blocks.pop(gone, None)
        return web.json_response({"object": "block", "id": block_id, "archived": True,
                                  "in_trash": True})

    async def _upload(self, request: web.Request, body: Any) -> web.Response:
        if not isinstance(body, dict) or set(body) - {"mode", "filename", "content_type",
                                                      "number_of_parts", "external_url"}:
            raise NotionInvalid("body has unknown fields")
        upload_id = str(uuid.uuid4())
        self.uploads[upload_id] = {"status": "pending", "filename": body.get("filename"),
                                   "content_type": body.get("content_type"), "data": b""}
        return web.json_response({"object": "file_upload", "id": upload_id,
                                  "status": "pending", "filename": body.get("filename"),
                                  "upload_url": f"{self.base_url}/v1/file_uploads/"
                                  f"{upload_id}/send"})

    async def _send(self, request: web.Request, body: Any) -> web.Response:
        upload = self.uploads.get(request.match_info["id"])
        if upload is None:
            return self.error(404, "Could not find file upload.")
        match = re.search(r"boundary=\"?([^\";]+)", request.headers.get("Content-Type", ""))
        files = parse_form_files(bytes(body or b""), match.group(1)) if match else {}
        if "file" not in files:
            raise NotionInvalid("the file must be sent as multipart/form-data under `file`")
        if len(files["file"][1]) > 20 * 1024 * 1024:
            return self.error(413, "single_part uploads are at most 20 MB")
        upload.update(status="uploaded", data=files["file"][1])
        return web.json_response({"object": "file_upload", "id": request.match_info["id"],
                                  "status": "uploaded", "filename": upload["filename"],
                                  "content_length": len(upload["data"])})
