"""Every kind of listener dispatched in-process through Bolt's AsyncApp.async_dispatch (no
HTTP server in between): a signed body in, the listener's effect out, on the Slack emulator
and in Redis. The same listeners are driven over HTTP by the other suites; this pins that
the app built by bot/wiring.py routes each kind of request to the right listener."""

from __future__ import annotations

import json

from slack_bolt.request.async_request import AsyncBoltRequest

from bot.incidents.models import Role, Status
from bot.slack.blocks import DECLARE_CALLBACK
from sandbox import slack_requests as sr
from tests.conftest import SIGNING_SECRET, Harness

ALICE, BOB, CHARLIE = "U0ALICE", "U0BOB", "U0CHARLIE"


async def dispatch(h: Harness, body: str) -> int:
    """One signed request straight into the Bolt app; waits for the work after the ack."""
    request = AsyncBoltRequest(body=body, headers=sr.signed_headers(SIGNING_SECRET, body))
    response = await h.bot.app.async_dispatch(request)
    await h.driver.settle()
    return response.status


async def war_room(h: Harness) -> tuple[str, str, str]:
    """An incident declared by alice: (channel id, incident id, header ts)."""
    channel = await h.declare("Checkout API returning 500s sev:2", user=ALICE)
    incident = await h.bot.services.incidents.for_channel(channel)
    assert incident is not None and incident.header_ts is not None
    return channel, incident.id, incident.header_ts


async def test_slash_commands(harness: Harness) -> None:
    h = harness
    url = h.slack.new_response_url(h.incidents_id)
    body = sr.slash_command("/incident", "help", ALICE, h.incidents_id, url, "trig-1")
    assert await dispatch(h, body) == 200
    assert "*/incident* commands:" in h.slack.responses(url)[-1]["text"]
    url = h.slack.new_response_url(h.incidents_id)
    body = sr.slash_command("/metrics", "help", ALICE, h.incidents_id, url, "trig-2")
    assert await dispatch(h, body) == 200
    assert "/metrics" in h.slack.responses(url)[-1]["text"]


async def test_header_buttons(harness: Harness) -> None:
    h = harness
    channel, incident_id, header = await war_room(h)
    for action_id, user in (("take_role_ops", BOB), ("take_role_comms", CHARLIE)):
        url = h.slack.new_response_url(channel)
        body = sr.block_actions(action_id, incident_id, user, channel, header, url, "trig")
        assert await dispatch(h, body) == 200
    incident = await h.store.get_incident(incident_id)
    assert incident.roles[Role.OPS] == BOB and incident.roles[Role.COMMS] == CHARLIE

    url = h.slack.new_response_url(channel)
    body = sr.block_actions("show_timeline", incident_id, BOB, channel, header, url, "trig")
    assert await dispatch(h, body) == 200
    assert "Comms Lead: <@U0CHARLIE>" in h.slack.responses(url)[-1]["text"]

    url = h.slack.new_response_url(channel)
    body = sr.block_actions("resolve_incident", incident_id, ALICE, channel, header, url, "t")
    assert await dispatch(h, body) == 200
    assert (await h.store.get_incident(incident_id)).status is Status.RESOLVED


async def test_declare_form(harness: Harness) -> None:
    h = harness
    values = {
        "title": {"value": {"type": "plain_text_input", "value": "Search is slow"}},
        "severity": {"value": {"type": "static_select", "selected_option": {"value": "2"}}},
        "services": {"value": {"type": "plain_text_input", "value": "search"}},
        "description": {"value": {"type": "plain_text_input", "value": ""}},
    }
    assert await dispatch(h, sr.view_submission(DECLARE_CALLBACK, values, BOB)) == 200
    [channel] = [c for c in h.slack.channels() if c.name.endswith("search-is-slow")]
    incident = await h.bot.services.incidents.for_channel(channel.id)
    assert incident is not None and incident.roles == {Role.IC: BOB}


async def test_events(harness: Harness) -> None:
    h = harness
    channel, incident_id, _ = await war_room(h)
    await h.bot.services.chat.invite(channel, [CHARLIE])  # Slack adds, then tells the bot
    joined = {"type": "member_joined_channel", "user": CHARLIE, "channel": channel}
    assert await dispatch(h, sr.event_callback(joined, event_id="Ev-join-1")) == 200
    [welcome] = [e for e in h.slack.ephemerals(channel) if e["user"] == CHARLIE]
    assert "Welcome to the war room" in welcome["text"]

    home = {"type": "app_home_opened", "user": ALICE, "channel": "D0ALICE", "tab": "home"}
    assert await dispatch(h, sr.event_callback(home, event_id="Ev-home-1")) == 200
    [published] = h.slack.calls("views.publish")
    assert incident_id in json.dumps(published.args)

    said = {
        "type": "message", "channel": channel, "user": BOB, "text": "Rolling back now",
        "ts": "1795780000.000100", "channel_type": "channel",
    }
    assert await dispatch(h, sr.event_callback(said, event_id="Ev-msg-1")) == 200
    texts = [e.event.text for e in await h.store.timeline(incident_id)]
    assert "Rolling back now" in texts
