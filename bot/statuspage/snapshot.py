"""The page is served from a snapshot, not from Redis: every document (the Statuspage
JSON, the Atom feed, the HTML pages the web app renders) is built once per change and
kept as bytes with its ETag. A serving process asks Redis only for the page's version
(once a second, bot/statuspage/install.py) and rebuilds when it moved, when the day
changed (the uptime bars roll) or a minute passed (an ongoing outage's downtime grows)."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from bot.clock import Clock
from bot.statuspage.components import Components
from bot.statuspage.feed import atom_feed
from bot.statuspage.shapes import documents
from bot.statuspage.uptime import Uptime, component_uptime
from bot.statuspage.views import Audience, PageView, build_view
from bot.store.statuspage import StatusPageStore

log = structlog.get_logger(__name__)
HISTORY = timedelta(days=90)
REBUILD_AFTER = timedelta(minutes=1)
JSON = "application/json; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
# a renderer adds documents of its own (the web app's HTML): view -> {path: (body, type)}
Renderer = Callable[[PageView], dict[str, tuple[bytes, str]]]


GZIP_FROM = 1024  # bytes: smaller documents are sent as they are


@dataclass(frozen=True)
class Document:
    body: bytes
    content_type: str
    etag: str
    gzipped: bytes | None = None  # compressed once here, for clients that accept gzip

    @classmethod
    def of(cls, body: bytes, content_type: str) -> Document:
        packed = gzip.compress(body, 6, mtime=0) if len(body) >= GZIP_FROM else None
        return cls(body, content_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"',
                   packed)

    @property
    def gzip_etag(self) -> str:
        return self.etag[:-1] + '-gzip"'


@dataclass
class Snapshot:
    version: int
    built_at: datetime
    views: dict[Audience, PageView]
    documents: dict[tuple[Audience, str], Document] = field(default_factory=dict)

    def document(self, audience: Audience, path: str) -> Document | None:
        return self.documents.get((audience, path))


class Snapshots:
    """The current snapshot of this process, and how it is kept fresh."""

    def __init__(
        self,
        *,
        store: StatusPageStore,
        components: Components,
        clock: Clock,
        title: str,
        url: str,
    ) -> None:
        self.store = store
        self.components = components
        self.clock = clock
        self.title = title
        self.url = url.rstrip("/")
        self.renderers: list[Renderer] = []
        self.current: Snapshot | None = None
        self.started = clock()
        self._lock = asyncio.Lock()

    def stale(self, version: int, now: datetime) -> bool:
        s = self.current
        return (
            s is None or s.version != version or s.built_at.date() != now.date()
            or now - s.built_at >= REBUILD_AFTER
        )

    async def refresh(self, *, force: bool = False) -> Snapshot:
        """Rebuild when the page changed (one GET of its version otherwise)."""
        version = await self.store.version()
        if not force and not self.stale(version, self.clock()) and self.current is not None:
            return self.current
        async with self._lock:
            if force or self.current is None or self.stale(version, self.clock()):
                self.current = await self.build(version)
            return self.current

    async def build(self, version: int) -> Snapshot:
        now = self.clock()
        since = now - HISTORY
        recent = await self.store.public_incidents(since)
        known = {i.id for i in recent}
        incidents = recent + [i for i in await self.store.open_incidents() if i.id not in known]
        maintenances = await self.store.maintenances(since)
        snap = Snapshot(version=version, built_at=now, views={})
        # Built on the event loop in small steps, each followed by a turn of the loop, so
        # requests are answered between them (a step is a few ms). In a thread, the build
        # held the GIL for 5 ms at a time against the loop: 100 ms stalls at 1,000 req/s.
        uptimes: dict[str, Uptime] = {}  # a component's bars are the same on both pages
        for spec in self.components.components:
            uptimes[spec.name.lower()] = component_uptime(spec.name, incidents, now)
            await asyncio.sleep(0)
        for audience in ("public", "internal"):
            url = self.url if audience == "public" else f"{self.url}/internal"
            view = build_view(
                audience, title=self.title, url=url, components=self.components,
                incidents=incidents, maintenances=maintenances, now=now, started=self.started,
                uptimes=uptimes,
            )
            snap.views[audience] = view
            for path, data in documents(view).items():
                body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
                snap.documents[(audience, f"api/v2/{path}")] = Document.of(body, JSON)
                await asyncio.sleep(0)
            snap.documents[(audience, "feed.atom")] = Document.of(atom_feed(view), ATOM)
            for render in self.renderers:
                await asyncio.sleep(0)
                for path, (body, kind) in render(view).items():
                    snap.documents[(audience, path)] = Document.of(body, kind)
        log.info("status_page_snapshot", version=version, incidents=len(incidents),
                 maintenances=len(maintenances))
        return snap
