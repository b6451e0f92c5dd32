"""The Socket Mode stand-in keeps to Slack's published protocol, checked with a bare
WebSocket client (the bot's own client is exercised in tests/test_run_modes.py): app-level
tokens only, one-time URLs, hello first, envelopes acknowledged by id, Events API envelopes
re-sent with retry_attempt when not acknowledged, disconnect with a reason."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from sandbox import slack_requests as sr
from sandbox.slack_emulator import SlackEmulator
from sandbox.socket_mode import envelope
from tests.conftest import BOT_TOKEN

APP_TOKEN = "xapp-1-A0APP-standin-token"


async def open_connection(slack: SlackEmulator, token: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{slack.api_url}apps.connections.open",
            headers={"Authorization": f"Bearer {token}"},
        ) as r,
    ):
        return dict(await r.json())


async def test_only_an_app_level_token_opens_a_connection(slack: SlackEmulator) -> None:
    slack.add_app_token(APP_TOKEN)
    assert await open_connection(slack, BOT_TOKEN) == {
        "ok": False,
        "error": "not_allowed_token_type",
    }
    assert (await open_connection(slack, "xapp-unknown"))["error"] == "invalid_auth"
    slack.add_app_token("xapp-no-scope", scopes=())
    assert (await open_connection(slack, "xapp-no-scope"))["error"] == "missing_scope"
    opened = await open_connection(slack, APP_TOKEN)
    assert opened["ok"] is True and opened["url"].startswith(f"ws://127.0.0.1:{slack.port}/link/")
    # and an app-level token is good for nothing else
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{slack.api_url}chat.postMessage",
            headers={"Authorization": f"Bearer {APP_TOKEN}"},
            data={"channel": "incidents", "text": "hi"},
        ) as r,
    ):
        assert (await r.json())["error"] == "not_allowed_token_type"


async def test_hello_acks_retries_and_disconnect(slack: SlackEmulator) -> None:
    slack.add_app_token(APP_TOKEN)
    url = (await open_connection(slack, APP_TOKEN))["url"]
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url) as ws:
            hello = await ws.receive_json(timeout=5)
            assert hello["type"] == "hello"
            assert hello["connection_info"] == {"app_id": "A0APP"}
            assert hello["num_connections"] == 1
            socket = slack.socket_mode
            event = envelope(sr.event_callback({"type": "app_home_opened", "user": "U0BOB"}))

            async def ignore_then_ack() -> list[dict[str, Any]]:
                seen = [await ws.receive_json(timeout=5)]  # not acknowledged: sent again
                seen.append(await ws.receive_json(timeout=5))
                await ws.send_str(json.dumps({"envelope_id": seen[-1]["envelope_id"]}))
                return seen

            reader = asyncio.ensure_future(ignore_then_ack())
            delivery = await socket.deliver(event, timeout=0.5, retries=1)
            seen = await reader
            assert [f["retry_attempt"] for f in seen] == [0, 1]
            assert seen[1]["retry_reason"] == "timeout"
            assert delivery.attempts == 2 and delivery.ack == {"envelope_id": event["envelope_id"]}

            # a slash command envelope: the ack may carry the response payload
            command = envelope(sr.slash_command("/incident", "help", "U0BOB", "C1", "u", "t"))
            assert command["type"] == "slash_commands" and command["accepts_response_payload"]

            await socket.disconnect("refresh_requested")
            frame = await ws.receive_json(timeout=5)
            assert frame["type"] == "disconnect" and frame["reason"] == "refresh_requested"
        # the URL was single-use
        async with session.get(url.replace("ws://", "http://")) as r:
            assert r.status == 401
