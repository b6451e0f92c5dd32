"""Strict in-process emulator of the Slack Web API (the "bundled local workspace").

It runs an aiohttp server on ``127.0.0.1`` (free port) in its *own* thread and event loop, so
it can be used from sync code, async tests and the CLI demo alike::

    from slack_sdk.web.async_client import AsyncWebClient
    from sandbox.slack_emulator import SlackEmulator

    with SlackEmulator() as slack:                     # or slack.start() / slack.stop()
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
        resp = await client.chat_postMessage(channel="#incidents", text="hello")
        assert slack.messages("incidents")[-1].text == "hello"

Behaviour follows Slack's published method contracts (argument requirements, error names,
response shapes) for the methods in :data:`METHOD_SCOPES`; anything else returns
``{"ok": false, "error": "unknown_method"}``.  Tokens come from the ``Authorization: Bearer``
header or a ``token`` argument (``not_authed`` / ``invalid_auth``); every method checks its
OAuth scope (``missing_scope`` with ``needed``/``provided``); on a private channel the
``conversations.*`` methods need Slack's ``groups:*`` scope instead
(:data:`PRIVATE_CHANNEL_SCOPES`), as ``conversations.create`` with ``is_private`` does.

Default workspace (restored by ``reset()``; ``reset(workspace=False)`` only clears calls,
faults and latency): team ``T0001`` (domain
``incident-sandbox``), bot ``U0BOT``/``B0BOT``, users ``U0ALICE`` (America/New_York),
``U0BOB`` (Europe/London), ``U0CHARLIE`` (Asia/Tokyo), ``U0DIANA`` (America/Los_Angeles),
public ``#incidents`` with everyone (bot included) as members, and user group ``@oncall``
(alice, bob).  Buttons are held to Block Kit's caps (value 2,000 characters, action_id 255,
url 3,000, label 75), and a section's text to 3,000 characters: over a cap, ``chat.*``
answers ``invalid_blocks``, ``views.*``
``invalid_arguments`` and a response_url HTTP 400 ``invalid_blocks``, as Slack does.
Not emulated: system messages (joins / topic changes), Events API delivery, trigger-id
expiry by time, response_url use limits. Like Slack, there is no way for a bot
to make a public channel private (only Enterprise Grid's admin API can).

``api_url``/``base_url`` are set by ``start()``.  Extra helpers for tests: ``add_user``,
``add_channel``, ``add_usergroup``, ``post_as_user``, ``add_token``, ``set_scopes``,
``issue_trigger_id`` (``views.open`` also accepts any trigger_id starting with ``trig-``) and
``new_response_url(channel_id, user_id, message_ts)``.

Inspection: :meth:`SlackEmulator.calls`, :meth:`~SlackEmulator.messages`,
:meth:`~SlackEmulator.responses`, :meth:`~SlackEmulator.uploaded_files`, ... return *copies*.
Fault injection: :meth:`~SlackEmulator.fail`. Latency: ``latency`` (seconds every Web API
call and response_url post takes, like Slack's ~150 ms round trip), ``method_latency``
(per method, e.g. ``{"conversations.create": 0.3}``; ``"response_url"`` for replies).
Every call records when it arrived and when it was answered (``time.perf_counter()``), so a
benchmark can count round trips.

Rate limits like Slack's (off unless asked for: ``SlackEmulator(rate_limits=RateLimits.slack())``
or ``emu.rate_limits = RateLimits.slack()``): a token bucket per method and workspace token
(Slack's tiers 1-4), and for ``chat.postMessage`` also one per channel (about one message a
second with short bursts) under a workspace-wide limit. An exhausted bucket answers HTTP 429
``{"ok": false, "error": "ratelimited"}`` with ``Retry-After`` (whole seconds until the next
token). ``reset()`` turns the limits back to what the emulator was built with.

Socket Mode: ``add_app_token("xapp-…")`` registers an app-level token, good only for
``apps.connections.open``, which answers a one-time WebSocket URL served by
``emu.socket_mode`` (sandbox/socket_mode.py: hello, envelopes, acks, disconnect).

Sign in with Slack: ``emu.oidc`` (sandbox/slack_oidc.py) serves Slack's OpenID Connect
authorize page, keys document, ``openid.connect.token`` and ``openid.connect.userInfo``.

Run ``python -m sandbox.slack_emulator`` to serve a workspace on a fixed port.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import itertools
import json
import math
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from sandbox.slack_oidc import OIDC_METHODS, SlackOidc
from sandbox.socket_mode import SocketModeStandIn

__all__ = [
    "DEFAULT_BOT_TOKEN",
    "METHOD_SCOPES",
    "PRIVATE_CHANNEL_SCOPES",
    "Call",
    "Channel",
    "Fault",
    "Message",
    "RateLimit",
    "RateLimits",
    "ResponseUrlPost",
    "SlackEmulator",
    "Team",
    "UploadedFile",
    "User",
    "Usergroup",
    "View",
]

DEFAULT_BOT_TOKEN = "xoxb-test-token"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
APP_ID = "A0APP"

#: Emulated methods -> OAuth scope a bot token needs (``None``: no scope needed).
METHOD_SCOPES: dict[str, str | None] = {
    "api.test": None,
    "auth.test": None,
    "conversations.archive": "channels:manage",
    "conversations.create": "channels:manage",
    "conversations.history": "channels:history",
    "conversations.info": "channels:read",
    "conversations.invite": "channels:manage",
    "conversations.join": "channels:join",
    "conversations.list": "channels:read",
    "conversations.members": "channels:read",
    "conversations.open": "im:write",
    "conversations.rename": "channels:manage",
    "conversations.replies": "channels:history",
    "conversations.setPurpose": "channels:manage",
    "conversations.setTopic": "channels:manage",
    "chat.delete": "chat:write",
    "chat.getPermalink": None,
    "chat.postEphemeral": "chat:write",
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "files.completeUploadExternal": "files:write",
    "files.getUploadURLExternal": "files:write",
    "pins.add": "pins:write",
    "reactions.add": "reactions:write",
    "usergroups.users.list": "usergroups:read",
    "users.conversations": "channels:read",  # and groups:read for private channels
    "users.info": "users:read",
    "users.list": "users:read",
    "views.open": None,
    "views.publish": None,
    "views.update": None,
}

#: The scope a method needs instead when the channel it acts on is private (Slack's
#: ``groups:*`` scopes; ``conversations.create`` with ``is_private`` needs ``groups:write``).
PRIVATE_CHANNEL_SCOPES: dict[str, str] = {
    "conversations.archive": "groups:write",
    "conversations.create": "groups:write",
    "conversations.history": "groups:history",
    "conversations.info": "groups:read",
    "conversations.invite": "groups:write",
    "conversations.members": "groups:read",
    "conversations.rename": "groups:write",
    "conversations.replies": "groups:history",
    "conversations.setPurpose": "groups:write",
    "conversations.setTopic": "groups:write",
}

# scopes that change what a method returns rather than whether it may be called
FIELD_SCOPES = {"users:read.email": "profile.email in users.info / users.list"}
DEFAULT_SCOPES: frozenset[str] = frozenset(
    {s for s in METHOD_SCOPES.values() if s}
    | set(PRIVATE_CHANNEL_SCOPES.values())
    | set(FIELD_SCOPES)
)

_CHANNEL_NAME_OK = re.compile(r"^[a-z0-9_-]+$")
_EMOJI_NAME_OK = re.compile(r"^[a-z0-9_+'-]+$")
_MAX_TEXT = 40_000
_MAX_BLOCKS = 50
#: Block Kit's button element limits (docs.slack.dev/reference/block-kit/block-elements/
#: button-element): a field over its cap makes the whole message or view invalid.
_BUTTON_LIMITS = {"value": 2000, "action_id": 255, "url": 3000}
_BUTTON_TEXT_MAX = 75
#: a section block's text (docs.slack.dev/reference/block-kit/blocks/section-block)
_SECTION_TEXT_MAX = 3000


def _element_errors(node: Any, pointer: str) -> list[str]:
    """Slack-style errors (``must be less than N characters [json-pointer:…]``) for every
    button under ``node`` whose value, action_id, url or label is longer than Slack allows."""
    errors: list[str] = []
    if isinstance(node, list):
        for i, child in enumerate(node):
            errors += _element_errors(child, f"{pointer}/{i}")
        return errors
    if not isinstance(node, dict):
        return errors
    section_text = node.get("text") if node.get("type") == "section" else None
    if isinstance(section_text, dict) and len(str(section_text.get("text", ""))) > (
        _SECTION_TEXT_MAX
    ):
        errors.append(
            f"must be less than {_SECTION_TEXT_MAX + 1} characters "
            f"[json-pointer:{pointer}/text/text]"
        )
    if node.get("type") == "button":
        for field_name, cap in _BUTTON_LIMITS.items():
            value = node.get(field_name)
            if isinstance(value, str) and len(value) > cap:
                errors.append(
                    f"must be less than {cap + 1} characters [json-pointer:{pointer}/{field_name}]"
                )
        label = node.get("text")
        if isinstance(label, dict) and len(str(label.get("text", ""))) > _BUTTON_TEXT_MAX:
            errors.append(
                f"must be less than {_BUTTON_TEXT_MAX + 1} characters "
                f"[json-pointer:{pointer}/text]"
            )
    for key, child in node.items():
        if isinstance(child, (dict, list)):
            errors += _element_errors(child, f"{pointer}/{key}")
    return errors


class SlackError(Exception):
    """Raised by method handlers to produce ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


# --------------------------------------------------------------------------- state model


@dataclass
class Team:
    id: str = "T0001"
    name: str = "Incident Sandbox"
    domain: str = "incident-sandbox"


