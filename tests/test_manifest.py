"""manifest.yml (and manifest.socket.yml) ask for exactly what the code uses: every slash
command, event and OAuth scope the code needs is in the manifest, and nothing else is.

Commands and events come from the listeners in commands/*.py; Web API methods from the
gateway and listeners (statically) and, as a cross-check, from what the emulator recorded
during a scripted run; method → scope comes from the emulator's own scope table."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox.slack_emulator import FIELD_SCOPES, METHOD_SCOPES, PRIVATE_CHANNEL_SCOPES
from tests.conftest import Harness

ROOT = Path(__file__).resolve().parent.parent
MANIFESTS = ["manifest.yml", "manifest.socket.yml"]
ALICE, BOB = "U0ALICE", "U0BOB"

# Bolt listener event type → the subscriptions that deliver it (the bot only reads
# messages in incident channels, which are public or private channels; never DMs)
EVENT_SUBSCRIPTIONS = {"message": {"message.channels", "message.groups"}}
# subscription → the scope Slack requires for it (None: no scope)
EVENT_SCOPES: dict[str, str | None] = {
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "reaction_added": "reactions:read",
    "pin_added": "pins:read",
    "member_joined_channel": "channels:read",
    "app_home_opened": None,
    "app_uninstalled": None,
    "tokens_revoked": None,
}
# slack_sdk helpers that are several Web API calls
SDK_HELPERS = {"files_upload_v2": {"files.getUploadURLExternal", "files.completeUploadExternal"}}
SLACK_FAMILIES = (
    "auth", "chat", "conversations", "files", "pins", "reactions", "usergroups", "users", "views"
)


def sources() -> dict[str, str]:
    files = [*ROOT.glob("commands/*.py"), *ROOT.glob("bot/**/*.py")]
    return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in files}


def listeners(kind: str) -> set[str]:
    found: set[str] = set()
    for path, text in sources().items():
        if not path.startswith("commands/"):
            continue
        dynamic = re.findall(rf"@app\.{kind}\(\s*(?!\")", text)
        assert not dynamic, f"{path}: @app.{kind} with a non-literal name; list it here"
        found |= set(re.findall(rf"@app\.{kind}\(\s*\"([^\"]+)\"", text))
    if kind == "event":  # recorded before the ack by a middleware, not by @app.event
        from commands.timeline_events import TIMELINE_EVENTS

        found |= set(TIMELINE_EVENTS)
    return found


def used_methods() -> set[str]:
    methods: set[str] = set()
    for text in sources().values():
        methods |= set(re.findall(r"_call\(\s*\"([A-Za-z.]+)\"", text))
        for name in re.findall(r"client\.([a-z][a-z0-9_]*)\(", text):
            if name in SDK_HELPERS:
                methods |= SDK_HELPERS[name]
            elif name.split("_")[0] in SLACK_FAMILIES:
                methods.add(name.replace("_", "."))
    return methods


def manifest(name: str) -> dict[str, Any]:
    data = yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_the_code_uses_what_this_test_knows() -> None:
    assert listeners("command") == {"/incident", "/metrics"}
    assert {"message", "app_home_opened"} <= listeners("event")
    unknown = used_methods() - set(METHOD_SCOPES)
    assert not unknown, f"methods the emulator has no scope for (add them there): {unknown}"


@pytest.mark.parametrize("name", MANIFESTS)
def test_slash_commands_match(name: str) -> None:
    commands = manifest(name)["features"]["slash_commands"]
    assert {c["command"] for c in commands} == listeners("command")
    for command in commands:
        assert command["should_escape"] is True, command["command"]
        assert command["description"] and command["usage_hint"]


@pytest.mark.parametrize("name", MANIFESTS)
def test_event_subscriptions_match(name: str) -> None:
    wanted: set[str] = set()
    for event in listeners("event"):
        wanted |= EVENT_SUBSCRIPTIONS.get(event, {event})
    assert set(manifest(name)["settings"]["event_subscriptions"]["bot_events"]) == wanted


@pytest.mark.parametrize("name", MANIFESTS)
def test_scopes_are_exactly_those_needed(name: str) -> None:
    events = manifest(name)["settings"]["event_subscriptions"]["bot_events"]
    needed = {"commands"}  # slash commands
    needed |= {s for m in used_methods() if (s := METHOD_SCOPES[m])}
    # private incidents: the same methods on a private channel need Slack's groups:* scopes
    needed |= {PRIVATE_CHANNEL_SCOPES[m] for m in used_methods() if m in PRIVATE_CHANNEL_SCOPES}
    needed |= {s for e in events if (s := EVENT_SCOPES[e])}
    if any('get("email")' in text for text in sources().values()):
        needed.add("users:read.email")  # the owner's email, to assign tracker issues
    known = {"commands", *METHOD_SCOPES.values(), *PRIVATE_CHANNEL_SCOPES.values()}
    assert set(FIELD_SCOPES) >= needed - known - set(EVENT_SCOPES.values())
    scopes = manifest(name)["oauth_config"]["scopes"]["bot"]
    assert len(scopes) == len(set(scopes)), "a scope is listed twice"
    assert set(scopes) == needed, (
        f"missing: {sorted(needed - set(scopes))}; unused: {sorted(set(scopes) - needed)}"
    )


def without_urls(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in ("url", "request_url")}


def test_http_and_socket_variants() -> None:
    http, socket = manifest("manifest.yml"), manifest("manifest.socket.yml")
    assert http["settings"]["socket_mode_enabled"] is False
    assert socket["settings"]["socket_mode_enabled"] is True
    assert http["settings"]["interactivity"]["is_enabled"] is True
    assert socket["settings"]["interactivity"]["is_enabled"] is True
    urls = [c["url"] for c in http["features"]["slash_commands"]]
    urls += [
        http["settings"]["event_subscriptions"]["request_url"],
        http["settings"]["interactivity"]["request_url"],
    ]
    assert all(u.endswith("/slack/events") for u in urls), urls
    assert "url" not in json.dumps(socket["features"]["slash_commands"])
    assert "request_url" not in json.dumps(socket["settings"])
    for part in ("display_information", "features", "oauth_config"):
        strip = json.loads(json.dumps(http[part]), object_hook=without_urls)
        assert strip == socket[part], part
    assert http["features"]["app_home"]["home_tab_enabled"] is True  # app_home_opened


async def test_a_scripted_run_calls_only_methods_the_scan_found(harness: Harness) -> None:
    """The static scan is the source of the scopes; a real run must not use more."""
    channel = await harness.declare("Checkout down sev:2 services:api", user=ALICE)
    incident = await harness.bot.services.incidents.for_channel(channel)
    assert incident is not None and incident.header_ts
    await harness.driver.message(user=ALICE, channel=channel, text="rolled back the deploy")
    for action in ("take_role_ops", "show_timeline"):
        await harness.driver.click(
            action, incident.id, user=BOB, channel=channel, message_ts=incident.header_ts
        )
    await harness.driver.command("declare", user=ALICE, channel=harness.incidents_id)
    await harness.driver.command("note db pool exhausted", user=ALICE, channel=channel)
    await harness.driver.command("resolve fixed by rollback", user=ALICE, channel=channel)
    await harness.driver.event({"type": "app_home_opened", "user": ALICE, "tab": "home"})
    recorded = {c.method for c in harness.slack.calls()}
    assert {"conversations.create", "chat.postMessage", "views.open"} <= recorded
    assert recorded <= used_methods(), recorded - used_methods()
    for call in harness.slack.calls():
        assert call.response.get("error") != "missing_scope", call


@pytest.mark.parametrize("name", MANIFESTS)
def test_sign_in_with_slack_is_in_the_manifest(name: str) -> None:
    """The web app's sign-in: its callback is a redirect URL, and the user scopes are
    exactly the OpenID Connect ones it asks for (no user token beyond sign-in)."""
    from bot.web.auth import CALLBACK_PATH
    from bot.web.oidc import SCOPES

    oauth = manifest(name)["oauth_config"]
    assert [u.endswith(CALLBACK_PATH) for u in oauth["redirect_urls"]] == [True]
    assert oauth["scopes"]["user"] == list(SCOPES)
