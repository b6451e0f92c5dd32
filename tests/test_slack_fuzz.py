"""Fuzzing what Slack can send, through the real HTTP endpoint with valid signatures.

Slash-command text is whatever people type — any Unicode, quotes, Slack's escaped mentions
(`<@U…|name>`, `<#C…|name>`, `<!subteam^…>`), links, `key:value` options, very long input:
the answer is always a 200, never a stack trace or a "something went wrong", and when it is
a refusal (`:warning:` + usage) nothing changed. Bodies that are broken — bad JSON in
`payload`, fields missing or of the wrong type in commands, clicks, modals and events — are
answered 400 (or 404 for a request type Slack has not got) and change nothing.

Each property reuses one running bot for all its examples (examples stay modest: suite time)."""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

import redis as sync_redis
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from bot.slack.blocks import DECLARE_CALLBACK
from commands.incident import registry as incident_registry
from commands.metrics import registry as metrics_registry
from sandbox import slack_requests as sr
from tests.conftest import Harness

ALICE, BOB = "U0ALICE", "U0BOB"

FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure prints its example
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Web API methods that change the workspace (a refusal must call none of them)
WRITES = {
    "conversations.create", "conversations.invite", "conversations.setTopic",
    "conversations.setPurpose", "conversations.archive", "conversations.join",
    "chat.postMessage", "chat.update", "chat.delete", "pins.add", "reactions.add",
    "views.open", "views.update", "views.publish", "files.getUploadURLExternal",
    "files.completeUploadExternal",
}
CRASHED = ("Traceback", "Something went wrong", "reference `")


def state(harness: Harness) -> dict[str, Any]:
    """Everything the bot keeps, except the short-lived de-duplication marks."""
    client = sync_redis.Redis.from_url(harness.bot.services.settings.redis_url)
    out: dict[str, Any] = {}
    for raw in sorted(client.keys("*")):
        key = raw.decode()
        if ":seen:" in key:
            continue
        kind = client.type(raw).decode()
        if kind == "string":
            out[key] = client.get(raw)
        elif kind == "hash":
            out[key] = client.hgetall(raw)
        elif kind == "zset":
            out[key] = client.zrange(raw, 0, -1, withscores=True)
        elif kind == "set":
            out[key] = sorted(client.smembers(raw))
        elif kind == "list":
            out[key] = client.lrange(raw, 0, -1)
        elif kind == "stream":
            out[key] = client.xlen(raw)
    client.close()
    return out


def writes_since(harness: Harness, before: int) -> list[str]:
    return [c.method for c in harness.slack.calls()[before:] if c.method in WRITES]


def everything_said(harness: Harness, before_posts: int, before_calls: int = 0) -> str:
    """Every answer the user could see: response_url posts, ephemerals, messages and DMs."""
    posts = [p.text for p in harness.slack.response_posts()[before_posts:]]
    ephemerals = [str(e.get("text", "")) for e in harness.slack.ephemerals()]
    messages = [
        str(c.args.get("text", "")) for c in harness.slack.calls()[before_calls:]
        if c.method == "chat.postMessage"
    ]
    return "\n".join(posts + ephemerals + messages)


# --- slash-command text ----------------------------------------------------------------

MARKUP = [
    "<@U0BOB|bob>", "<@U0NOBODY|ghost>", "<@U0BOB>", "<#C0INCIDENTS|incidents>", "<#C0GONE|gone>",
    "<!subteam^S0ONCALL|@oncall>", "<!subteam^S0NONE>", "<!here>", "<!channel>",
    "<https://example.com/a?b=1&c=2|a link>", "<mailto:a@example.com|a@example.com>",
    "&lt;script&gt;", "&amp;", '"quoted words"', "'single'", "“curly”", "`code`", "```block```",
    "*bold*", "_it_", "~strike~", "sev:1", "sev:9", "sev:", "sev:sev", "due:2026-13-40",
    "due:tomorrow", "due:3d", "priority:P9", "type:nope", "id:INC-20200101-0001", "id:",
    "page:0", "page:-1", "page:99999", "for:-3d", "window:0s", "step:1ms", "services:a,,b",
    "tags:", "started:9999d", ":", "::", "a:b:c", "ic", "ops", "comms", "all", "mine",
    "overdue", "investigating", "resolved",
]
SUBCOMMANDS = sorted({*incident_registry.subcommands, "help", "", "nope", "DECLARE"})
METRICS_SUBCOMMANDS = sorted({*metrics_registry.subcommands, "help", "", "nope"})
unicode_word = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=30
)
words = st.lists(st.one_of(st.sampled_from(MARKUP), unicode_word), max_size=8)


def command_text(subcommands: list[str]) -> st.SearchStrategy[str]:
    phrase = st.builds(
        lambda sub, rest: " ".join([sub, *rest]).strip(), st.sampled_from(subcommands), words
    )
    very_long = st.builds(
        lambda sub, word, n: f"{sub} " + " ".join([word] * n),
        st.sampled_from(subcommands), st.sampled_from([*MARKUP, "x" * 50, "é" * 50]),
        st.integers(min_value=200, max_value=1200),
    )
    return st.one_of(phrase, phrase, very_long, st.text(max_size=200))


WAR_ROOMS = itertools.count(1)


