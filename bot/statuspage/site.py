"""The status page over HTTP: /status and its Statuspage JSON (/status/api/v2/…), the Atom
feed, the subscribe forms and their links; /status/internal and its JSON for people
signed in with Slack (the web app's session). Every answer comes from this process's
snapshot (bot/statuspage/snapshot.py) with an ETag; If-None-Match gets 304. Redis is
asked only by the forms."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from html import escape
from urllib.parse import quote, urlsplit

from aiohttp import web

from bot.errors import IncidentBotError
from bot.statuspage.html import CSRF_SLOT, HtmlPages, message_page
from bot.statuspage.snapshot import Document, Snapshots
from bot.statuspage.subscribers import SubscriberService
from bot.statuspage.views import Audience


@dataclass(frozen=True)
class Viewer:
    """Who is signed in (the web app's session): their Slack user id and the session's
    CSRF token, which every form that changes something must send back."""

    user: str
    csrf: str


# the signed-in viewer of a request, else None
SignedIn = Callable[[web.Request], Awaitable[Viewer | None]]
PUBLIC_CACHE = "public, max-age=10, stale-while-revalidate=30"
INTERNAL_CACHE = "private, no-cache"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
JSON_HEADERS = {"X-Content-Type-Options": "nosniff", "Access-Control-Allow-Origin": "*"}
HTML = "text/html; charset=utf-8"
FOREVER = "public, max-age=31536000, immutable"


def accepts_gzip(request: web.Request) -> bool:
    for part in request.headers.get("Accept-Encoding", "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def cross_site(request: web.Request, page_url: str) -> bool:
    """A form posted to us from another site (CSRF): browsers say where a POST comes from
    (Sec-Fetch-Site, Origin); one from elsewhere is refused. Clients that are not browsers
    send neither and cannot be led by another site, so they pass."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return True
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    return urlsplit(origin).netloc not in {request.host, urlsplit(page_url).netloc}


@dataclass
class StatusSite:
    snapshots: Snapshots
    subscribers: SubscriberService
    public: bool
    signed_in: SignedIn | None  # None: sign-in is not configured (no internal page)
    email: bool
    pages: HtmlPages
    _waking: asyncio.Lock = field(default_factory=asyncio.Lock)

    def _page(self, text: str, status: int = 200, *, action: str | None = None,
              button: str = "") -> web.Response:
        body = message_page(self.pages.stylesheet, self.snapshots.title, text, action=action,
                            button=button)
        return web.Response(text=body, status=status, content_type="text/html",
                            headers={**HEADERS, "Cache-Control": "no-store"})

    def _refuse_cross_site(self, request: web.Request) -> None:
        if cross_site(request, self.snapshots.url):
            raise web.HTTPForbidden(text="This form must be sent from the status page itself.")

    def answer(self, request: web.Request, doc: Document | None, audience: Audience
               ) -> web.StreamResponse:
        if doc is None:
            raise web.HTTPNotFound(text="not found")
        packed = doc.gzipped is not None and accepts_gzip(request)
        headers = {
            **(HEADERS if doc.content_type.startswith("text/html") else JSON_HEADERS),
            "ETag": doc.gzip_etag if packed else doc.etag,
            "Cache-Control": PUBLIC_CACHE if audience == "public" else INTERNAL_CACHE,
            "Vary": "Accept-Encoding" if audience == "public" else "Accept-Encoding, Cookie",
        }
        wanted = request.headers.get("If-None-Match", "")
        tags = {t.strip() for t in wanted.split(",")}
        if wanted and (wanted == "*" or doc.etag in tags or doc.gzip_etag in tags):
            return web.Response(status=304, headers=headers)
        if packed and doc.gzipped is not None:
            headers["Content-Encoding"] = "gzip"
            return web.Response(body=doc.gzipped,
                                headers={**headers, "Content-Type": doc.content_type})
        return web.Response(body=doc.body, headers={**headers, "Content-Type": doc.content_type})

    def current(self, audience: Audience, path: str) -> Document | None:
        snap = self.snapshots.current
        return None if snap is None else snap.document(audience, path)

    async def _ready(self) -> None:
        if self.snapshots.current is None:
            await self.snapshots.refresh()

    async def _html(self, audience: Audience) -> Document | None:
        """The HTML page; the first asked of this process wakes the renderer (Jinja2 is
        imported then, not at start) and rebuilds the snapshot once with it."""
        await self._ready()
        doc = self.current(audience, "index.html")
        if doc is None and not self.pages.awake:
            async with self._waking:
                if not self.pages.awake:
                    self.pages.awake = True
                    await self.snapshots.refresh(force=True)
            doc = self.current(audience, "index.html")
        return doc

    # --- public -----------------------------------------------------------------------

    async def public_document(self, request: web.Request) -> web.StreamResponse:
        if not self.public:
            raise web.HTTPNotFound(text="this status page is not public")
        await self._ready()
        path = request.match_info.get("path", "")
        return self.answer(request, self.current("public", f"api/v2/{path}"), "public")

    async def public_page(self, request: web.Request) -> web.StreamResponse:
        if not self.public:
            raise web.HTTPFound("/status/internal")
        return self.answer(request, await self._html("public"), "public")

    async def feed(self, request: web.Request) -> web.StreamResponse:
        if not self.public:
            raise web.HTTPNotFound(text="this status page is not public")
        await self._ready()
        return self.answer(request, self.current("public", "feed.atom"), "public")

    async def _subject(self, request: web.Request, audience: Audience) -> web.StreamResponse:
        """A shortlink of the JSON or the feed (…/incidents/{id}, …/maintenance/{id}): to
        its place on the page, when the page lists it."""
        await self._ready()
        snap = self.snapshots.current
        view = None if snap is None else snap.views.get(audience)
        kind, subject = request.match_info["kind"], request.match_info["id"]
        listed = [] if view is None else (
            [i.id for i in view.incidents] if kind == "incidents"
            else [m.id for m in view.maintenances])
        if subject not in listed:
            raise web.HTTPNotFound(text="not found")
        page = "/status" if audience == "public" else "/status/internal"
        anchor = "incident" if kind == "incidents" else "maintenance"
        raise web.HTTPFound(f"{page}#{anchor}-{subject}")

    async def public_subject(self, request: web.Request) -> web.StreamResponse:
        if not self.public:
            raise web.HTTPNotFound(text="this status page is not public")
        return await self._subject(request, "public")

    async def internal_subject(self, request: web.Request) -> web.StreamResponse:
        await self._viewer(request, api=False)
        return await self._subject(request, "internal")

    # --- internal ---------------------------------------------------------------------

    async def _viewer(self, request: web.Request, *, api: bool) -> Viewer:
        if self.signed_in is None:
            raise web.HTTPNotFound(text="the internal status page needs Sign in with Slack "
                                        "(see the web app's settings)")
        user = await self.signed_in(request)
        if user is None:
            if api:
                raise web.HTTPUnauthorized(text='{"error": "not_authed"}',
                                           content_type="application/json")
            raise web.HTTPFound("/auth/signin?next=" + quote(request.path_qs, safe=""))
        return user

    async def internal_document(self, request: web.Request) -> web.StreamResponse:
        await self._viewer(request, api=True)
        await self._ready()
        path = request.match_info.get("path", "")
        return self.answer(request, self.current("internal", f"api/v2/{path}"), "internal")

    async def internal_feed(self, request: web.Request) -> web.StreamResponse:
        await self._viewer(request, api=False)
        await self._ready()
        return self.answer(request, self.current("internal", "feed.atom"), "internal")

    async def internal_page(self, request: web.Request) -> web.StreamResponse:
        viewer = await self._viewer(request, api=False)
        doc = await self._html("internal")
        if doc is None:
            raise web.HTTPNotFound(text="not found")
        # one page for everyone signed in, with each viewer's CSRF token in its forms
        token = escape(viewer.csrf).encode()
        tag = doc.etag[:-1] + "-" + hashlib.sha256(token).hexdigest()[:12] + '"'
        mine = Document(doc.body.replace(CSRF_SLOT.encode(), token), doc.content_type, tag)
        return self.answer(request, mine, "internal")

    # --- subscribing ------------------------------------------------------------------

    async def subscribe_email(self, request: web.Request) -> web.StreamResponse:
        if not self.public or not self.email:
            raise web.HTTPNotFound(text="email subscriptions are not set up")
        self._refuse_cross_site(request)
        form = await request.post()
        names = [str(v) for v in form.getall("component", [])]
        try:
            await self.subscribers.subscribe_email(str(form.get("email", "")), names)
        except IncidentBotError as exc:
            return self._page(exc.message, status=400)
        return self._page("Check your mail: the link in it confirms the subscription.")

    async def subscribe_webhook(self, request: web.Request) -> web.StreamResponse:
        """Signed in only: a public form would let anyone make the bot call into its own
        network. The secret is in this answer and never again."""
        viewer = await self._viewer(request, api=False)
        self._refuse_cross_site(request)
        form = await request.post()
        sent = form.get("csrf_token")
        if not viewer.csrf or not isinstance(sent, str) or \
                not hmac.compare_digest(sent, viewer.csrf):
            raise web.HTTPForbidden(text="missing or wrong CSRF token: reload the page and retry")
        names = [str(v) for v in form.getall("component", [])]
        try:
            sub, secret = await self.subscribers.subscribe_webhook(str(form.get("url", "")),
                                                                   names)
        except IncidentBotError as exc:
            return self._page(exc.message, status=400)
        return self._page(
            f"Subscribed {sub.target}. Its signing secret (shown once, keep it now): {secret} "
            "— each delivery carries X-Status-Signature: sha256=<HMAC-SHA256 of the body>."
        )

    async def confirm(self, request: web.Request) -> web.StreamResponse:
        sub = await self.subscribers.confirm(request.match_info["token"])
        if sub is None:
            return self._page("That link is not valid (any more).", status=404)
        return self._page(f"Subscribed: {sub.target} gets the status page's updates.")

    async def unsubscribe_form(self, request: web.Request) -> web.StreamResponse:
        """A GET never unsubscribes (mail scanners follow links): it shows the button."""
        token = quote(request.match_info["token"], safe="")
        return self._page("Stop getting this status page's updates?",
                          action=f"/status/subscriptions/unsubscribe/{token}",
                          button="Unsubscribe")

    async def unsubscribe(self, request: web.Request) -> web.StreamResponse:
        self._refuse_cross_site(request)
        sub = await self.subscribers.unsubscribe(request.match_info["token"])
        if sub is None:
            return self._page("That link is not valid (any more).", status=404)
        return self._page(f"Unsubscribed: {sub.target} gets no more updates.")

    async def css(self, request: web.Request) -> web.StreamResponse:
        sheet = self.pages.stylesheet
        tag = '"' + sheet.url.rsplit("=", 1)[1] + '"'
        headers = {"ETag": tag, "Cache-Control": FOREVER, "X-Content-Type-Options": "nosniff"}
        if request.headers.get("If-None-Match") == tag:
            return web.Response(status=304, headers=headers)
        return web.Response(body=sheet.body, headers={**headers,
                                                      "Content-Type": "text/css; charset=utf-8"})

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/status/static/status.css", self.css),
            web.get("/status", self.public_page),
            web.get("/status/", self.public_page),
            web.get("/status/feed.atom", self.feed),
            web.get("/status/api/v2/{path:.+\\.json}", self.public_document),
            web.get("/status/internal", self.internal_page),
            web.get("/status/internal/api/v2/{path:.+\\.json}", self.internal_document),
            web.get("/status/internal/feed.atom", self.internal_feed),
            web.get("/status/{kind:incidents|maintenance}/{id:[a-z0-9]+}", self.public_subject),
            web.get("/status/internal/{kind:incidents|maintenance}/{id:[a-z0-9]+}",
                    self.internal_subject),
            web.post("/status/subscribe", self.subscribe_email),
            web.post("/status/internal/webhooks", self.subscribe_webhook),
            web.get("/status/subscriptions/confirm/{token}", self.confirm),
            web.get("/status/subscriptions/unsubscribe/{token}", self.unsubscribe_form),
            web.post("/status/subscriptions/unsubscribe/{token}", self.unsubscribe),
        ]