@dataclass
class User:
    id: str
    name: str
    real_name: str = ""
    tz: str = "America/New_York"
    tz_label: str = ""
    tz_offset: int = 0
    is_bot: bool = False
    deleted: bool = False
    email: str = ""
    bot_id: str | None = None
    is_admin: bool = False


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool = False
    topic: str = ""
    purpose: str = ""
    members: set[str] = field(default_factory=set)
    created: int = 0
    creator: str = ""
    is_archived: bool = False
    is_general: bool = False
    is_im: bool = False
    is_mpim: bool = False
    im_user: str | None = None


@dataclass
class Message:
    ts: str
    channel: str
    text: str = ""
    user: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    pinned: bool = False
    reactions: dict[str, list[str]] = field(default_factory=dict)
    bot_id: str | None = None
    subtype: str | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] | None = None
    edited: bool = False
    reply_broadcast: bool = False

    def to_api(self, team_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "message",
            "ts": self.ts,
            "text": self.text,
            "user": self.user,
            "team": team_id,
        }
        if self.subtype:
            out["subtype"] = self.subtype
        if self.bot_id:
            out["bot_id"] = self.bot_id
            out["app_id"] = APP_ID
            out["bot_profile"] = {"id": self.bot_id, "app_id": APP_ID, "name": "incident-bot",
                                  "deleted": False, "team_id": team_id}
        if self.blocks:
            out["blocks"] = copy.deepcopy(self.blocks)
        if self.attachments:
            out["attachments"] = copy.deepcopy(self.attachments)
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.files:
            out["files"] = copy.deepcopy(self.files)
            out["upload"] = True
        if self.metadata:
            out["metadata"] = copy.deepcopy(self.metadata)
        if self.reactions:
            out["reactions"] = [
                {"name": n, "users": list(u), "count": len(u)} for n, u in self.reactions.items()
            ]
        if self.pinned:
            out["pinned_to"] = [self.channel]
        if self.edited:
            out["edited"] = {"user": self.user, "ts": self.ts}
        return out


@dataclass
class Usergroup:
    id: str
    handle: str
    name: str
    users: list[str] = field(default_factory=list)


@dataclass
class View:
    id: str
    type: str
    view: dict[str, Any]
    user_id: str | None = None
    trigger_id: str | None = None
    hash: str = ""
    external_id: str = ""
    published: bool = False
    updates: int = 0

    def to_api(self, team_id: str) -> dict[str, Any]:
        out = copy.deepcopy(self.view)
        out.update(
            {
                "id": self.id,
                "team_id": team_id,
                "type": self.type,
                "hash": self.hash,
                "app_id": APP_ID,
                "bot_id": BOT_ID,
                "root_view_id": self.id,
                "previous_view_id": None,
                "external_id": self.external_id,
                "state": {"values": {}},
            }
        )
        out.setdefault("private_metadata", "")
        out.setdefault("callback_id", "")
        out.setdefault("blocks", [])
        return out


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str | None
    http_status: int
    response: dict[str, Any]
    arrived: float = 0.0  # time.perf_counter() when the request came in
    answered: float = 0.0  # ... and when the answer went out (after the latency)


@dataclass
class ResponseUrlPost:
    response_id: str
    url: str
    channel_id: str | None
    user_id: str | None
    payload: dict[str, Any]
    response_type: str  # "ephemeral" | "in_channel"
    replace_original: bool
    delete_original: bool
    arrived: float = 0.0  # time.perf_counter(), as for Call
    answered: float = 0.0

    @property
    def text(self) -> str:
        return str(self.payload.get("text", ""))

    def to_dict(self) -> dict[str, Any]:
        out = copy.deepcopy(self.payload)
        out["response_type"] = self.response_type
        out["response_url"] = self.url
        out["channel_id"] = self.channel_id
        out["user_id"] = self.user_id
        return out

    @property
    def blocks(self) -> list[dict[str, Any]]:
        blocks = self.payload.get("blocks") or []
        return list(blocks) if isinstance(blocks, list) else []


@dataclass
class UploadedFile:
    id: str
    name: str
    length: int
    title: str = ""
    content: bytes = b""
    uploaded: bool = False
    completed: bool = False
    channel: str | None = None
    initial_comment: str = ""
    alt_txt: str = ""
    user: str = ""
    created: int = 0


@dataclass
class Fault:
    method: str
    error: str
    status: int
    retry_after: int
    remaining: int | None  # None = forever


@dataclass
class _Token:
    user_id: str
    scopes: set[str]
    bot: bool
    app_level: bool = False  # xapp-: only apps.connections.open


@dataclass
class _ResponseUrl:
    id: str
    channel_id: str | None
    user_id: str | None
    message_ts: str | None


@dataclass(frozen=True)
class RateLimit:
    """A token bucket: ``per_minute`` tokens a minute, holding at most ``burst``."""

    per_minute: float
    burst: int


#: Slack's published tiers (calls per minute per method and workspace; bursts allowed).
TIER_1 = RateLimit(per_minute=1, burst=1)
TIER_2 = RateLimit(per_minute=20, burst=20)
TIER_3 = RateLimit(per_minute=50, burst=50)
TIER_4 = RateLimit(per_minute=100, burst=100)


@dataclass(frozen=True)
class RateLimits:
    """Which buckets a call draws from: one per (method, token) and, for the methods in
    ``per_channel``, one per (method, token, channel) as well. Methods not listed in
    ``methods`` use ``default`` (``None``: unlimited)."""

    methods: dict[str, RateLimit] = field(default_factory=dict)
    per_channel: dict[str, RateLimit] = field(default_factory=dict)
    default: RateLimit | None = None

    @classmethod
    def slack(cls) -> RateLimits:
        """Slack's documented limits for the emulated methods. ``chat.postMessage`` is
        "special": about 1 message per second per channel with short bursts, and a
        workspace-wide limit of several hundred a minute."""
        return cls(
            methods={
                "auth.test": TIER_4,
                "api.test": TIER_4,
                "conversations.archive": TIER_2,
                "conversations.create": TIER_2,
                "conversations.history": TIER_3,
                "conversations.info": TIER_3,
                "conversations.invite": TIER_3,
                "conversations.join": TIER_3,
                "conversations.list": TIER_2,
                "conversations.members": TIER_4,
                "conversations.open": TIER_3,
                "conversations.replies": TIER_3,
                "conversations.setPurpose": TIER_2,
                "conversations.setTopic": TIER_2,
                "chat.delete": TIER_3,
                "chat.getPermalink": TIER_4,
                "chat.postEphemeral": TIER_4,
                "chat.postMessage": RateLimit(per_minute=600, burst=60),
                "chat.update": TIER_3,
                "files.completeUploadExternal": TIER_4,
                "files.getUploadURLExternal": TIER_4,
                "pins.add": TIER_2,
                "reactions.add": TIER_3,
                "usergroups.users.list": TIER_2,
                "users.info": TIER_4,
                "users.list": TIER_2,
                "views.open": TIER_4,
                "views.publish": TIER_4,
                "views.update": TIER_4,
            },
            per_channel={"chat.postMessage": RateLimit(per_minute=60, burst=3)},
        )


@dataclass
class _Bucket:
    tokens: float
    at: float


