"""The emulator's Slack-like rate limits: per method and workspace, per channel for
chat.postMessage, 429 with Retry-After, buckets refilled by the (fake) clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.slack_emulator import DEFAULT_BOT_TOKEN, RateLimit, RateLimits, SlackEmulator


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture(scope="module")
def limited(fake_time: FakeTime) -> Iterator[SlackEmulator]:
    with SlackEmulator(clock=fake_time, rate_limits=RateLimits.slack()) as emu:
        yield emu


@pytest.fixture
def emu(limited: SlackEmulator) -> SlackEmulator:
    limited.reset()
    return limited


@pytest.fixture
def client(emu: SlackEmulator) -> AsyncWebClient:
    return AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=emu.api_url)  # no retry handler


async def post(client: AsyncWebClient, channel: str) -> tuple[int, str | None]:
    try:
        resp = await client.chat_postMessage(channel=channel, text="hi")
    except SlackApiError as exc:
        return exc.response.status_code, exc.response.headers.get("Retry-After")
    return resp.status_code, None


async def test_post_message_is_limited_per_channel_with_a_short_burst(
    client: AsyncWebClient, emu: SlackEmulator, fake_time: FakeTime
) -> None:
    first = [await post(client, "C0INCIDENTS") for _ in range(4)]
    assert first == [(200, None), (200, None), (200, None), (429, "1")]
    # another channel has its own bucket: a DM (user id as channel) still goes out
    assert await post(client, "U0BOB") == (200, None)
    # the same channel by name shares the bucket of its id
    assert await post(client, "#incidents") == (429, "1")
    fake_time.now += 1.0  # one message a second
    assert await post(client, "C0INCIDENTS") == (200, None)
    assert await post(client, "C0INCIDENTS") == (429, "1")
    limited_calls = [c for c in emu.calls("chat.postMessage") if c.http_status == 429]
    assert len(limited_calls) == 3
    assert all(c.response == {"ok": False, "error": "ratelimited"} for c in limited_calls)
    assert len(emu.messages("incidents")) == 4  # refused posts stored nothing


async def test_workspace_wide_post_limit_spans_channels(
    client: AsyncWebClient, emu: SlackEmulator, fake_time: FakeTime
) -> None:
    users = [emu.add_user(f"user{i}", f"User {i}").id for i in range(61)]
    results = [await post(client, uid) for uid in users]
    assert [s for s, _ in results[:60]] == [200] * 60  # burst of the workspace bucket
    assert results[60] == (429, "1")  # 600 a minute: the next token in 0.1 s
    fake_time.now += 0.2
    assert await post(client, users[60]) == (200, None)


async def test_other_methods_have_their_tier_per_method(
    client: AsyncWebClient, emu: SlackEmulator, fake_time: FakeTime
) -> None:
    for _ in range(20):  # conversations.setTopic is tier 2: 20 a minute
        await client.conversations_setTopic(channel="C0INCIDENTS", topic="t")
    with pytest.raises(SlackApiError) as info:
        await client.conversations_setTopic(channel="C0INCIDENTS", topic="t")
    assert info.value.response.status_code == 429
    assert info.value.response.headers["Retry-After"] == "3"  # 60 s / 20
    # a different method is not affected
    assert (await client.users_info(user="U0BOB"))["ok"] is True
    fake_time.now += 3
    assert (await client.conversations_setTopic(channel="C0INCIDENTS", topic="t"))["ok"]


async def test_limits_are_off_by_default_and_reset_restores_the_initial_ones(
    emu: SlackEmulator, fake_time: FakeTime
) -> None:
    with SlackEmulator(clock=fake_time) as plain:
        assert plain.rate_limits is None
        client = AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=plain.api_url)
        assert [await post(client, "C0INCIDENTS") for _ in range(10)] == [(200, None)] * 10
        plain.rate_limits = RateLimits(per_channel={"chat.postMessage": RateLimit(60, 1)})
        assert await post(client, "C0INCIDENTS") == (200, None)
        assert await post(client, "C0INCIDENTS") == (429, "1")
        plain.reset()
        assert plain.rate_limits is None
    emu.rate_limits = None
    emu.reset()
    assert emu.rate_limits == RateLimits.slack()
