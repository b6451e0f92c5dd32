"""The trackers calling in: `POST /webhooks/jira/<JIRA_WEBHOOK_TOKEN>`, `/webhooks/github`
(X-Hub-Signature-256, GITHUB_WEBHOOK_SECRET) and `/webhooks/linear` (Linear-Signature,
LINEAR_WEBHOOK_SECRET). Each delivery is verified before anything is read, handled once
(its delivery id is remembered for a week), and applied at once: an issue closed there
finishes its action item and stops the reminders; reopened, the item opens again. The
worker's poll (TRACKER_SYNC_INTERVAL) stays as the fallback for missed deliveries.

Answers: 401 bad token or signature, 400 unreadable, 413 too large, 503 not configured or
Redis down (the sender re-delivers), 200 otherwise (with what was done)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web

from bot.clock import Clock
from bot.errors import IncidentBotError
from bot.integrations.tracker_events import (
    IssueChange,
    github_change,
    github_signature_valid,
    jira_change,
    linear_change,
    linear_fresh,
    linear_signature_valid,
    token_valid,
)
from bot.integrations.tracking import TrackerService
from bot.store import keys

log = structlog.get_logger(__name__)

JIRA_PATH = "/webhooks/jira"
GITHUB_PATH = "/webhooks/github"
LINEAR_PATH = "/webhooks/linear"
MAX_BODY = 1024 * 1024  # Jira sends the whole issue; GitHub caps payloads at 25 MB, we need less
SEEN_TTL = 7 * 24 * 3600


def _answer(status: int, **body: Any) -> web.Response:
    return web.json_response({"ok": status == 200, **body}, status=status)


Verify = Callable[[web.Request, bytes], str | None]  # the reason it is refused, or None
Read = Callable[[web.Request, dict[str, Any]], IssueChange | None]


def _route(
    product: str,
    setting: str,
    tracking: TrackerService | None,
    verify: Verify,
    read: Read,
    delivery_header: str,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def receive(request: web.Request) -> web.Response:
        if tracking is None:
            return _answer(503, error=f"not configured: set {setting} and the tracker")
        body = await request.read()
        if len(body) > MAX_BODY:
            return _answer(413, error="payload too large")
        refused = verify(request, body)
        if refused:
            log.warning("tracker_webhook_refused", product=product, reason=refused)
            return _answer(401, error=refused)
        try:
            doc = json.loads(body)
            if not isinstance(doc, dict):
                raise ValueError("not an object")
        except ValueError:
            return _answer(400, error="invalid payload")
        change = read(request, doc)
        if change is None:
            return _answer(200, ignored="not an issue state change")
        delivery = request.headers.get(delivery_header) or hashlib.sha256(body).hexdigest()
        seen = keys.tracker_event_seen(product, delivery[:200])
        try:
            if not await tracking.store.first_time(seen, SEEN_TTL):
                return _answer(200, duplicate=True)
            try:
                done = await tracking.on_issue_change(change)
            except BaseException:
                await tracking.store.forget(seen)  # not applied: a re-delivery may do it
                raise
        except IncidentBotError as exc:
            log.warning("tracker_webhook_failed", product=product, reason=exc.message)
            return _answer(503, error=exc.message)
        log.info("tracker_webhook", product=product, issue=change.key, result=done)
        return _answer(200, result=done)

    return receive


def tracker_routes(
    tracking: TrackerService | None,
    *,
    clock: Clock,
    jira_token: str | None,
    github_secret: str | None,
    github_repo: str | None,
    linear_secret: str | None,
) -> list[web.RouteDef]:
    """The three routes; each answers 503 until its secret (and the tracker) is set."""

    def jira_verify(request: web.Request, body: bytes) -> str | None:
        given = request.match_info.get("token", "")
        return None if jira_token and token_valid(jira_token, given) else "invalid token"

    def github_verify(request: web.Request, body: bytes) -> str | None:
        header = request.headers.get("X-Hub-Signature-256", "")
        ok = github_secret and github_signature_valid(github_secret, body, header)
        return None if ok else "invalid signature"

    def linear_verify(request: web.Request, body: bytes) -> str | None:
        header = request.headers.get("Linear-Signature", "")
        if not (linear_secret and linear_signature_valid(linear_secret, body, header)):
            return "invalid signature"
        try:
            doc = json.loads(body)
        except ValueError:
            return None  # signed but unreadable: a 400 below
        if not isinstance(doc, dict) or not linear_fresh(doc, clock()):
            return "stale delivery (webhookTimestamp is more than a minute off)"
        return None

    def github_read(request: web.Request, doc: dict[str, Any]) -> IssueChange | None:
        event = request.headers.get("X-GitHub-Event", "")
        return github_change(event, doc, github_repo or "")

    def configured(secret: str | None) -> TrackerService | None:
        return tracking if secret else None

    jira = _route("jira", "JIRA_WEBHOOK_TOKEN", configured(jira_token), jira_verify,
                  lambda _, doc: jira_change(doc), "X-Atlassian-Webhook-Identifier")
    return [
        web.post(JIRA_PATH + "/{token}", jira),
        web.post(JIRA_PATH, jira),  # no token: refused like a wrong one
        web.post(
            GITHUB_PATH,
            _route("github", "GITHUB_WEBHOOK_SECRET", configured(github_secret), github_verify,
                   github_read, "X-GitHub-Delivery"),
        ),
        web.post(
            LINEAR_PATH,
            _route("linear", "LINEAR_WEBHOOK_SECRET", configured(linear_secret), linear_verify,
                   lambda _, doc: linear_change(doc), "Linear-Delivery"),
        ),
    ]