class _RateLimiter:
    """Token buckets over the emulator's clock; callers hold the emulator lock."""

    def __init__(self, limits: RateLimits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self.clock = clock
        self.buckets: dict[tuple[str, ...], _Bucket] = {}

    def _wait(self, key: tuple[str, ...], limit: RateLimit, now: float) -> float:
        """Seconds until this bucket has a token (0: it has one now)."""
        rate = limit.per_minute / 60.0
        bucket = self.buckets.setdefault(key, _Bucket(float(limit.burst), now))
        bucket.tokens = min(float(limit.burst), bucket.tokens + (now - bucket.at) * rate)
        bucket.at = now
        return 0.0 if bucket.tokens >= 1.0 else (1.0 - bucket.tokens) / rate

    def admit(self, method: str, token: str, channel: str | None) -> float:
        """0 when the call may go ahead (its tokens are taken), else seconds to wait."""
        now = self.clock()
        wanted: list[tuple[tuple[str, ...], RateLimit]] = []
        method_limit = self.limits.methods.get(method, self.limits.default)
        if method_limit is not None:
            wanted.append(((method, token), method_limit))
        channel_limit = self.limits.per_channel.get(method)
        if channel_limit is not None and channel:
            wanted.append(((method, token, channel), channel_limit))
        wait = max((self._wait(key, limit, now) for key, limit in wanted), default=0.0)
        if wait > 0:
            return wait
        for key, _ in wanted:
            self.buckets[key].tokens -= 1.0
        return 0.0


# --------------------------------------------------------------------------- arg helpers


def _str(args: dict[str, Any], key: str) -> str:
    v = args.get(key)
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _bool(args: dict[str, Any], key: str, default: bool = False) -> bool:
    v = args.get(key)
    if v is None or v == "":
        return default
    if isinstance(v, bool):
        return v
    return str(v).lower() in {"1", "true", "yes"}


def _int(args: dict[str, Any], key: str, default: int) -> int:
    v = args.get(key)
    if v is None or v == "":
        return default
    try:
        return int(v)
    except (TypeError, ValueError) as exc:
        raise SlackError("invalid_arguments", response_metadata={
            "messages": [f"[ERROR] invalid value for field: {key}"]}) from exc


def _json_arg(args: dict[str, Any], key: str, error: str = "invalid_arguments") -> Any:
    v = args.get(key)
    if v is None or v == "":
        return None
    if isinstance(v, str):
        try:
            return json.loads(v)
        except json.JSONDecodeError as exc:
            raise SlackError(error) from exc
    return v


def _required(args: dict[str, Any], *keys: str) -> None:
    missing = [k for k in keys if args.get(k) in (None, "")]
    if missing:
        raise SlackError(
            "invalid_arguments",
            response_metadata={
                "messages": [f"[ERROR] missing required field: {k}" for k in missing]
            },
        )


def _user_list(raw: Any) -> list[str]:
    if isinstance(raw, list):
        return [str(u).strip() for u in raw if str(u).strip()]
    return [u.strip() for u in str(raw or "").split(",") if u.strip()]


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    if not cursor:
        return 0
    try:
        raw = base64.b64decode(cursor.encode()).decode()
        return int(raw.split(":", 1)[1])
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        raise SlackError("invalid_cursor") from exc


def _paginate(items: list[Any], args: dict[str, Any], default_limit: int) -> tuple[list[Any], str]:
    limit = _int(args, "limit", default_limit) or default_limit
    start = _decode_cursor(_str(args, "cursor"))
    page = items[start : start + limit]
    nxt = _encode_cursor(start + limit) if start + limit < len(items) else ""
    return page, nxt


# --------------------------------------------------------------------------- emulator


Handler = Callable[[dict[str, Any], _Token], dict[str, Any]]


class SlackEmulator:
    """A local, strict Slack Web API served from a background thread (see module docstring)."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_BOT_TOKEN,
        scopes: Iterable[str] | None = None,
        seed_defaults: bool = True,
        latency: float = 0.0,
        port: int = 0,
        clock: Callable[[], float] = time.time,
        rate_limits: RateLimits | None = None,
    ) -> None:
        self.bot_token = token
        self._initial_rate_limits = rate_limits
        self._limiter: _RateLimiter | None = None
        self.latency = latency
        self.method_latency: dict[str, float] = {}
        self._port = port
        self._clock = clock
        self._seed_defaults = seed_defaults
        self._lock = threading.RLock()
        self._initial_scopes = set(DEFAULT_SCOPES if scopes is None else scopes)
        self.socket_mode = SocketModeStandIn(APP_ID)
        # Sign in with Slack (sandbox/slack_oidc.py): its tokens are for a real browser's
        # sign-in, so they carry real time even when the workspace's clock is a demo's
        self.oidc = SlackOidc(self)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.api_url = ""
        self._handlers: dict[str, Handler] = {
            "api.test": self._api_test,
            "apps.connections.open": self._apps_connections_open,
            "auth.test": self._auth_test,
            "conversations.archive": self._conversations_archive,
            "conversations.create": self._conversations_create,
            "conversations.history": self._conversations_history,
            "conversations.info": self._conversations_info,
            "conversations.invite": self._conversations_invite,
            "conversations.join": self._conversations_join,
            "conversations.list": self._conversations_list,
            "conversations.members": self._conversations_members,
            "conversations.open": self._conversations_open,
            "conversations.rename": self._conversations_rename,
            "conversations.replies": self._conversations_replies,
            "conversations.setPurpose": self._conversations_set_purpose,
            "conversations.setTopic": self._conversations_set_topic,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "files.completeUploadExternal": self._files_complete_upload_external,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "pins.add": self._pins_add,
            "reactions.add": self._reactions_add,
            "usergroups.users.list": self._usergroups_users_list,
            "users.conversations": self._users_conversations,
            "users.info": self._users_info,
            "users.list": self._users_list,
            "views.open": self._views_open,
            "views.publish": self._views_publish,
            "views.update": self._views_update,
        }
        self._reset_workspace()
        self._calls: list[Call] = []
        self._faults: list[Fault] = []
        self.rate_limits = rate_limits

    @property
    def rate_limits(self) -> RateLimits | None:
        """Slack-like rate limits in force (``None``: unlimited); setting them empties nothing
        but starts every bucket full."""
        return None if self._limiter is None else self._limiter.limits

    @rate_limits.setter
    def rate_limits(self, limits: RateLimits | None) -> None:
        with self._lock:
            self._limiter = None if limits is None else _RateLimiter(limits, self._clock)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> SlackEmulator:
        """Start the server thread; blocks until it is accepting connections."""
        if self._thread is not None:
            return self
        ready = threading.Event()
        errors: list[BaseException] = []
        loop = asyncio.new_event_loop()
        self._loop = loop

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._serve())
            except BaseException as exc:  # pragma: no cover - surfaced to start()
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, name="slack-emulator", daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            self._thread = None
            raise RuntimeError(f"slack emulator failed to start: {errors[0]!r}")
        return self

    async def _serve(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/upload/v1/{file_id}", self._handle_upload)
        app.router.add_post("/response/{rid}", self._handle_response_url)
        app.router.add_get("/link/", self.socket_mode.handle)
        app.router.add_routes(self.oidc.routes())
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self._port)
        await site.start()
        self._runner = runner
        port = 0
        for addr in runner.addresses:
            if isinstance(addr, tuple):
                port = int(addr[1])
                break
        self.base_url = f"http://127.0.0.1:{port}"
        self.api_url = f"{self.base_url}/api/"
        self.socket_mode.attach(asyncio.get_running_loop(), self.base_url)

    def stop(self) -> None:
        """Shut the server down and join its thread (idempotent)."""
        loop, thread, runner = self._loop, self._thread, self._runner
        if loop is None or thread is None:
            return
        if runner is not None:
            fut = asyncio.run_coroutine_threadsafe(runner.cleanup(), loop)
            fut.result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._loop = self._thread = self._runner = None

    def __enter__(self) -> SlackEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1]) if self.base_url else 0

    # ------------------------------------------------------------------ seeding

    def _reset_workspace(self) -> None:
        with self._lock:
            self.team = Team()
            self._ids = itertools.count(1)
            self._last_ts_us = 0
            self._users: dict[str, User] = {}
            self._channels: dict[str, Channel] = {}
            self._messages: dict[str, list[Message]] = {}
            self._ephemerals: list[dict[str, Any]] = []
            self._usergroups: dict[str, Usergroup] = {}
            self._views: dict[str, View] = {}
            self._home_views: dict[str, View] = {}
            self._triggers: set[str] = set()
            self._used_triggers: set[str] = set()
            self._response_urls: dict[str, _ResponseUrl] = {}
            self._responses: list[ResponseUrlPost] = []
            self._files: dict[str, UploadedFile] = {}
            self._tokens: dict[str, _Token] = {
                self.bot_token: _Token(BOT_USER_ID, set(self._initial_scopes), bot=True)
            }
            self._revoked_tokens: set[str] = set()
            self._users[BOT_USER_ID] = User(
                BOT_USER_ID, "incident-bot", "Incident Bot", tz="America/Los_Angeles",
                tz_label="Pacific Standard Time", tz_offset=-28800, is_bot=True, bot_id=BOT_ID,
            )
            if self._seed_defaults:
                self.add_user("alice", "Alice Anders", tz="America/New_York",
                              tz_offset=-18000, user_id="U0ALICE", is_admin=True)
                self.add_user("bob", "Bob Brown", tz="Europe/London", tz_offset=0,
                              user_id="U0BOB")
                self.add_user("charlie", "Charlie Chen", tz="Asia/Tokyo", tz_offset=32400,
                              user_id="U0CHARLIE")
                self.add_user("diana", "Diana Diaz", tz="America/Los_Angeles",
                              tz_offset=-28800, user_id="U0DIANA")
                self.add_channel(
                    "incidents",
                    members=["U0ALICE", "U0BOB", "U0CHARLIE", "U0DIANA", BOT_USER_ID],
                    purpose="Incident announcements", channel_id="C0INCIDENTS", is_general=False,
                )
                self.add_usergroup("oncall", ["U0ALICE", "U0BOB"], name="On-call",
                                   group_id="S0ONCALL")

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):010X}"

    def _next_ts(self) -> str:
        us = max(int(self._clock() * 1_000_000), self._last_ts_us + 1)
        self._last_ts_us = us
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"

    def add_user(
        self,
        name: str,
        real_name: str = "",
        *,
        tz: str = "America/New_York",
        tz_offset: int = -18000,
        tz_label: str = "",
        is_bot: bool = False,
        deleted: bool = False,
        email: str = "",
        user_id: str | None = None,
        is_admin: bool = False,
    ) -> User:
        """Add a workspace member; returns it (ID ``U...`` generated unless given)."""
        with self._lock:
            uid = user_id or self._next_id("U")
            user = User(
                id=uid, name=name, real_name=real_name or name.title(), tz=tz,
                tz_label=tz_label or tz, tz_offset=tz_offset, is_bot=is_bot, deleted=deleted,
                email=email or f"{name}@example.com", is_admin=is_admin,
            )
            self._users[uid] = user
            return copy.deepcopy(user)

    def add_channel(
        self,
        name: str,
        members: Iterable[str] = (),
        *,
        is_private: bool = False,
        topic: str = "",
        purpose: str = "",
        channel_id: str | None = None,
        creator: str = "U0ALICE",
        is_archived: bool = False,
        is_general: bool = False,
    ) -> Channel:
        """Add a channel directly (no validation); members are user IDs or user names."""
        with self._lock:
            cid = channel_id or self._next_id("C")
            ids = {self._resolve_user_ref(m) for m in members}
            ch = Channel(
                id=cid, name=name, is_private=is_private, topic=topic, purpose=purpose,
                members=ids, created=int(self._clock()), creator=creator,
                is_archived=is_archived, is_general=is_general,
            )
            self._channels[cid] = ch
            self._messages[cid] = []
            return copy.deepcopy(ch)

    def add_usergroup(
        self, handle: str, users: Iterable[str], *, name: str = "", group_id: str | None = None
    ) -> Usergroup:
        with self._lock:
            gid = group_id or self._next_id("S")
            grp = Usergroup(gid, handle, name or handle, [self._resolve_user_ref(u) for u in users])
            self._usergroups[gid] = grp
            return copy.deepcopy(grp)

    def add_message(
        self, channel: str, text: str, *, user: str = "U0ALICE", thread_ts: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
    ) -> str:
        """Seed a message from a human (no API checks); returns its ``ts``."""
        with self._lock:
            ch = self._channel_ref(channel)
            if ch is None:
                raise KeyError(channel)
            msg = self._store_message(ch, text=text, user=self._resolve_user_ref(user),
                                      blocks=blocks or [], thread_ts=thread_ts)
            return msg.ts

    def post_as_user(
        self, channel: str, user: str, text: str, *, thread_ts: str | None = None
    ) -> str:
        """A person says ``text`` in ``channel`` (stored directly); returns the message ts."""
        return self.add_message(channel, text, user=user, thread_ts=thread_ts)

    def add_token(self, token: str, user_id: str, scopes: Iterable[str] | None = None) -> None:
        """Register another valid token acting as ``user_id`` (e.g. a user token ``xoxp-``)."""
        with self._lock:
            self._tokens[token] = _Token(
                user_id, set(DEFAULT_SCOPES if scopes is None else scopes),
                bot=token.startswith("xoxb-"),
            )

    def add_app_token(self, token: str, scopes: Iterable[str] = ("connections:write",)) -> None:
        """Register an app-level token (`xapp-…`), good only for `apps.connections.open`."""
        with self._lock:
            self._tokens[token] = _Token("", set(scopes), bot=False, app_level=True)

    def revoke_token(self, token: str | None = None) -> None:
        """Uninstall / revoke: every later call with the token answers `token_revoked`."""
        with self._lock:
            revoked = token or self.bot_token
            self._tokens.pop(revoked, None)
            self._revoked_tokens.add(revoked)

    def set_scopes(self, scopes: Iterable[str], token: str | None = None) -> None:
        """Replace the granted scopes of ``token`` (default: the bot token)."""
        with self._lock:
            self._tokens[token or self.bot_token].scopes = set(scopes)

    def issue_trigger_id(self) -> str:
        """A fresh one-shot trigger_id accepted by ``views.open``."""
        with self._lock:
            trig = f"{next(self._ids)}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}"
            self._triggers.add(trig)
            return trig

    def new_response_url(
        self, channel_id: str | None = None, user_id: str | None = None,
        message_ts: str | None = None,
    ) -> str:
        """A response_url on this emulator. With ``channel_id``, in_channel replies are posted
        there; with ``message_ts`` too, ``replace_original``/``delete_original`` act on it."""
        with self._lock:
            rid = uuid.uuid4().hex
            self._response_urls[rid] = _ResponseUrl(rid, channel_id, user_id, message_ts)
        return f"{self.base_url}/response/{rid}"

    # ------------------------------------------------------------------ faults / reset

    def fail(
        self,
        method: str,
        error: str = "ratelimited",
        status: int | None = None,
        retry_after: int = 1,
        times: int | None = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (``"*"``: any) fail.

        ``status`` defaults to 429 for ``ratelimited`` (with ``Retry-After``) and 200 otherwise.
        ``times=None`` fails forever (until :meth:`reset`).
        """
        with self._lock:
            st = status if status is not None else (429 if error == "ratelimited" else 200)
            self._faults.append(Fault(method, error, st, retry_after, times))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def reset(self, workspace: bool = True) -> None:
        """Clear recorded calls, faults and latency and (by default) restore the seeded workspace:
        users, channels, messages, views, responses, files, tokens/scopes and the ID/ts counters.
        ``reset(workspace=False)`` only clears calls, faults and latency."""
        with self._lock:
            self._calls.clear()
            self._faults.clear()
            self.latency = 0.0
            self.method_latency = {}
            self.rate_limits = self._initial_rate_limits
            if workspace:
                self._reset_workspace()
                self.oidc.reset()
                self.socket_mode.reset()

    # ------------------------------------------------------------------ inspection

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [copy.deepcopy(c) for c in self._calls if method is None or c.method == method]

    def messages(self, channel: str, *, include_replies: bool = True) -> list[Message]:
        """Messages of a channel (ID, name or ``#name``), oldest first."""
        with self._lock:
            ch = self._channel_ref(channel)
            if ch is None:
                raise KeyError(channel)
            msgs = self._messages.get(ch.id, [])
            return [
                copy.deepcopy(m) for m in msgs
                if include_replies or m.thread_ts in (None, m.ts) or m.reply_broadcast
            ]

    def message(self, channel: str, ts: str) -> Message | None:
        with self._lock:
            ch = self._channel_ref(channel)
            found = self._find_message(ch.id, ts) if ch else None
            return copy.deepcopy(found) if found else None

    def ephemerals(self, channel: str | None = None) -> list[dict[str, Any]]:
        """``chat.postEphemeral`` deliveries: dicts with channel, user, ts, text, blocks."""
        with self._lock:
            ch = self._channel_ref(channel) if channel else None
            return [copy.deepcopy(e) for e in self._ephemerals
                    if ch is None or e["channel"] == ch.id]

    def channel_by_name(self, name: str) -> Channel | None:
        with self._lock:
            name = name.lstrip("#")
            for ch in self._channels.values():
                if ch.name == name:
                    return copy.deepcopy(ch)
            return None

    def channel(self, channel: str) -> Channel | None:
        with self._lock:
            ch = self._channel_ref(channel)
            return copy.deepcopy(ch) if ch else None

    def channel_ids(self) -> list[str]:
        with self._lock:
            return list(self._channels)

    def channels(self) -> list[Channel]:
        with self._lock:
            return [copy.deepcopy(c) for c in self._channels.values()]

    def user(self, user: str) -> User | None:
        with self._lock:
            uid = self._resolve_user_ref(user)
            u = self._users.get(uid)
            return copy.deepcopy(u) if u else None

    def users(self) -> list[User]:
        with self._lock:
            return [copy.deepcopy(u) for u in self._users.values()]

    def responses(self, response_url: str | None = None) -> list[dict[str, Any]]:
        """Bodies POSTed to response URLs (optionally only to ``response_url``), oldest first.

        Each is the JSON payload plus ``response_type`` (default ``"ephemeral"``),
        ``response_url``, ``channel_id`` and ``user_id``."""
        with self._lock:
            return [r.to_dict() for r in self._responses
                    if response_url is None or r.url == response_url]

    def response_posts(self) -> list[ResponseUrlPost]:
        """Same as :meth:`responses` as typed records."""
        with self._lock:
            return copy.deepcopy(self._responses)

    def uploaded_files(self) -> list[UploadedFile]:
        with self._lock:
            return [copy.deepcopy(f) for f in self._files.values() if f.completed]

    def views(self) -> list[View]:
        """Modals opened (and updated) via views.open/views.update."""
        with self._lock:
            return [copy.deepcopy(v) for v in self._views.values()]

    def published_views(self) -> dict[str, View]:
        """App Home views by user ID (views.publish)."""
        with self._lock:
            return copy.deepcopy(self._home_views)

    # ------------------------------------------------------------------ lookup helpers

    def _resolve_user_ref(self, ref: str) -> str:
        ref = ref.lstrip("@")
        if ref in self._users:
            return ref
        for u in self._users.values():
            if u.name == ref:
                return u.id
        return ref

    def _channel_ref(self, ref: str | None) -> Channel | None:
        if not ref:
            return None
        if ref in self._channels:
            return self._channels[ref]
        name = ref.lstrip("#")
        for ch in self._channels.values():
            if ch.name == name and not ch.is_im:
                return ch
        return None

    def _visible_channel(self, ref: str, tok: _Token) -> Channel:
        """Channel visible to the caller (private/IM only for members) or channel_not_found."""
        ch = self._channel_ref(ref)
        if ch is None or ((ch.is_private or ch.is_im or ch.is_mpim)
                          and tok.user_id not in ch.members):
            raise SlackError("channel_not_found")
        return ch

    def _find_message(self, cid: str, ts: str) -> Message | None:
        for m in self._messages.get(cid, []):
            if m.ts == ts:
                return m
        return None

    def _store_message(
        self, ch: Channel, *, text: str, user: str, blocks: list[dict[str, Any]],
        attachments: list[dict[str, Any]] | None = None, thread_ts: str | None = None,
        bot_id: str | None = None, subtype: str | None = None,
        files: list[dict[str, Any]] | None = None, metadata: dict[str, Any] | None = None,
        reply_broadcast: bool = False,
    ) -> Message:
        msg = Message(
            ts=self._next_ts(), channel=ch.id, text=text, user=user, blocks=blocks,
            attachments=attachments or [], thread_ts=thread_ts, bot_id=bot_id, subtype=subtype,
            files=files or [], metadata=metadata, reply_broadcast=reply_broadcast,
        )
        self._messages.setdefault(ch.id, []).append(msg)
        return msg

    def _channel_obj(self, ch: Channel, tok: _Token | None = None) -> dict[str, Any]:
        if ch.is_im:
            return {
                "id": ch.id, "created": ch.created, "is_im": True, "is_org_shared": False,
                "user": ch.im_user, "is_user_deleted": False, "priority": 0,
                "is_archived": ch.is_archived,
            }
        return {
            "id": ch.id,
            "name": ch.name,
            "name_normalized": ch.name,
            "is_channel": not ch.is_private and not ch.is_mpim,
            "is_group": ch.is_private and not ch.is_mpim,
            "is_im": False,
            "is_mpim": ch.is_mpim,
            "is_private": ch.is_private,
            "created": ch.created,
            "creator": ch.creator,
            "is_archived": ch.is_archived,
            "is_general": ch.is_general,
            "unlinked": 0,
            "is_shared": False,
            "is_org_shared": False,
            "is_ext_shared": False,
            "is_pending_ext_shared": False,
            "is_member": tok is not None and tok.user_id in ch.members,
            "context_team_id": self.team.id,
            "previous_names": [],
            "num_members": len(ch.members),
            "topic": {"value": ch.topic, "creator": ch.creator if ch.topic else "",
                      "last_set": ch.created if ch.topic else 0},
            "purpose": {"value": ch.purpose, "creator": ch.creator if ch.purpose else "",
                        "last_set": ch.created if ch.purpose else 0},
        }

    def _user_obj(self, u: User, tok: _Token) -> dict[str, Any]:
        profile: dict[str, Any] = {
            "real_name": u.real_name, "real_name_normalized": u.real_name,
            "display_name": u.name, "display_name_normalized": u.name,
            "team": self.team.id, "status_text": "", "status_emoji": "",
            "image_48": f"https://example.invalid/avatars/{u.id}_48.png",
            "image_72": f"https://example.invalid/avatars/{u.id}_72.png",
        }
        if "users:read.email" in tok.scopes and not u.is_bot:  # as Slack: only with the scope
            profile["email"] = u.email
        if u.bot_id:
            profile["bot_id"] = u.bot_id
            profile["api_app_id"] = APP_ID
        return {
            "id": u.id, "team_id": self.team.id, "name": u.name, "deleted": u.deleted,
            "color": "9f69e7", "real_name": u.real_name, "tz": u.tz,
            "tz_label": u.tz_label or u.tz, "tz_offset": u.tz_offset, "profile": profile,
            "is_admin": u.is_admin, "is_owner": False, "is_primary_owner": False,
            "is_restricted": False, "is_ultra_restricted": False, "is_bot": u.is_bot,
            "is_app_user": False, "updated": 1700000000,
        }

    def _message_text_args(
        self, args: dict[str, Any], *, required: bool = True
    ) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
        text = _str(args, "text")
        blocks = _json_arg(args, "blocks", "invalid_blocks_format") or []
        attachments = _json_arg(args, "attachments", "invalid_attachments") or []
        if not isinstance(blocks, list) or not all(
            isinstance(b, dict) and isinstance(b.get("type"), str) for b in blocks
        ):
            raise SlackError("invalid_blocks", response_metadata={"messages": [
                "[ERROR] must provide an array of blocks with a type [json-pointer:/blocks]"]})
        if len(blocks) > _MAX_BLOCKS:
            raise SlackError("invalid_blocks", response_metadata={"messages": [
                f"[ERROR] no more than {_MAX_BLOCKS} items allowed [json-pointer:/blocks]"]})
        if errors := _element_errors(blocks, "/blocks"):
            raise SlackError("invalid_blocks", errors=errors, response_metadata={
                "messages": [f"[ERROR] {e}" for e in errors]})
        if not isinstance(attachments, list):
            raise SlackError("invalid_attachments")
        if required and not text and not blocks and not attachments:
            raise SlackError("no_text")
        if len(text) > _MAX_TEXT:
            raise SlackError("msg_too_long")
        return text, blocks, attachments

    # ------------------------------------------------------------------ HTTP plumbing

    async def _parse_args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.method != "POST" or not request.can_read_body:
            return args
        ctype = request.content_type
        if ctype == "application/json":
            raw = await request.text()
            if raw.strip():
                try:
                    body = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise SlackError("invalid_json") from exc
                if not isinstance(body, dict):
                    raise SlackError("json_not_object")
                args.update(body)
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for k, v in form.items():
                args[k] = v if isinstance(v, str) else getattr(v, "filename", "")
        elif ctype in ("", "application/octet-stream", "text/plain"):
            raw = await request.text()
            if raw:
                args.update(dict(parse_qsl(raw, keep_blank_values=True)))
        else:
            raise SlackError("invalid_post_type")
        return args

    def _respond(self, status: int, body: dict[str, Any], tok: _Token | None,
                 headers: dict[str, str] | None = None) -> web.Response:
        hdrs = dict(headers or {})
        if tok is not None:
            hdrs["X-OAuth-Scopes"] = ",".join(sorted(tok.scopes))
        return web.json_response(body, status=status, headers=hdrs)

    async def _delay(self, method: str) -> None:
        delay = self.method_latency.get(method, self.latency)
        if delay > 0:
            await asyncio.sleep(delay)

    async def _handle_api(self, request: web.Request) -> web.Response:
        arrived = time.perf_counter()
        method = request.match_info["method"]
        await self._delay(method)
        token: str | None = None
        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip() or None
        try:
            args = await self._parse_args(request)
        except SlackError as err:
            body = {"ok": False, "error": err.error}
            with self._lock:
                self._calls.append(
                    Call(method, {}, token, 200, body, arrived, time.perf_counter())
                )
            return self._respond(200, body, None)
        if token is None and args.get("token"):
            token = str(args["token"])
        recorded_args = {k: v for k, v in args.items() if k not in ("token", "client_secret")}
        if method in OIDC_METHODS:  # client credentials or a user's token, not a bot's
            with self._lock:
                body = self.oidc.handle(method, args, auth)
                self._calls.append(Call(method, copy.deepcopy(recorded_args), None, 200,
                                        copy.deepcopy(body), arrived, time.perf_counter()))
            return self._respond(200, body, None)
        with self._lock:
            status, body, headers, tok = self._dispatch(method, args, token)
            self._calls.append(Call(method, copy.deepcopy(recorded_args), token, status,
                                    copy.deepcopy(body), arrived, time.perf_counter()))
        return self._respond(status, body, tok, headers)

    def _dispatch(
        self, method: str, args: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str], _Token | None]:
        handler = self._handlers.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method", "req_method": method}, {}, None
        if method == "api.test":
            return 200, handler(args, _Token("", set(), False)), {}, None
        if token is None:
            return 200, {"ok": False, "error": "not_authed"}, {}, None
        tok = self._tokens.get(token)
        if tok is None:
            error = "token_revoked" if token in self._revoked_tokens else "invalid_auth"
            return 200, {"ok": False, "error": error}, {}, None
        if tok.app_level != (method == "apps.connections.open"):
            return 200, {"ok": False, "error": "not_allowed_token_type"}, {}, None
        for fault in self._faults:
            if fault.method in (method, "*") and (fault.remaining is None or fault.remaining > 0):
                if fault.remaining is not None:
                    fault.remaining -= 1
                headers = {"Retry-After": str(fault.retry_after)} if fault.status == 429 else {}
                return fault.status, {"ok": False, "error": fault.error}, headers, tok
        self._faults = [f for f in self._faults if f.remaining is None or f.remaining > 0]
        if self._limiter is not None:
            ref = str(args.get("channel") or "")
            found = self._channel_ref(ref) if ref else None
            wait = self._limiter.admit(method, token, found.id if found else ref or None)
            if wait > 0:
                headers = {"Retry-After": str(max(1, math.ceil(wait)))}
                return 429, {"ok": False, "error": "ratelimited"}, headers, tok
        needed = self._needed_scope(method, args)
        if needed and needed not in tok.scopes:
            body = {"ok": False, "error": "missing_scope", "needed": needed,
                    "provided": ",".join(sorted(tok.scopes))}
            return 200, body, {"X-Accepted-OAuth-Scopes": needed}, tok
        try:
            result = handler(args, tok)
        except SlackError as err:
            body = {"ok": False, "error": err.error, **err.extra}
            return 200, body, {}, tok
        return 200, {"ok": True, **result}, {}, tok

    def _needed_scope(self, method: str, args: dict[str, Any]) -> str | None:
        """Slack asks for groups:* scopes when the channel acted on is private."""
        if method not in PRIVATE_CHANNEL_SCOPES:
            return METHOD_SCOPES.get(method)
        if method == "conversations.create":
            private = _bool(args, "is_private")
        else:
            ch = self._channel_ref(_str(args, "channel"))
            private = ch is not None and ch.is_private and not (ch.is_im or ch.is_mpim)
        return PRIVATE_CHANNEL_SCOPES[method] if private else METHOD_SCOPES.get(method)

    async def _handle_upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        if request.content_type == "multipart/form-data":
            form = await request.post()
            part = form.get("file") or form.get("filename")
            if part is None:
                data = b""
            elif isinstance(part, str):
                data = part.encode()
            elif isinstance(part, (bytes, bytearray)):
                data = bytes(part)
            else:
                data = part.file.read()
        else:
            data = await request.read()
        with self._lock:
            f = self._files.get(file_id)
            if f is None or f.completed:
                return web.Response(status=404, text="file_not_found")
            if len(data) != f.length:  # the byte count promised to files.getUploadURLExternal
                return web.Response(
                    status=400, text=f"length mismatch: expected {f.length}, got {len(data)}"
                )
            f.content = bytes(data)
            f.uploaded = True
        return web.Response(status=200, text=f"OK - {len(data)}", content_type="text/plain")

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        arrived = time.perf_counter()
        await self._delay("response_url")
        rid = request.match_info["rid"]
        try:
            if request.content_type == "application/json":
                payload = json.loads(await request.text())
            else:
                form = await request.post()
                raw = form.get("payload")
                payload = json.loads(raw) if isinstance(raw, str) else dict(form)
        except json.JSONDecodeError:
            return web.Response(status=400, text="invalid_payload")
        if not isinstance(payload, dict):
            return web.Response(status=400, text="invalid_payload")
        if _element_errors(payload.get("blocks") or [], "/blocks"):
            return web.Response(status=400, text="invalid_blocks")  # as Slack's webhooks answer
        with self._lock:
            ru = self._response_urls.get(rid)
            if ru is None:
                return web.Response(status=404, text="no_active_hooks")
            rtype = str(payload.get("response_type") or "ephemeral")
            replace = _bool(payload, "replace_original")
            delete = _bool(payload, "delete_original")
            post = ResponseUrlPost(rid, f"{self.base_url}/response/{rid}", ru.channel_id,
                                   ru.user_id, copy.deepcopy(payload), rtype, replace, delete,
                                   arrived, time.perf_counter())
            self._responses.append(post)
            ch = self._channel_ref(ru.channel_id)
            original = self._find_message(ch.id, ru.message_ts) if ch and ru.message_ts else None
            if delete and original is not None and ch is not None:
                self._messages[ch.id].remove(original)
            elif replace and original is not None:
                original.text = str(payload.get("text", ""))
                original.blocks = list(payload.get("blocks") or [])
                original.edited = True
            elif rtype == "in_channel" and ch is not None:
                blocks = payload.get("blocks") or []
                self._store_message(
                    ch, text=str(payload.get("text", "")), user=BOT_USER_ID,
                    blocks=list(blocks) if isinstance(blocks, list) else [], bot_id=BOT_ID,
                    thread_ts=payload.get("thread_ts"),
                )
        return web.json_response({"ok": True})

    # ------------------------------------------------------------------ methods: auth

    def _api_test(self, args: dict[str, Any], tok: _Token) -> dict[str, Any]:
        if args.get("error"):
            raise SlackError(str(args["error"]), args={k: v for k, v in args.items()})
        return {"args": dict(args)} if args else {}

    def _apps_connections_open(self, args: dict[str, Any], tok: _Token) -> dict[str, Any]:
        if "connections:write" not in tok.scopes:
            raise SlackError("missing_scope", needed="connections:write")
        return {"url": self.socket_mode.open_url()}

    def _auth_test(self, args: dict[str, Any], tok: _Token) -> dict[str, Any]:
        u = self._users.get(tok.user_id)
        out: dict[str, Any] = {
            "url": f"https://{self.team.domain}.slack.com/",
            "team": self.team.name,
            "user": u.name if u else tok.user_id,
            "team_id": self.team.id,
            "user_id": tok.user_id,
            "is_enterprise_install": False,
        }
        if tok.bot:
            out["bot_id"] = BOT_ID
        return out

    # ------------------------------------------------------------------ conversations.*

    def _conversations_create(self, args: dict[str, Any], tok: _Token) -> dict[str, Any]:
        name = _str(args, "name")
        if not name:
            raise SlackError("invalid_name_required")
        if len(name) > 80:
            raise SlackError("invalid_name_maxlength")
        if all(c in "-_" for c in name):
            raise SlackError("invalid_name_punctuation")
        if not _CHANNEL_NAME_OK.match(name):
            raise SlackError("invalid_name_specials")
        if any(c.name == name for c in self._channels.values() if not c.is_im):
            raise SlackError("name_taken")
        cid = self._next_id("C")
        ch = Channel(id=cid, name=name, is_private=_bool(args, "is_private"),
                     members={tok.user_id}, created=int(self._clock()), creator=tok.user_id)
        self._channels[cid] = ch
        self._messages[cid] = []
        return {"channel": self._channel_obj(ch, tok)}

    def _conversations_invite(self, args: dict[str, Any], tok: _Token) -> dict[str, Any]:
        _required(args, "channel")
        users = _user_list(args.get("users"))
        ch = self._visible_channel(_str(args, "channel"), tok)
        if not users:
            raise SlackError("no_user")
        if ch.is_im or ch.is_mpim:
            raise SlackError("method_not_supported_for_channel_type")
        if ch.is_archived:
            raise SlackError("is_archived")
        if tok.user_id not in ch.members:
            raise SlackError("not_in_channel")
        if len(users) > 1000:
            raise SlackError("too_many_users")
        errors: list[dict[str, Any]] = []
        for uid in users:
            u = self._users.get(uid)
            if uid == tok.user_id:
                err = "cant_invite_self"
            elif u is None or u.deleted:
                err = "user_not_found"
            elif uid in ch.members:
                err = "already_in_channel"
            else:
                continue
            errors.append({"user": uid, "ok": False, "error": err})
        if errors:
            raise SlackError(errors[0]["error"], errors=errors)
        ch.members.update(users)
        return {"channel": self._channel_obj(ch, tok)}

    def _conversations_join(self, args: dict[str, Any], tok: _Token) -> dict[str, Any]:
        _required(args, "channel")
        ch = self._channel_ref(_str(args, "channel"))
        if ch is None or (ch.is_private and tok.user_id not in ch.members):
            raise SlackError("channel_not_found")
        if ch.is_im or ch.is_mpim or ch.is_private:
            raise SlackError("method_not_supported_for_channel_type")
        if ch.is_archived:
            raise SlackError("is_archived")
        out: dict[str, Any] = {}
        if tok.user_id in ch.members:
            out["warning"] = "already_in_channel"
            out["response_metadata"] = {"warnings": ["already_in_channel"]}
        ch.members.add(tok.user_id)
        out["channel"] = self._channel_obj(ch, tok)
        return out

    def _conversations_info(self, args: dict[str, Any], tok: _Token) -> dict[str, Any]:
        _required(args, "channel")
        ch = self._visible_channel(_str(args, "channel"), tok)
        obj = self._channel_obj(ch, tok)
        if not _bool(args, "include_num_members", True):
            obj.pop("num_members", None)
        return {"channel": obj}

    def _conversations_list(self, args: dict[str, Any], tok: _Token) -> dict[str, Any]:
        types = set(_user_list(args.get("types") or "public_channel"))
        bad = types - {"public_channel", "private_channel", "mpim", "im"}
        if bad:
            raise SlackError("invalid_types")
        exclude_archived = _bool(args, "exclude_archived")
        chans: list[dict[str, Any]] = []
        for ch in self._channels.values():
            if exclude_archived and ch.is_archived:
                continue
            if ch.is_im:
                kind = "im"
            elif ch.is_mpim:
                kind = "mpim"
            elif ch.is_private:
                kind = "private_channel"
            else:
                kind = "public_channel"
            if kind not in types:
                continue
            if kind != "public_channel" and tok.user_id not in ch.members:
                continue
            chans.append(self._channel_obj(ch, tok))
        page, nxt = _paginate(chans, args, 100)
        return {"channels": page, "response_metadata": {"next_cursor": nxt}}

    def _users_conversations(self, args: dict[str, Any], tok: _Token) -> dict[str, Any]:
        """The channels `user` is in that the caller may see: public ones, and private ones
        only where the caller shares membership (Slack's rule)."""
        types = set(_user_list(args.get("types") or "public_channel"))
        if types - {"public_channel", "private_channel", "mpim", "im"}:
            raise SlackError("invalid_types")
        if "private_channel" in types and "groups:read" not in tok.scopes:
            raise SlackError("missing_scope", needed="groups:read",
                             provided=",".join(sorted(tok.scopes)))
        user = _str(args, "user") or tok.user_id
        if user not in self._users:
            raise SlackError("user_not_found")
        exclude_archived = _bool(args, "exclude_archived")
        chans: list[dict[str, Any]] = []
        for ch in self._channels.values():
            if ch.is_im or ch.is_mpim or user not in ch.members:
                continue
            if exclude_archived and ch.is_archived:
                continue
            kind = "private_channel" if ch.is_private else "public_channel"
            if kind not in types or (ch.is_private and tok.user_id not in ch.members):
                continue
            chans.append(self._channel_obj(ch, tok))
        page, nxt = _paginate(chans, args, 100)
        return {"channels": page, "response_metadata": {"next_cursor": nxt}}

    def _conversations_members(self, args: dict[str, Any], tok: _Token) -> dict[str, Any]:
        _required(args, "channel")
        ch = self._visible_channel(_str(args, "channel"), tok)
        page, nxt = _paginate(sorted(ch.members), args, 100)
        return {"members": page, "response_metadata": {"next_cursor": nxt}}

    def _set_channel_text(self, args: dict[str, Any], tok: _Token, key: str) -> dict[str, Any]:
        _required(args, "channel")
        if key not in args:
            _required(args, key)
        ch = self._visible_channel(_str(args, "channel"), tok)
        if ch.is_archived:
            raise SlackError("is_archived")
        if tok.user_id not in ch.members:
            raise SlackError("not_in_channel")
        value = _str(args, key)
        if len(value) > 250:
            raise SlackError("too_long")
        setattr(ch, key, value)
        obj = self._channel_obj(ch, tok)
        obj[key]["creator"] = tok.user_id
        obj[key]["last_set"] = int(self._clock())
        return {"channel": obj}

    def _conversations_rename(self, args: dict[str, Any], tok: _Token) -> dict[str, Any]:
        _required(args, "channel", "name")
        ch = self._visible_channel(_str(args, "channel"), tok)
        name = _str(args, "name")
        if ch.is_im or ch.is_mpim:
            raise SlackError("method_not_supported_for_channel_type")
        if ch.is_archived:
            raise SlackError("is_archived")
        if tok.user_id not in ch.members:
            raise SlackError("not_in_channel")
        if len(name) > 80:
            raise SlackError("invalid_name_maxlength")
        if all(c in "-_" for c in name):
            raise SlackError("invalid_name_punctuation")
        if not _CHANNEL_NAME_OK.match(name):
            raise SlackError("invalid_name_specials")
        if any(c.name == name and c.id != ch.id for c in self._channels.values() if not c.is_im):
            raise SlackError("name_taken")
        ch.name = name
        return {"channel": self._channel_obj(ch, tok)}

    def _conversations_set_topic(self, args: dict[str, Any], tok: _Token) -> dict[str, Any]:
        return self._set_channel_text(args, tok, "topic")

    def _conversations_set_purpose(self, args: dict[str, Any], tok: _Token) -> dict[str, Any]:
        return self._set_channel_text(args, tok, "purpose")

    def _open_im(self, tok: _Token, uid: str) -> tuple[Channel, bool]:
        for ch in self._channels.values():
            if ch.is_im and ch.im_user == uid and tok.user_id in ch.members:
                return ch, True
        cid = self._next_id("D")
        ch = Channel(id=cid, name=cid, is_private=True, members={tok.user_id, uid},
                     created=int(self._clock()), creator=tok.user_id, is_im=True, im_user=uid)
        self._channels[cid] = ch
        self._messages[cid] = []
        return ch, False

    def _conversations_open(self, args: dict[str, Any], tok: _Token) -> dict[str, Any]:
        if args.get("channel"):
            ch = self._visible_channel(_str(args, "channel"), tok)
            if not (ch.is_im or ch.is_mpim):
                raise SlackError("method_not_supported_for_channel_type")
            return {"channel": self._channel_obj(ch, tok) if _bool(args, "return_im")
                    else {"id": ch.id}, "no_op": True, "already_open": True}
        users = _user_list(args.get("users"))
        if not users:
            raise SlackError("users_list_not_supplied")
        if len(users) > 8:
            raise SlackError("too_many_users")
        for uid in users:
            u = self._users.get(uid)
            if u is None:
                raise SlackError("user_not_found")
            if u.deleted:
                raise SlackError("user_disabled")
        others = [u for u in dict.fromkeys(users) if u != tok.user_id]
        if len(others) <= 1:
            ch, existed = self._open_im(tok, others[0] if others else tok.user_id)
        else:
            members = {tok.user_id, *others}
            existing = [c for c in self._channels.values() if c.is_mpim and c.members == members]
            existed = bool(existing)
            if existing:
                ch = existing[0]
            else:
                names = [self._users[u].name for u in sorted(members)]
                cid = self._next_id("G")
                ch = Channel(id=cid, name="mpdm-" + "--".join(names) + "-1", is_private=True,
                             members=members, created=int(self._clock()), creator=tok.user_id,
                             is_mpim=True)
                self._channels[cid] = ch
                self._messages[cid] = []
        out: dict[str, Any] = {
            "channel": self._channel_obj(ch, tok) if _bool(args, "return_im") else {"id": ch.id}
        }
        if existed:
            out["no_op"] = True
            out["already_open"] = True
        return out

    def _readable_channel(self, args: dict[str, Any], tok: _Token) -> Channel:
        _required(args, "channel")
        ch = self._visible_channel(_str(args, "channel"), tok)
        if tok.bot and tok.user_id not in ch.members:
            raise SlackError("not_in_channel")
        return ch

    def _history_page(
        self, msgs: list[Message], args: dict[str, Any], newest_first: bool
    ) -> dict[str, Any]:
        oldest = float(_str(args, "oldest") or 0)
        latest = float(_str(args, "latest") or "inf")
        inclusive = _bool(args, "inclusive")

        def in_range(m: Message) -> bool:
            t = float(m.ts)
            if inclusive:
                return oldest <= t <= latest
            return oldest < t < latest

        selected = [m for m in msgs if in_range(m)]
        if newest_first:
            selected.reverse()
        page, nxt = _paginate(selected, args, 100)
        return {
            "messages": [m.to_api(self.team.id) for m in page],
            "has_more": bool(nxt),
            "pin_count": sum(1 for m in msgs if m.pinned),
            "response_metadata": {"next_cursor": nxt},
        }

    def _conversations_history(self, args: dict[str, Any], tok: _Token) -> dict[str, Any]:
        ch = self._readable_channel(args, tok)
        msgs = [m for m in self._messages.get(ch.id, [])
                if m.thread_ts in (None, m.ts) or m.reply_broadcast]
        out = self._history_page(msgs, args, newest_first=True)
        for api_msg in out["messages"]:
            replies = [r for r in self._messages.get(ch.id, [])
                       if r.thread_ts == api_msg["ts"] and r.ts != api_msg["ts"]]
            if replies:
                api_msg["thread_ts"] = api_msg["ts"]
                api_msg["reply_count"] = len(replies)
                api_msg["reply_users"] = sorted({r.user for r in replies})
                api_msg["latest_reply"] = replies[-1].ts
        return out

    def _conversations_replies(self, args: dict[str, Any], tok: _Token) -> dict[str, Any]:
        ch = self._readable_channel(args, tok)
        _required(args, "ts")
        ts = _str(args, "ts")
        parent = self._find_message(ch.id, ts)
        if parent is None:
            raise SlackError("thread_not_found")
        root = parent.thread_ts or parent.ts
        msgs = [m for m in self._messages.get(ch.id, []) if m.ts == root or m.thread_ts == root]
        return self._history_page(msgs, args, newest_first=False)

    def _conversations_archive(self, args: dict[str, Any], tok: _Token) -> dict[str, Any]:
        _required(args, "channel")
        ch = self._visible_channel(_str(args, "channel"), tok)
        if ch.is_im or ch.is_mpim:
            raise SlackError("method_not_supported_for_channel_type")
        if ch.is_archived:
            raise SlackError("already_archived")
        if ch.is_general:
            raise SlackError("cant_archive_general")
        if tok.user_id not in ch.members:
            raise SlackError("not_in_channel")
        ch.is_archived = True
        return {}

    # ------------------------------------------------------------------ chat.*

    def _postable_channel(self, ref: str, tok: _Token) -> Channel:
        if not ref:
            raise SlackError("channel_not_found")
        if ref.lstrip("@") in self._users and not ref.startswith(("C", "G", "D")):
            ch, _ = self._open_im(tok, ref.lstrip("@"))
            return ch
        ch = self._visible_channel(ref, tok)
        if ch.is_archived:
            raise SlackError("is_archived")
        if tok.user_id not in ch.members:
            raise SlackError("not_in_channel")
        return ch

    def _chat_post_message(self, args: dict[str, Any], tok: _Token) -> dict[str, Any]:
        ch = self._postable_channel(_str(args, "channel"), tok)
        text, blocks, attachments = self._message_text_args(args)
        thread_ts = _str(args, "thread_ts") or None
        if thread_ts is not None:
            parent = self._find_message(ch.id, thread_ts)
            if parent is not None and parent.thread_ts and parent.thread_ts != parent.ts:
                thread_ts = parent.thread_ts  # replies to a reply go to the root
        metadata = _json_arg(args, "metadata")
        msg = self._store_message(
            ch, text=text, user=tok.user_id, blocks=blocks, attachments=attachments,
            thread_ts=thread_ts, bot_id=BOT_ID if tok.bot else None,
            metadata=metadata if isinstance(metadata, dict) else None,
            reply_broadcast=_bool(args, "reply_broadcast") and thread_ts is not None,
        )
        return {"channel": ch.id, "ts": msg.ts, "message": msg.to_api(self.team.id)}

    def _chat_post_ephemeral(self, args: dict[str, Any], tok: _Token) -> dict[str, Any]:
        _required(args, "channel", "user")
        ch = self._postable_channel(_str(args, "channel"), tok)
        uid = _str(args, "user")
        if uid not in self._users:
            raise SlackError("user_not_found")
        if uid not in ch.members:
            raise SlackError("user_not_in_channel")
        text, blocks, attachments = self._message_text_args(args)
        ts = self._next_ts()
        self._ephemerals.append({
            "channel": ch.id, "user": uid, "ts": ts, "text": text, "blocks": blocks,
            "attachments": attachments, "thread_ts": _str(args, "thread_ts") or None,
        })
        return {"message_ts": ts}

    def _editable_message(self, args: dict[str, Any], tok: _Token, verb: str) -> Message:
        _required(args, "channel", "ts")
        ch = self._visible_channel(_str(args, "channel"), tok)
        msg = self._find_message(ch.id, _str(args, "ts"))
        if msg is None:
            raise SlackError("message_not_found")
        if msg.user != tok.user_id:
            raise SlackError(f"cant_{verb}_message")
        return msg

    def _chat_update(self, args: dict[str, Any], tok: _Token) -> dict[str, Any]:
        msg = self._editable_message(args, tok, "update")
        text, blocks, attachments = self._message_text_args(args, required=False)
        if not text and not blocks and not attachments and "text" not in args:
            raise SlackError("no_text")
        msg.text = text
        if "blocks" in args:
            msg.blocks = blocks
        if "attachments" in args:
            msg.attachments = attachments
        msg.edited = True
        api = msg.to_api(self.team.id)
        return {"channel": msg.channel, "ts": msg.ts, "text": msg.text, "message": api}

    def _chat_delete(self, args: dict[str, Any], tok: _Token) -> dict[str, Any]:
        msg = self._editable_message(args, tok, "delete")
        self._messages[msg.channel].remove(msg)
        return {"channel": msg.channel, "ts": msg.ts}

    def _chat_get_permalink(self, args: dict[str, Any], tok: _Token) -> dict[str, Any]:
        _required(args, "channel", "message_ts")
        ch = self._visible_channel(_str(args, "channel"), tok)
        msg = self._find_message(ch.id, _str(args, "message_ts"))
        if msg is None:
            raise SlackError("message_not_found")
        link = f"https://{self.team.domain}.slack.com/archives/{ch.id}/p{msg.ts.replace('.', '')}"
        if msg.thread_ts and msg.thread_ts != msg.ts:
            link += f"?thread_ts={msg.thread_ts}&cid={ch.id}"
        return {"channel": ch.id, "permalink": link}

    # ------------------------------------------------------------------ users / groups

    def _users_info(self, args: dict[str, Any], tok: _Token) -> dict[str, Any]:
        u = self._users.get(_str(args, "user"))
        if u is None:
            raise SlackError("user_not_found")
        return {"user": self._user_obj(u, tok)}

    def _users_list(self, args: dict[str, Any], tok: _Token) -> dict[str, Any]:
        members = [self._user_obj(u, tok) for u in self._users.values()]
        page, nxt = _paginate(members, args, 200)
        return {"members": page, "cache_ts": int(self._clock()),
                "response_metadata": {"next_cursor": nxt}}

    def _usergroups_users_list(self, args: dict[str, Any], tok: _Token) -> dict[str, Any]:
        _required(args, "usergroup")
        grp = self._usergroups.get(_str(args, "usergroup"))
        if grp is None:
            raise SlackError("no_such_subteam")
        users = list(grp.users)
        if not _bool(args, "include_disabled"):
            users = [u for u in users if u in self._users and not self._users[u].deleted]
        return {"users": users}

    # ------------------------------------------------------------------ views.*

    def _parse_view(self, args: dict[str, Any], allowed: set[str]) -> dict[str, Any]:
        _required(args, "view")
        view = _json_arg(args, "view", "invalid_arguments")
        if not isinstance(view, dict) or view.get("type") not in allowed:
            raise SlackError("invalid_arguments", response_metadata={
                "messages": ["[ERROR] must be a valid enum value [json-pointer:/view/type]"]})
        blocks = view.get("blocks", [])
        if not isinstance(blocks, list) or len(blocks) > 100:
            raise SlackError("invalid_arguments", response_metadata={
                "messages": ["[ERROR] invalid blocks [json-pointer:/view/blocks]"]})
        if errors := _element_errors(blocks, "/view/blocks"):
            raise SlackError("invalid_arguments", response_metadata={
                "messages": [f"[ERROR] {e}" for e in errors]})
        if view["type"] == "modal" and not isinstance(view.get("title"), dict):
            raise SlackError("invalid_arguments", response_metadata={
                "messages": ["[ERROR] missing required field: title [json-pointer:/view]"]})
        return view

    def _new_hash(self) -> str:
        return f"{int(self._clock())}.{uuid.uuid4().hex[:8]}"

    def _views_open(self, args: dict[str, Any], tok: _Token) -> dict[str, Any]:
        _required(args, "trigger_id")
        trig = _str(args, "trigger_id")
        view = self._parse_view(args, {"modal"})
        if trig in self._used_triggers:
            raise SlackError("exchanged_trigger_id")
        if trig not in self._triggers and not trig.startswith("trig-"):
            raise SlackError("expired_trigger_id")
        if trig in self._triggers:
            self._triggers.discard(trig)
            self._used_triggers.add(trig)
        v = View(self._next_id("V"), "modal", view, trigger_id=trig, hash=self._new_hash(),
                 external_id=str(view.get("external_id", "")))
        self._views[v.id] = v
        return {"view": v.to_api(self.team.id)}

    def _views_update(self, args: dict[str, Any], tok: _Token) -> dict[str, Any]:
        view_id, ext = _str(args, "view_id"), _str(args, "external_id")
        if not view_id and not ext:
            raise SlackError("invalid_arguments", response_metadata={
                "messages": ["[ERROR] either view_id or external_id is required"]})
        view = self._parse_view(args, {"modal", "home"})
        target = self._views.get(view_id) if view_id else next(
            (v for v in self._views.values() if v.external_id == ext), None)
        if target is None:
            raise SlackError("not_found")
        h = _str(args, "hash")
        if h and h != target.hash:
            raise SlackError("hash_conflict")
        target.view = view
        target.hash = self._new_hash()
        target.updates += 1
        return {"view": target.to_api(self.team.id)}

    def _views_publish(self, args: dict[str, Any], tok: _Token) -> dict[str, Any]:
        _required(args, "user_id")
        uid = _str(args, "user_id")
        view = self._parse_view(args, {"home"})
        if uid not in self._users:
            raise SlackError("user_not_found")
        existing = self._home_views.get(uid)
        h = _str(args, "hash")
        if existing is not None and h and h != existing.hash:
            raise SlackError("hash_conflict")
        v = View(existing.id if existing else self._next_id("V"), "home", view, user_id=uid,
                 hash=self._new_hash(), published=True,
                 updates=existing.updates + 1 if existing else 0)
        self._home_views[uid] = v
        return {"view": v.to_api(self.team.id)}

    # ------------------------------------------------------------------ pins / reactions

    def _target_message(self, args: dict[str, Any], tok: _Token) -> Message:
        ch = self._visible_channel(_str(args, "channel"), tok) if args.get("channel") else None
        if ch is None:
            raise SlackError("channel_not_found" if args.get("timestamp") else "no_item_specified")
        if not args.get("timestamp"):
            raise SlackError("no_item_specified")
        msg = self._find_message(ch.id, _str(args, "timestamp"))
        if msg is None:
            raise SlackError("message_not_found")
        return msg

    def _pins_add(self, args: dict[str, Any], tok: _Token) -> dict[str, Any]:
        msg = self._target_message(args, tok)
        if tok.user_id not in self._channels[msg.channel].members:
            raise SlackError("not_in_channel")
        if msg.pinned:
            raise SlackError("already_pinned")
        msg.pinned = True
        return {}

    def _reactions_add(self, args: dict[str, Any], tok: _Token) -> dict[str, Any]:
        name = _str(args, "name").strip(":")
        if not name:
            raise SlackError("invalid_name")
        msg = self._target_message(args, tok)
        if not _EMOJI_NAME_OK.match(name):
            raise SlackError("invalid_name")
        users = msg.reactions.setdefault(name, [])
        if tok.user_id in users:
            raise SlackError("already_reacted")
        users.append(tok.user_id)
        return {}

    # ------------------------------------------------------------------ files (upload v2)

    def _files_get_upload_url_external(self, args: dict[str, Any], tok: _Token) -> dict[str, Any]:
        _required(args, "filename", "length")
        length = _int(args, "length", 0)
        if length < 0:
            raise SlackError("invalid_arguments")
        fid = self._next_id("F")
        self._files[fid] = UploadedFile(
            id=fid, name=_str(args, "filename"), length=length, alt_txt=_str(args, "alt_txt"),
            user=tok.user_id, created=int(self._clock()),
        )
        return {"upload_url": f"{self.base_url}/upload/v1/{fid}", "file_id": fid}

    def _files_complete_upload_external(
        self, args: dict[str, Any], tok: _Token
    ) -> dict[str, Any]:
        _required(args, "files")
        files = _json_arg(args, "files")
        if not isinstance(files, list) or not files or not all(
            isinstance(f, dict) and f.get("id") for f in files
        ):
            raise SlackError("invalid_arguments", response_metadata={
                "messages": ["[ERROR] files must be a non-empty array of {id, title}"]})
        targets: list[UploadedFile] = []
        for spec in files:
            f = self._files.get(str(spec["id"]))
            if f is None or f.completed or not f.uploaded:
                raise SlackError("file_not_found")
            targets.append(f)
        channel_ids = _user_list(args.get("channels")) or (
            [_str(args, "channel_id")] if args.get("channel_id") else [])
        chans = [self._postable_channel(c, tok) for c in channel_ids]
        comment = _str(args, "initial_comment")
        thread_ts = _str(args, "thread_ts") or None
        out_files: list[dict[str, Any]] = []
        for spec, f in zip(files, targets, strict=True):
            f.title = str(spec.get("title") or f.name)
            f.completed = True
            f.channel = chans[0].id if chans else None
            f.initial_comment = comment
            ext = f.name.rsplit(".", 1)[-1].lower() if "." in f.name else "text"
            out_files.append({
                "id": f.id, "created": f.created, "timestamp": f.created, "name": f.name,
                "title": f.title, "mimetype": _MIMETYPES.get(ext, "application/octet-stream"),
                "filetype": ext, "user": f.user,
                "size": len(f.content), "channels": [c.id for c in chans],
                "permalink": f"https://{self.team.domain}.slack.com/files/{f.user}/{f.id}",
                "url_private": f"{self.base_url}/files/{f.id}",
            })
        for ch in chans:
            self._store_message(
                ch, text=comment, user=tok.user_id, blocks=[], subtype="file_share",
                bot_id=BOT_ID if tok.bot else None, files=copy.deepcopy(out_files),
                thread_ts=thread_ts,
            )
        return {"files": out_files}


_MIMETYPES = {
    "txt": "text/plain", "md": "text/plain", "text": "text/plain", "png": "image/png",
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "pdf": "application/pdf",
}


def _iter_lines(emu: SlackEmulator) -> Iterator[str]:
    yield f"Slack emulator listening: api_url={emu.api_url}"
    yield f"bot token: {emu.bot_token}"
    for ch in emu.channels():
        yield f"  #{ch.name} {ch.id} members={sorted(ch.members)}"


def main() -> None:  # pragma: no cover - manual use
    import argparse

    parser = argparse.ArgumentParser(description="Serve a local emulated Slack workspace.")
    parser.add_argument("--port", type=int, default=0)
    ns = parser.parse_args()
    emu = SlackEmulator(port=ns.port).start()
    for line in _iter_lines(emu):
        print(line)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
