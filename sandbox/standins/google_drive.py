"""Drive API v3 on the Google stand-in: `POST /upload/drive/v3/files?uploadType=multipart`
and `PATCH /upload/drive/v3/files/{fileId}?uploadType=multipart` — a multipart/related body
of the file's metadata (JSON) then its media; media `text/html` with the metadata's
`mimeType: application/vnd.google-apps.document` is converted into a Google Doc. Strict:
the drive scope, known metadata fields, a parent folder that exists, at most 5 MB for a
multipart upload, well-formed parts; `fields` picks what is answered."""

from __future__ import annotations

import email
import email.message
import json
import secrets
from typing import Any, Protocol

from aiohttp import web
from pydantic import Field

from sandbox.standins.base import Handler, Strict


class Scopes(Protocol):
    """What Drive reads of the Google stand-in (sandbox/standins/google.py GoogleStandin):
    its token book, its files and its error shape."""

    files: dict[str, dict[str, Any]]

    def scope_of(self, request: web.Request) -> str: ...

    def error(self, status: int, message: str, **extra: Any) -> web.Response: ...

GOOGLE_DOC = "application/vnd.google-apps.document"
MULTIPART_MAX = 5 * 1024 * 1024
FOLDERS = ("0AFolderPostmortems", "0AFolderSecurity")


class _Metadata(Strict):
    name: str | None = Field(default=None, max_length=32767)
    mimeType: str | None = None
    parents: list[str] | None = None
    description: str | None = None


def _parts(body: bytes, content_type: str) -> list[tuple[str, bytes]] | None:
    """The two parts of a multipart/related body (CRLF or bare LF, as clients send them)."""
    if not content_type.startswith("multipart/related") or "boundary=" not in content_type:
        return None
    message = email.message_from_bytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    if not message.is_multipart():
        return None
    parts = []
    for part in message.get_payload():
        assert isinstance(part, email.message.Message)
        data = part.get_payload(decode=True)
        parts.append((part.get_content_type(), data if isinstance(data, bytes) else b""))
    return parts if len(parts) == 2 else None


def drive_routes(google: Scopes) -> list[tuple[str, str, Handler]]:
    def view(file_id: str, fields: str) -> dict[str, Any]:
        file = google.files[file_id]
        full = {"kind": "drive#file", "id": file_id, "name": file["name"],
                "mimeType": file["mimeType"], "parents": file["parents"],
                "webViewLink": f"https://docs.google.example/document/d/{file_id}/edit",
                "version": str(file["version"])}
        wanted = [f.strip() for f in fields.split(",") if f.strip()] or [
            "kind", "id", "name", "mimeType"]
        return {k: full[k] for k in wanted if k in full}

    def read(request: web.Request, body: Any) -> tuple[_Metadata, str, bytes] | web.Response:
        if "drive" not in google.scope_of(request):
            return google.error(403, "Request had insufficient authentication scopes.")
        if request.query.get("uploadType") != "multipart":
            return google.error(400, "Invalid uploadType: use multipart here")
        raw = bytes(body or b"")
        if len(raw) > MULTIPART_MAX:
            return google.error(413, "Multipart uploads are limited to 5 MB; use resumable")
        parts = _parts(raw, request.headers.get("Content-Type", ""))
        if parts is None:
            return google.error(400, "Malformed multipart body.")
        (meta_type, meta), (media_type, media) = parts
        if not meta_type.startswith("application/json"):
            return google.error(400, "The first part must be the metadata as JSON")
        metadata = _Metadata.model_validate(json.loads(meta))
        return metadata, media_type, media

    def convert(metadata: _Metadata, media_type: str, media: bytes) -> str | None:
        if metadata.mimeType not in (None, GOOGLE_DOC):
            return "only conversion to a Google Doc is emulated"
        if not media_type.startswith("text/html"):
            return f"cannot convert {media_type} into a Google Doc"
        try:
            media.decode("utf-8")
        except UnicodeDecodeError:
            return "the HTML is not UTF-8"
        return None

    async def create(request: web.Request, body: Any) -> web.Response:
        got = read(request, body)
        if isinstance(got, web.Response):
            return got
        metadata, media_type, media = got
        if metadata.mimeType != GOOGLE_DOC:
            return google.error(400, "Only Google Docs conversions are emulated")
        parents = metadata.parents or []
        if len(parents) != 1 or parents[0] not in FOLDERS:
            return google.error(404, f"File not found: {parents[0] if parents else 'root'}.")
        bad = convert(metadata, media_type, media)
        if bad:
            return google.error(400, bad)
        file_id = "1" + secrets.token_urlsafe(32).replace("-", "x").replace("_", "y")
        google.files[file_id] = {"name": metadata.name or "Untitled", "mimeType": GOOGLE_DOC,
                                 "parents": parents, "html": media.decode(), "version": 1}
        return web.json_response(view(file_id, request.query.get("fields", "")))

    async def update(request: web.Request, body: Any) -> web.Response:
        file_id = request.match_info["file"]
        if file_id not in google.files:
            return google.error(404, f"File not found: {file_id}.")
        got = read(request, body)
        if isinstance(got, web.Response):
            return got
        metadata, media_type, media = got
        if metadata.parents is not None:
            return google.error(403, "The parents field is not directly writable in update "
                                "requests. Use the addParents and removeParents parameters "
                                "instead.")
        bad = convert(metadata, media_type, media)
        if bad:
            return google.error(400, bad)
        file = google.files[file_id]
        file.update(html=media.decode(), version=file["version"] + 1)
        if metadata.name:
            file["name"] = metadata.name
        return web.json_response(view(file_id, request.query.get("fields", "")))

    return [("POST", "/upload/drive/v3/files", create),
            ("PATCH", "/upload/drive/v3/files/{file}", update)]