async def war_room(harness: Harness) -> str:
    """An open incident's channel (declared on first use, again if the fuzz closed it)."""
    open_now = await harness.bot.services.incidents.list_open()
    if open_now:
        return open_now[0].channel_id
    # a new title each time: the fuzz may resolve or close the war room many times over, and
    # a channel name is taken for good once used
    return await harness.declare(f"Fuzzing the commands {next(WAR_ROOMS)}", user=ALICE)


@FUZZ
@given(
    command=st.sampled_from(["/incident", "/metrics"]),
    data=st.data(),
    where=st.sampled_from(["incidents", "war room"]),
    who=st.sampled_from([ALICE, BOB]),
)
async def test_any_command_text_gets_a_clear_answer_and_refusals_change_nothing(
    harness: Harness, command: str, data: st.DataObject, where: str, who: str
) -> None:
    subs = SUBCOMMANDS if command == "/incident" else METRICS_SUBCOMMANDS
    text = data.draw(command_text(subs), label="text")
    channel = harness.incidents_id if where == "incidents" else await war_room(harness)
    before, calls, posts = state(harness), len(harness.slack.calls()), len(
        harness.slack.response_posts()
    )
    reply = await harness.driver.command(text, user=who, channel=channel, command=command)
    assert reply.status == 200, (text, reply)
    shown = reply.text + "\n" + everything_said(harness, posts, calls)
    assert not any(c in shown for c in CRASHED), (text, shown[-500:])
    answered = reply.ack or reply.responses or writes_since(harness, calls)
    assert answered, f"no answer at all to {command} {text!r}"
    if reply.text.startswith(":warning:"):
        assert len(reply.text) > len(":warning: ") + 10  # names the problem
        assert state(harness) == before, text
        assert writes_since(harness, calls) == [], text


# --- malformed bodies ----------------------------------------------------------------------

WRONG_VALUES = st.one_of(
    st.none(), st.integers(), st.booleans(), st.floats(allow_nan=False), st.text(max_size=12),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=4), st.integers(),
                                                        max_size=2),
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value: dict keys and list indexes, outermost first."""
    found: list[tuple[Any, ...]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(
        value, list
    ) else []
    for key, child in items:
        found.append((*prefix, key))
        found += paths(child, (*prefix, key))
    return found


def mutate(body: dict[str, Any], path: tuple[Any, ...], new: Any, delete: bool) -> dict[str, Any]:
    out = copy.deepcopy(body)
    parent: Any = out
    for key in path[:-1]:
        parent = parent[key]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return out


def base_bodies(harness: Harness) -> dict[str, tuple[str, dict[str, Any]]]:
    """Valid requests that change nothing: (transport, body)."""
    url = harness.slack.new_response_url(harness.incidents_id)
    where = harness.incidents_id
    command = dict(parse_qsl(sr.slash_command("/incident", "list", ALICE, where, url, "t-1")))
    click = sr.block_actions(
        "show_timeline", "INC-20200101-0001", ALICE, where, "1700000000.000100", url, "t-2"
    )
    form = {"title": {"value": {"type": "plain_text_input", "value": ""}}}
    modal = sr.view_submission(DECLARE_CALLBACK, form, ALICE)
    event = sr.event_callback({
        "type": "message", "channel": where, "user": BOB, "text": "hello",
        "ts": "1700000000.000200", "event_ts": "1700000000.000200", "channel_type": "channel",
    })
    return {
        "command": ("command", command),
        "click": ("interactive", json.loads(dict(parse_qsl(click))["payload"])),
        "modal": ("interactive", json.loads(dict(parse_qsl(modal))["payload"])),
        "event": ("events", json.loads(event)),
    }


def encode(transport: str, body: dict[str, Any]) -> str:
    if transport == "command":
        return urlencode({k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()})
    if transport == "interactive":
        return urlencode({"payload": json.dumps(body)})
    return json.dumps(body)


@FUZZ
@given(
    which=st.sampled_from(["command", "click", "modal", "event"]),
    data=st.data(),
    delete=st.booleans(),
    new=WRONG_VALUES,
)
async def test_broken_bodies_are_refused_and_change_nothing(
    harness: Harness, which: str, data: st.DataObject, delete: bool, new: Any
) -> None:
    transport, body = base_bodies(harness)[which]
    path = data.draw(st.sampled_from(paths(body)), label="path")
    # a title typed into the empty declare form makes it a good request, not a broken one
    assume(not (which == "modal" and "title" in path and isinstance(new, str) and new.strip()))
    sent = encode(transport, mutate(body, path, new, delete))
    before, calls, posts = state(harness), len(harness.slack.calls()), len(
        harness.slack.response_posts()
    )
    status, text = await harness.driver._post(sent)
    await harness.driver.settle()
    assert status in (200, 400, 404), (status, path, text)
    assert "Traceback" not in text
    if status == 400:
        assert text.startswith("malformed request body:"), text
    assert not any(c in everything_said(harness, posts, calls) for c in CRASHED), (path, new)
    assert state(harness) == before, (path, new)
    assert writes_since(harness, calls) == [], (path, new)


@FUZZ
@given(payload=st.one_of(
    st.text(max_size=200),
    st.builds(json.dumps, st.one_of(st.integers(), st.lists(st.integers()), st.text())),
    st.just("{"), st.just('{"type": "block_actions"'),
))
async def test_bad_json_in_payload_is_a_400(harness: Harness, payload: str) -> None:
    before = state(harness)
    status, _ = await harness.driver._post(urlencode({"payload": payload}))
    await harness.driver.settle()
    assert status in (400, 404), (status, payload)
    assert state(harness) == before and harness.slack.calls() == []
