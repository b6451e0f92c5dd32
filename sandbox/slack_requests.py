"""Build signed Slack HTTP requests (as Slack would send them to ``POST /slack/events``).

Used by the test-suite and by the no-credentials demo to drive the bot exactly like Slack does::

    body = slash_command("/incident", "declare db down", user_id="U0ALICE",
                         channel_id="C0000000001", response_url=url, trigger_id="trig-1")
    headers = sign("signing-secret", body, int(time.time()))
    headers["Content-Type"] = FORM_CONTENT_TYPE
    await session.post("http://127.0.0.1:3000/slack/events", data=body, headers=headers)

Every builder returns the raw body *string*; sign exactly that string.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

__all__ = [
    "FORM_CONTENT_TYPE",
    "JSON_CONTENT_TYPE",
    "block_actions",
    "event_callback",
    "sign",
    "signed_headers",
    "slash_command",
    "url_verification",
    "view_submission",
]

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"

DEFAULT_TEAM_ID = "T0001"
DEFAULT_TEAM_DOMAIN = "incident-sandbox"
DEFAULT_API_APP_ID = "A0APP"


def sign(secret: str, body: str, timestamp: int) -> dict[str, str]:
    """Return the ``X-Slack-Signature`` / ``X-Slack-Request-Timestamp`` headers for ``body``."""
    basestring = f"v0:{timestamp}:{body}".encode()
    digest = hmac.new(secret.encode(), basestring, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": f"v0={digest}",
    }


def signed_headers(
    secret: str, body: str, *, timestamp: int | None = None, json_body: bool | None = None
) -> dict[str, str]:
    """Like :func:`sign` but also sets ``Content-Type`` (JSON if the body looks like JSON)."""
    ts = int(time.time()) if timestamp is None else timestamp
    headers = sign(secret, body, ts)
    is_json = body.lstrip().startswith("{") if json_body is None else json_body
    headers["Content-Type"] = JSON_CONTENT_TYPE if is_json else FORM_CONTENT_TYPE
    return headers


def _user_name(user_id: str) -> str:
    name = user_id[2:] if user_id.startswith("U0") else user_id
    return name.lower()


def slash_command(
    command: str,
    text: str,
    user_id: str,
    channel_id: str,
    response_url: str,
    trigger_id: str,
    team_id: str = DEFAULT_TEAM_ID,
    *,
    user_name: str | None = None,
    channel_name: str = "incidents",
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    api_app_id: str = DEFAULT_API_APP_ID,
) -> str:
    """Form-encoded slash-command body exactly as Slack posts it."""
    fields = {
        "token": "deprecated-verification-token",
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name or _user_name(user_id),
        "command": command if command.startswith("/") else f"/{command}",
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }
    return urlencode(fields)


def event_callback(
    event: dict[str, Any],
    event_id: str | None = None,
    team_id: str = DEFAULT_TEAM_ID,
    *,
    api_app_id: str = DEFAULT_API_APP_ID,
    event_time: int | None = None,
) -> str:
    """JSON Events API envelope (``type: event_callback``) around ``event``."""
    now = int(time.time()) if event_time is None else event_time
    envelope = {
        "token": "deprecated-verification-token",
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": now,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": "U0BOT",
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }
    return json.dumps(envelope)


def url_verification(challenge: str) -> str:
    """JSON body of the Events API ``url_verification`` handshake."""
    body = {"token": "deprecated-verification-token", "challenge": challenge}
    body["type"] = "url_verification"
    return json.dumps(body)


def _user_obj(user_id: str, team_id: str) -> dict[str, str]:
    name = _user_name(user_id)
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def block_actions(
    action_id: str,
    value: str,
    user_id: str,
    channel_id: str,
    message_ts: str,
    response_url: str,
    trigger_id: str,
    *,
    block_id: str = "actions",
    team_id: str = DEFAULT_TEAM_ID,
    action_type: str = "button",
    api_app_id: str = DEFAULT_API_APP_ID,
    message: dict[str, Any] | None = None,
) -> str:
    """Form body ``payload=<json>`` of a ``block_actions`` interaction on a message."""
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "type": action_type,
        "action_ts": f"{time.time():.6f}",
    }
    if action_type == "static_select":
        action["selected_option"] = {"text": {"type": "plain_text", "text": value}, "value": value}
    elif action_type == "datepicker":
        action["selected_date"] = value  # YYYY-MM-DD, as Slack sends a picked day
    else:
        action["value"] = value
        action["text"] = {"type": "plain_text", "text": value}
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user_obj(user_id, team_id),
        "api_app_id": api_app_id,
        "token": "deprecated-verification-token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id,
        "team": {"id": team_id, "domain": DEFAULT_TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": "incidents"},
        "message": message or {"type": "message", "ts": message_ts, "text": "", "user": "U0BOT"},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }
    return urlencode({"payload": json.dumps(payload)})


def view_submission(
    callback_id: str,
    state_values: dict[str, dict[str, Any]],
    user_id: str,
    private_metadata: str = "",
    *,
    view_id: str = "V0000000001",
    team_id: str = DEFAULT_TEAM_ID,
    trigger_id: str = "trig-view-submission",
    api_app_id: str = DEFAULT_API_APP_ID,
) -> str:
    """Form body ``payload=<json>`` of a modal ``view_submission``.

    ``state_values`` is Slack's ``view.state.values`` mapping:
    ``{block_id: {action_id: {"type": "plain_text_input", "value": "..."}}}``.
    """
    payload: dict[str, Any] = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": DEFAULT_TEAM_DOMAIN},
        "user": _user_obj(user_id, team_id),
        "api_app_id": api_app_id,
        "token": "deprecated-verification-token",
        "trigger_id": trigger_id,
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "title": {"type": "plain_text", "text": "Incident"},
            "blocks": [],
            "state": {"values": state_values},
            "hash": "1700000000.abcdef",
            "app_id": api_app_id,
            "bot_id": "B0BOT",
        },
        "response_urls": [],
        "is_enterprise_install": False,
    }
    return urlencode({"payload": json.dumps(payload)})
