"""The Slack Web API emulator, exercised through a real slack_sdk AsyncWebClient."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Iterator
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from sandbox import slack_requests as sr
from sandbox.slack_emulator import DEFAULT_BOT_TOKEN, DEFAULT_SCOPES, SlackEmulator


@pytest.fixture(scope="module")
def server() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emu:
        yield emu


@pytest.fixture
def emu(server: SlackEmulator) -> SlackEmulator:
    server.reset()
    return server


@pytest.fixture
def client(emu: SlackEmulator) -> AsyncWebClient:
    return AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=emu.api_url)


async def slack_error(call: Awaitable[Any]) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as info:
        await call
    data = info.value.response.data
    assert isinstance(data, dict)
    assert data["ok"] is False
    return data


# --------------------------------------------------------------------------- lifecycle


def test_urls_and_sync_use() -> None:
    emu = SlackEmulator()
    assert emu.api_url == ""
    emu.start()
    try:
        assert emu.api_url.startswith("http://127.0.0.1:")
        assert emu.api_url.endswith("/api/")
        assert emu.api_url == f"{emu.base_url}/api/"
        assert emu.port > 0
        # usable from plain sync code via the sync WebClient too
        resp = WebClient(token=DEFAULT_BOT_TOKEN, base_url=emu.api_url).auth_test()
        assert resp["user_id"] == "U0BOT"
    finally:
        emu.stop()
    emu.stop()  # idempotent


async def test_auth_test(client: AsyncWebClient, emu: SlackEmulator) -> None:
    resp = await client.auth_test()
    assert resp["ok"] is True
    assert (resp["team_id"], resp["user_id"], resp["bot_id"]) == ("T0001", "U0BOT", "B0BOT")
    assert resp["url"] == "https://incident-sandbox.slack.com/"
    call = emu.calls("auth.test")[0]
    assert call.token == DEFAULT_BOT_TOKEN
    assert call.http_status == 200
    assert call.response["user_id"] == "U0BOT"


# --------------------------------------------------------------------------- auth errors


async def test_missing_and_bad_token(emu: SlackEmulator) -> None:
    no_token = AsyncWebClient(base_url=emu.api_url)
    assert (await slack_error(no_token.auth_test()))["error"] == "not_authed"
    bad = AsyncWebClient(token="xoxb-nope", base_url=emu.api_url)
    assert (await slack_error(bad.chat_postMessage(channel="incidents", text="x")))[
        "error"
    ] == "invalid_auth"
    assert emu.messages("incidents") == []
    assert [c.response["error"] for c in emu.calls()] == ["not_authed", "invalid_auth"]


async def test_token_in_form_field(emu: SlackEmulator) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            emu.api_url + "conversations.info",
            data={"token": DEFAULT_BOT_TOKEN, "channel": "C0INCIDENTS"},
        ) as resp,
    ):
        body = await resp.json()
    assert body["ok"] is True
    assert body["channel"]["name"] == "incidents"
    assert "token" not in emu.calls()[0].args


async def test_missing_scope(emu: SlackEmulator, client: AsyncWebClient) -> None:
    emu.set_scopes(DEFAULT_SCOPES - {"chat:write"})
    data = await slack_error(client.chat_postMessage(channel="incidents", text="hi"))
    assert data["error"] == "missing_scope"
    assert data["needed"] == "chat:write"
    assert "chat:write" not in data["provided"].split(",")
    assert "channels:read" in data["provided"].split(",")
    # other methods still work
    info = await client.conversations_info(channel="C0INCIDENTS")
    assert info["channel"]["id"] == "C0INCIDENTS"


async def test_unknown_method(client: AsyncWebClient) -> None:
    data = await slack_error(client.api_call("chat.teleport", json={"channel": "x"}))
    assert data["error"] == "unknown_method"


# --------------------------------------------------------------------------- conversations


async def test_create_invite_topic_members(client: AsyncWebClient, emu: SlackEmulator) -> None:
    created = await client.conversations_create(name="inc-42-db_down")
    ch = created["channel"]
    assert ch["name"] == "inc-42-db_down"
    assert ch["id"].startswith("C")
    assert ch["is_private"] is False and ch["is_member"] is True
    assert ch["creator"] == "U0BOT"
    cid = ch["id"]

    invited = await client.conversations_invite(channel=cid, users="U0ALICE,U0BOB")
    assert invited["channel"]["num_members"] == 3
    members = await client.conversations_members(channel=cid)
    assert members["members"] == ["U0ALICE", "U0BOB", "U0BOT"]

    topic = await client.conversations_setTopic(channel=cid, topic="SEV2 | IC: <@U0ALICE>")
    assert topic["channel"]["topic"]["value"] == "SEV2 | IC: <@U0ALICE>"
    await client.conversations_setPurpose(channel=cid, purpose="Checkout 500s")
    info = await client.conversations_info(channel=cid)
    assert info["channel"]["topic"]["value"] == "SEV2 | IC: <@U0ALICE>"
    assert info["channel"]["purpose"]["value"] == "Checkout 500s"

    state = emu.channel_by_name("inc-42-db_down")
    assert state is not None and state.members == {"U0ALICE", "U0BOB", "U0BOT"}

    listed = await client.conversations_list(types="public_channel", exclude_archived=True)
    assert {c["name"] for c in listed["channels"]} == {"incidents", "inc-42-db_down"}

    await client.conversations_archive(channel=cid)
    assert emu.channel(cid) is not None and emu.channel(cid).is_archived  # type: ignore[union-attr]
    listed = await client.conversations_list(exclude_archived=True)
    assert [c["name"] for c in listed["channels"]] == ["incidents"]
    assert (await slack_error(client.conversations_archive(channel=cid)))[
        "error"
    ] == "already_archived"
    assert (await slack_error(client.chat_postMessage(channel=cid, text="x")))[
        "error"
    ] == "is_archived"


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", "invalid_name_required"),
        ("Incident", "invalid_name_specials"),
        ("inc 1", "invalid_name_specials"),
        ("inc.1", "invalid_name_specials"),
        ("---", "invalid_name_punctuation"),
        ("a" * 81, "invalid_name_maxlength"),
        ("incidents", "name_taken"),
    ],
)
async def test_create_name_rules(client: AsyncWebClient, name: str, error: str) -> None:
    data = await slack_error(client.conversations_create(name=name))
    assert data["error"] == error


async def test_create_max_length_ok_and_name_taken_after_create(client: AsyncWebClient) -> None:
    ok = await client.conversations_create(name="a" * 80)
    assert len(ok["channel"]["name"]) == 80
    assert (await slack_error(client.conversations_create(name="a" * 80)))["error"] == "name_taken"


async def test_private_channel_hidden_from_non_members(
    client: AsyncWebClient, emu: SlackEmulator
) -> None:
    secret = emu.add_channel("secret", members=["alice"], is_private=True)
    assert (await slack_error(client.conversations_info(channel=secret.id)))[
        "error"
    ] == "channel_not_found"
    mine = await client.conversations_create(name="sec-inc", is_private=True)
    assert mine["channel"]["is_private"] is True
    listed = await client.conversations_list(types="private_channel")
    assert [c["name"] for c in listed["channels"]] == ["sec-inc"]


async def test_invite_errors(client: AsyncWebClient, emu: SlackEmulator) -> None:
    cid = (await client.conversations_create(name="inc-7"))["channel"]["id"]
    await client.conversations_invite(channel=cid, users="U0ALICE")

    async def invite_error(users: str, channel: str = cid) -> str:
        data = await slack_error(client.conversations_invite(channel=channel, users=users))
        return str(data["error"])

    assert await invite_error("U0ALICE") == "already_in_channel"
    assert await invite_error("U0BOT") == "cant_invite_self"
    assert await invite_error("U0NOBODY") == "user_not_found"
    assert await invite_error("U0BOB", channel="C0MISSING") == "channel_not_found"
    outsider = emu.add_channel("elsewhere", members=["alice"])
    assert await invite_error("U0BOB", channel=outsider.id) == "not_in_channel"
    # atomic: a bad user in the list invites nobody
    assert await invite_error("U0BOB,U0NOBODY") == "user_not_found"
    assert "U0BOB" not in emu.channel(cid).members  # type: ignore[union-attr]
    data = await slack_error(client.api_call("conversations.invite", json={"users": "U0BOB"}))
    assert data["error"] == "invalid_arguments"


async def test_join(client: AsyncWebClient, emu: SlackEmulator) -> None:
    general = emu.add_channel("general", members=["alice"])
    assert (await slack_error(client.chat_postMessage(channel=general.id, text="x")))[
        "error"
    ] == "not_in_channel"
    joined = await client.conversations_join(channel=general.id)
    assert joined["channel"]["is_member"] is True
    again = await client.conversations_join(channel=general.id)
    assert again["warning"] == "already_in_channel"
    posted = await client.chat_postMessage(channel=general.id, text="now I can talk")
    assert posted["channel"] == general.id
    assert (await slack_error(client.conversations_join(channel="C0MISSING")))[
        "error"
    ] == "channel_not_found"


async def test_open_dm_and_post(client: AsyncWebClient, emu: SlackEmulator) -> None:
    opened = await client.conversations_open(users="U0ALICE")
    dm = opened["channel"]["id"]
    assert dm.startswith("D")
    again = await client.conversations_open(users="U0ALICE")
    assert again["channel"]["id"] == dm and again["already_open"] is True
    await client.chat_postMessage(channel=dm, text="you are IC")
    assert [m.text for m in emu.messages(dm)] == ["you are IC"]
    group = await client.conversations_open(users="U0ALICE,U0BOB")
    assert group["channel"]["id"] != dm
    assert emu.channel(group["channel"]["id"]).members == {  # type: ignore[union-attr]
        "U0ALICE", "U0BOB", "U0BOT"
    }
    assert (await slack_error(client.conversations_open(users="U0GHOST")))[
        "error"
    ] == "user_not_found"
    assert (await slack_error(client.api_call("conversations.open", json={})))[
        "error"
    ] == "users_list_not_supplied"


# --------------------------------------------------------------------------- chat


async def test_post_update_delete_history(client: AsyncWebClient, emu: SlackEmulator) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*SEV1* declared"}}]
    first = await client.chat_postMessage(
        channel="C0INCIDENTS", text="SEV1 declared", blocks=blocks
    )
    assert first["channel"] == "C0INCIDENTS"
    assert first["message"]["blocks"] == blocks
    assert first["message"]["bot_id"] == "B0BOT"
    second = await client.chat_postMessage(channel="#incidents", text="second")
    reply = await client.chat_postMessage(
        channel="C0INCIDENTS", text="in thread", thread_ts=first["ts"]
    )
    assert float(first["ts"]) < float(second["ts"]) < float(reply["ts"])
    assert len(first["ts"].split(".")[1]) == 6

    history = await client.conversations_history(channel="C0INCIDENTS")
    assert [m["text"] for m in history["messages"]] == ["second", "SEV1 declared"]
    assert history["messages"][1]["reply_count"] == 1
    replies = await client.conversations_replies(channel="C0INCIDENTS", ts=first["ts"])
    assert [m["text"] for m in replies["messages"]] == ["SEV1 declared", "in thread"]

    updated = await client.chat_update(channel="C0INCIDENTS", ts=first["ts"], text="resolved")
    assert updated["text"] == "resolved"
    msg = emu.message("incidents", first["ts"])
    assert msg is not None and msg.text == "resolved" and msg.edited

    await client.chat_delete(channel="C0INCIDENTS", ts=second["ts"])
    assert [m.text for m in emu.messages("incidents")] == ["resolved", "in thread"]
    assert [m.thread_ts for m in emu.messages("incidents")] == [None, first["ts"]]

    link = await client.chat_getPermalink(channel="C0INCIDENTS", message_ts=first["ts"])
    assert link["permalink"] == (
        "https://incident-sandbox.slack.com/archives/C0INCIDENTS/p" + first["ts"].replace(".", "")
    )


@pytest.mark.filterwarnings("ignore:The top-level `text`")
async def test_chat_errors(client: AsyncWebClient, emu: SlackEmulator) -> None:
    assert (await slack_error(client.chat_postMessage(channel="C0INCIDENTS")))["error"] == "no_text"
    assert (await slack_error(client.chat_postMessage(channel="C0NOPE", text="x")))[
        "error"
    ] == "channel_not_found"
    assert (await slack_error(client.chat_update(channel="C0INCIDENTS", ts="1.000001", text="x")))[
        "error"
    ] == "message_not_found"
    human_ts = emu.post_as_user("incidents", "U0ALICE", "I can fix it")
    assert (await slack_error(client.chat_delete(channel="C0INCIDENTS", ts=human_ts)))[
        "error"
    ] == "cant_delete_message"
    assert (await slack_error(client.chat_update(channel="C0INCIDENTS", ts=human_ts, text="y")))[
        "error"
    ] == "cant_update_message"
    bad_blocks = await slack_error(
        client.chat_postMessage(channel="C0INCIDENTS", text="x", blocks=[{"text": "no type"}])
    )
    assert bad_blocks["error"] == "invalid_blocks"
    assert [m.text for m in emu.messages("incidents")] == ["I can fix it"]


async def test_blocks_as_json_string_in_form(emu: SlackEmulator) -> None:
    blocks = [{"type": "divider"}]
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            emu.api_url + "chat.postMessage",
            data={"channel": "C0INCIDENTS", "blocks": json.dumps(blocks)},
            headers={"Authorization": f"Bearer {DEFAULT_BOT_TOKEN}"},
        ) as resp,
    ):
        body = await resp.json()
    assert body["ok"] is True
    assert emu.messages("incidents")[0].blocks == blocks


async def test_ephemeral(client: AsyncWebClient, emu: SlackEmulator) -> None:
    resp = await client.chat_postEphemeral(channel="C0INCIDENTS", user="U0BOB", text="only bob")
    assert resp["message_ts"]
    eph = emu.ephemerals("incidents")
    assert [(e["user"], e["text"]) for e in eph] == [("U0BOB", "only bob")]
    assert emu.messages("incidents") == []
    emu.add_user("eve", user_id="U0EVE")
    data = await slack_error(
        client.chat_postEphemeral(channel="C0INCIDENTS", user="U0EVE", text="x")
    )
    assert data["error"] == "user_not_in_channel"


async def test_pins_and_reactions(client: AsyncWebClient, emu: SlackEmulator) -> None:
    ts = (await client.chat_postMessage(channel="C0INCIDENTS", text="pin me"))["ts"]
    await client.pins_add(channel="C0INCIDENTS", timestamp=ts)
    await client.reactions_add(channel="C0INCIDENTS", timestamp=ts, name="eyes")
    msg = emu.message("C0INCIDENTS", ts)
    assert msg is not None and msg.pinned and msg.reactions == {"eyes": ["U0BOT"]}
    assert (await slack_error(client.pins_add(channel="C0INCIDENTS", timestamp=ts)))[
        "error"
    ] == "already_pinned"
    assert (
        await slack_error(client.reactions_add(channel="C0INCIDENTS", timestamp=ts, name="eyes"))
    )["error"] == "already_reacted"
    assert (await slack_error(client.pins_add(channel="C0INCIDENTS", timestamp="1.000002")))[
        "error"
    ] == "message_not_found"
    history = await client.conversations_history(channel="C0INCIDENTS")
    assert history["pin_count"] == 1
    assert history["messages"][0]["reactions"] == [{"name": "eyes", "users": ["U0BOT"], "count": 1}]


# --------------------------------------------------------------------------- users


async def test_users(client: AsyncWebClient) -> None:
    alice = (await client.users_info(user="U0ALICE"))["user"]
    assert (alice["name"], alice["tz"], alice["tz_offset"]) == ("alice", "America/New_York", -18000)
    assert alice["profile"]["real_name"] == "Alice Anders"
    tzs = {u["name"]: u["tz"] for u in (await client.users_list())["members"]}
    assert tzs["charlie"] == "Asia/Tokyo" and tzs["bob"] == "Europe/London"
    assert len(set(tzs.values())) >= 4
    page = await client.users_list(limit=2)
    assert len(page["members"]) == 2 and page["response_metadata"]["next_cursor"]
    rest = await client.users_list(limit=10, cursor=page["response_metadata"]["next_cursor"])
    assert len(rest["members"]) == len(tzs) - 2
    assert (await slack_error(client.users_info(user="U0GHOST")))["error"] == "user_not_found"
    group = await client.usergroups_users_list(usergroup="S0ONCALL")
    assert group["users"] == ["U0ALICE", "U0BOB"]
    assert (await slack_error(client.usergroups_users_list(usergroup="S0NOPE")))[
        "error"
    ] == "no_such_subteam"


# --------------------------------------------------------------------------- views


MODAL = {
    "type": "modal",
    "callback_id": "declare",
    "title": {"type": "plain_text", "text": "Declare"},
    "blocks": [{"type": "input", "block_id": "title", "label": {"type": "plain_text", "text": "T"},
                "element": {"type": "plain_text_input", "action_id": "v"}}],
}


async def test_views(client: AsyncWebClient, emu: SlackEmulator) -> None:
    trig = emu.issue_trigger_id()
    opened = await client.views_open(trigger_id=trig, view=MODAL)
    view = opened["view"]
    assert view["id"].startswith("V") and view["callback_id"] == "declare"
    assert (await slack_error(client.views_open(trigger_id=trig, view=MODAL)))[
        "error"
    ] == "exchanged_trigger_id"
    assert (await slack_error(client.views_open(trigger_id="12345.678", view=MODAL)))[
        "error"
    ] == "expired_trigger_id"
    assert (await client.views_open(trigger_id="trig-anything", view=MODAL))["ok"] is True
    assert (await slack_error(client.api_call("views.open", json={"view": MODAL})))[
        "error"
    ] == "invalid_arguments"

    new_modal = {**MODAL, "title": {"type": "plain_text", "text": "Updated"}}
    updated = await client.views_update(view_id=view["id"], view=new_modal, hash=view["hash"])
    assert updated["view"]["title"]["text"] == "Updated"
    assert (await slack_error(client.views_update(view_id=view["id"], view=MODAL, hash="stale")))[
        "error"
    ] == "hash_conflict"
    assert (await slack_error(client.views_update(view_id="V0NOPE", view=MODAL)))[
        "error"
    ] == "not_found"

    section = {"type": "section", "text": {"type": "mrkdwn", "text": "2 open"}}
    home = {"type": "home", "blocks": [section]}
    await client.views_publish(user_id="U0ALICE", view=home)
    assert emu.published_views()["U0ALICE"].view["blocks"] == home["blocks"]
    assert [v.view["title"]["text"] for v in emu.views()] == ["Updated", "Declare"]


# --------------------------------------------------------------------------- faults


async def test_ratelimit_then_retry_handler_succeeds(emu: SlackEmulator) -> None:
    emu.fail("chat.postMessage", retry_after=0, times=1)
    plain = AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=emu.api_url)
    with pytest.raises(SlackApiError) as info:
        await plain.chat_postMessage(channel="C0INCIDENTS", text="first")
    assert info.value.response.status_code == 429
    assert info.value.response.headers["Retry-After"] == "0"
    assert info.value.response.data == {"ok": False, "error": "ratelimited"}

    emu.fail("chat.postMessage", retry_after=0, times=1)
    retrying = AsyncWebClient(
        token=DEFAULT_BOT_TOKEN, base_url=emu.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
    resp = await retrying.chat_postMessage(channel="C0INCIDENTS", text="after retry")
    assert resp["ok"] is True
    assert [c.http_status for c in emu.calls("chat.postMessage")] == [429, 429, 200]
    assert [m.text for m in emu.messages("incidents")] == ["after retry"]


async def test_injected_error_and_latency(client: AsyncWebClient, emu: SlackEmulator) -> None:
    emu.fail("conversations.create", error="restricted_action", times=2)
    for _ in range(2):
        data = await slack_error(client.conversations_create(name="inc-9"))
        assert data["error"] == "restricted_action"
    assert (await client.conversations_create(name="inc-9"))["ok"] is True
    assert [c.http_status for c in emu.calls("conversations.create")] == [200, 200, 200]

    emu.latency = 0.2
    start = time.perf_counter()
    await client.auth_test()
    assert time.perf_counter() - start >= 0.2
    emu.reset(workspace=False)
    assert emu.latency == 0 and emu.calls() == []
    assert emu.channel_by_name("inc-9") is not None  # workspace kept
    emu.reset()
    assert emu.channel_by_name("inc-9") is None


# --------------------------------------------------------------------------- response_url


async def test_response_url(emu: SlackEmulator) -> None:
    url = emu.new_response_url("C0INCIDENTS", user_id="U0ALICE")
    assert url.startswith(emu.base_url + "/response/")
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"text": "only you"}) as resp:
            assert resp.status == 200
        async with session.post(
            url, json={"text": "everyone", "response_type": "in_channel"}
        ) as resp:
            assert resp.status == 200
        async with session.post(emu.base_url + "/response/nope", json={"text": "x"}) as resp:
            assert resp.status == 404
    got = emu.responses(url)
    assert [(r["text"], r["response_type"]) for r in got] == [
        ("only you", "ephemeral"), ("everyone", "in_channel")]
    assert got[0]["channel_id"] == "C0INCIDENTS" and got[0]["user_id"] == "U0ALICE"
    assert [m.text for m in emu.messages("incidents")] == ["everyone"]
    assert emu.responses(emu.new_response_url()) == []


async def test_response_url_replace_original(client: AsyncWebClient, emu: SlackEmulator) -> None:
    ts = (await client.chat_postMessage(channel="C0INCIDENTS", text="[Ack]"))["ts"]
    url = emu.new_response_url("C0INCIDENTS", message_ts=ts)
    async with aiohttp.ClientSession() as session, session.post(
        url, json={"replace_original": True, "text": "Acked by alice"}
    ) as resp:
        assert resp.status == 200
    assert [m.text for m in emu.messages("incidents")] == ["Acked by alice"]


async def test_buttons_over_block_kits_caps_are_refused_everywhere(
    client: AsyncWebClient, emu: SlackEmulator
) -> None:
    """A button value is at most 2,000 characters (docs.slack.dev, button element): one more
    and the message, view or response_url reply is refused whole, as Slack refuses it."""

    def blocks(value: str) -> list[dict[str, Any]]:
        button = {"type": "button", "text": {"type": "plain_text", "text": "Go"},
                  "action_id": "go", "value": value}
        return [{"type": "actions", "elements": [button]}]

    ok = await client.chat_postMessage(channel="C0INCIDENTS", text="x", blocks=blocks("v" * 2000))
    assert ok["ok"]
    refused = await slack_error(
        client.chat_postMessage(channel="C0INCIDENTS", text="x", blocks=blocks("v" * 2001))
    )
    assert refused["error"] == "invalid_blocks"
    assert refused["errors"] == [
        "must be less than 2001 characters [json-pointer:/blocks/0/elements/0/value]"
    ]
    update = await slack_error(
        client.chat_update(channel="C0INCIDENTS", ts=ok["ts"], text="y", blocks=blocks("v" * 2001))
    )
    assert update["error"] == "invalid_blocks"
    long_label = [{"type": "section", "text": {"type": "mrkdwn", "text": "?"}, "accessory": {
        "type": "button", "text": {"type": "plain_text", "text": "L" * 76}, "action_id": "a"}}]
    label = await slack_error(
        client.chat_postEphemeral(channel="C0INCIDENTS", user="U0BOB", text="x", blocks=long_label)
    )
    assert label["errors"] == [
        "must be less than 76 characters [json-pointer:/blocks/0/accessory/text]"
    ]
    view = {"type": "home", "blocks": blocks("v" * 2001)}
    assert (await slack_error(client.views_publish(user_id="U0BOB", view=view)))[
        "error"
    ] == "invalid_arguments"
    url = emu.new_response_url("C0INCIDENTS", user_id="U0ALICE")
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"text": "q", "blocks": blocks("v" * 2001)}) as resp:
            assert resp.status == 400 and await resp.text() == "invalid_blocks"
        async with session.post(url, json={"text": "q", "blocks": blocks("v" * 2000)}) as resp:
            assert resp.status == 200
    assert [r["text"] for r in emu.responses(url)] == ["q"]
    assert [m.text for m in emu.messages("incidents")] == ["x"]


# --------------------------------------------------------------------------- files


async def test_files_upload_v2(client: AsyncWebClient, emu: SlackEmulator) -> None:
    resp = await client.files_upload_v2(
        channel="C0INCIDENTS", content="# Postmortem\nroot cause: DNS",
        filename="postmortem.md", title="INC-1 postmortem", initial_comment="Draft attached",
    )
    assert resp["ok"] is True
    assert resp["file"]["title"] == "INC-1 postmortem"
    files = emu.uploaded_files()
    assert len(files) == 1
    f = files[0]
    assert (f.name, f.title, f.channel) == ("postmortem.md", "INC-1 postmortem", "C0INCIDENTS")
    assert f.content == b"# Postmortem\nroot cause: DNS"
    msgs = emu.messages("incidents")
    assert len(msgs) == 1
    assert msgs[0].subtype == "file_share" and msgs[0].text == "Draft attached"
    assert msgs[0].files[0]["id"] == f.id
    assert (await slack_error(client.files_completeUploadExternal(files=[{"id": "F0NOPE"}])))[
        "error"
    ] == "file_not_found"


async def test_external_upload_steps_are_strict(
    client: AsyncWebClient, emu: SlackEmulator
) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 40
    missing = await slack_error(client.api_call("files.getUploadURLExternal", params={
        "filename": "a.png"
    }))
    assert missing["error"] == "invalid_arguments"  # length is required
    url = await client.files_getUploadURLExternal(filename="chart.png", length=len(png))
    async with aiohttp.ClientSession() as http:
        # fewer bytes than promised: refused, and the file cannot be completed
        async with http.post(url["upload_url"], data=png[:10]) as short:
            assert short.status == 400 and "length mismatch" in await short.text()
        assert (await slack_error(client.files_completeUploadExternal(
            files=[{"id": url["file_id"]}], channel_id="C0INCIDENTS"
        )))["error"] == "file_not_found"
        async with http.post(url["upload_url"], data=png) as done:
            assert done.status == 200 and await done.text() == f"OK - {len(png)}"
    shared = await client.files_completeUploadExternal(
        files=[{"id": url["file_id"], "title": "Error rate"}], channel_id="C0INCIDENTS"
    )
    assert shared["files"][0]["mimetype"] == "image/png"
    assert shared["files"][0]["filetype"] == "png"
    assert emu.messages("incidents")[-1].files[0]["title"] == "Error rate"
    # a completed file is finished: neither uploaded to nor completed again
    async with aiohttp.ClientSession() as http, http.post(url["upload_url"], data=png) as again:
        assert again.status == 404
    assert (await slack_error(client.files_completeUploadExternal(
        files=[{"id": url["file_id"]}]
    )))["error"] == "file_not_found"


# --------------------------------------------------------------------------- concurrency


async def test_concurrent_posts_have_unique_increasing_ts(
    client: AsyncWebClient, emu: SlackEmulator
) -> None:
    results = await asyncio.gather(
        *(client.chat_postMessage(channel="C0INCIDENTS", text=str(i)) for i in range(20))
    )
    stamps = [r["ts"] for r in results]
    assert len(set(stamps)) == 20
    stored = [m.ts for m in emu.messages("incidents")]
    assert stored == sorted(stored, key=float) and len(stored) == 20


# --------------------------------------------------------------------------- signed requests


def test_signatures_verify() -> None:
    secret = "s3cr3t"
    now = int(time.time())
    verifier = SignatureVerifier(secret)
    body = sr.slash_command("/incident", "declare db down sev:1", "U0ALICE", "C0INCIDENTS",
                            "http://x/response/1", "trig-1")
    headers = sr.sign(secret, body, now)
    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid_request(body + "x", headers)
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    fields = {k: v[0] for k, v in parse_qs(body).items()}
    assert fields["command"] == "/incident"
    assert fields["text"] == "declare db down sev:1"
    assert fields["team_id"] == "T0001" and fields["trigger_id"] == "trig-1"

    event = sr.event_callback({"type": "app_mention", "text": "hi"}, event_id="Ev1")
    assert verifier.is_valid_request(event, sr.sign(secret, event, now))
    envelope = json.loads(event)
    assert envelope["type"] == "event_callback" and envelope["event_id"] == "Ev1"
    assert envelope["event"]["type"] == "app_mention"

    action = sr.block_actions("ack", "INC-1", "U0BOB", "C0INCIDENTS", "1700000000.000100",
                              "http://x/response/2", "trig-2")
    payload = json.loads(parse_qs(action)["payload"][0])
    assert payload["type"] == "block_actions"
    assert payload["actions"][0]["action_id"] == "ack" and payload["actions"][0]["value"] == "INC-1"
    assert payload["container"]["message_ts"] == "1700000000.000100"
    assert verifier.is_valid_request(action, sr.signed_headers(secret, action, timestamp=now))

    values = {"title": {"v": {"type": "plain_text_input", "value": "DB down"}}}
    sub = sr.view_submission("declare", values, "U0ALICE", private_metadata="C0INCIDENTS")
    view = json.loads(parse_qs(sub)["payload"][0])["view"]
    assert view["callback_id"] == "declare" and view["private_metadata"] == "C0INCIDENTS"
    assert view["state"]["values"]["title"]["v"]["value"] == "DB down"
    stale = sr.sign(secret, sub, now - 3600)
    assert not verifier.is_valid_request(sub, stale)


# --------------------------------------------------------------------------- property


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.text(alphabet="abcXYZ019-_ .#é", min_size=0, max_size=90))
def test_channel_name_rules_property(emu: SlackEmulator, name: str) -> None:
    client = WebClient(token=DEFAULT_BOT_TOKEN, base_url=emu.api_url)
    taken = emu.channel_by_name(name) is not None
    if not name:
        expected = "invalid_name_required"
    elif len(name) > 80:
        expected = "invalid_name_maxlength"
    elif set(name) <= {"-", "_"}:
        expected = "invalid_name_punctuation"
    elif not re.fullmatch(r"[a-z0-9_-]+", name):
        expected = "invalid_name_specials"
    elif taken:
        expected = "name_taken"
    else:
        expected = "ok"
    try:
        resp = client.conversations_create(name=name)
        outcome = "ok" if resp["channel"]["name"] == name else "wrong-name"
    except SlackApiError as exc:
        outcome = exc.response["error"]
    assert outcome == expected
