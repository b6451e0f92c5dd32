"""The world the authorization matrix (tests/test_authorization_matrix.py) plays in, and its
leak scan.

Two incidents declared by the IC, one public and one private, each with its own planted
secret in the title, a timeline note and an action item; a member who is in both channels
without a role; an outsider in neither; an admin (ADMIN_USERGROUP) in neither. The real bot
serves signed requests against the strict Slack emulator, real Redis, and the PagerDuty and
Jira stand-ins.

`Cell` records everything one request made the bot do — Web API calls and their responses,
response_url answers, App Home views, files, stand-in requests, what Redis holds, the
outcome the bot counted — so a cell can be checked for leaks and for "changed nothing"."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.incidents.models import Incident, Severity
from bot.store import keys
from sandbox.standins import JiraStandin, PagerDutyStandin
from tests.conftest import Harness
from tests.test_lifecycle import redis_dump

IC, MEMBER, OUTSIDER, ADMIN = "U0ALICE", "U0BOB", "U0CHARLIE", "U0DIANA"
ROLES = {"outsider": OUTSIDER, "member": MEMBER, "admin": ADMIN, "ic": IC}
ORDER = ("outsider", "member", "admin", "ic")  # the IC last: its changes end a row
ADMINS = "S0ADMINS"
KINDS = ("private", "public")
SECRET = {"private": "quartz-heron-5519", "public": "amber-finch-2044"}
ROUTING_KEY = "R0UTINGKEY0000000000000000000009"
ALERT_TOKEN = "alertmanager-matrix-token"
PD_WEBHOOK_SECRET = "pd-webhook-secret"  # tests/test_paging.py signs with it
START = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
STATUS_COMPONENTS = Path(__file__).parent / "fixtures" / "statuspage" / "matrix-components.yml"
MUTATING = {
    "conversations.create",
    "conversations.invite",
    "conversations.kick",
    "conversations.archive",
    "conversations.rename",
    "conversations.setTopic",
    "chat.postMessage",
    "chat.update",
    "chat.delete",
    "chat.postEphemeral",
    "views.open",
    "views.publish",
    "files.completeUploadExternal",
}
# what a request may leave in Redis without changing anything: the double-click guard, and
# a confirm button spent by the one it was asked of (the incident stays as it was)
IGNORED_KEYS = (keys.seen_action(""), keys.pending_change(""))


def bot_settings(pagerduty: PagerDutyStandin, jira: JiraStandin) -> dict[str, object]:
    return {
        "admin_usergroup": ADMINS,
        "pagerduty_routing_key": ROUTING_KEY,
        "pagerduty_events_url": f"{pagerduty.base_url}/v2/enqueue",
        "pagerduty_webhook_secret": PD_WEBHOOK_SECRET,
        "page_min_severity": 1,
        "jira_url": jira.base_url,
        "jira_email": jira.email,
        "jira_api_token": jira.api_token,
        "jira_project": jira.project,
        "alertmanager_token": ALERT_TOKEN,
        "status_page_components": str(STATUS_COMPONENTS),
    }


@dataclass
class Side:
    """One incident of the world and what hangs on it."""

    incident: Incident
    item: str  # an action item owned by the member, with the secret in its text
    secret: str
    target: Incident | None = None  # another incident of the same kind (merge)
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    h: Harness
    sides: dict[str, Side]
    pagerduty: PagerDutyStandin
    jira: JiraStandin
    outcomes: list[tuple[str, str, str]] = field(default_factory=list)
    readers_extra: set[str] = field(default_factory=set)  # who joined the channel since

    @property
    def readers(self) -> set[str]:
        """Who may read the private incident."""
        return {IC, MEMBER, ADMIN} | self.readers_extra

    def private_channels(self) -> set[str]:
        return {
            i.channel_id
            for s in self.sides.values()
            for i in (s.incident, s.target)
            if i is not None and i.private
        }


async def declare(h: Harness, kind: str, title: str) -> Incident:
    """Declared by the IC through the flows; the member is invited (and Slack says so)."""
    outcome = await h.bot.services.flows.declare(
        title=title,
        declared_by=IC,
        severity=Severity.SEV2,
        services=["ledger"],
        private=kind == "private",
    )
    incident = outcome.incident
    await h.bot.services.chat.invite(incident.channel_id, [MEMBER])
    await h.driver.event(
        {"type": "member_joined_channel", "user": MEMBER, "channel": incident.channel_id,
         "channel_type": "G" if incident.private else "C", "event_ts": "1700000000.000200"}
    )
    return await h.store.get_incident(incident.id)


async def build_world(
    h: Harness, pagerduty: PagerDutyStandin, jira: JiraStandin, *, targets: bool = False
) -> World:
    services = h.bot.services
    assert services.actions is not None
    sides: dict[str, Side] = {}
    for kind in KINDS:
        secret = SECRET[kind]
        incident = await declare(h, kind, f"Ledger copied to {secret} bucket")
        await services.flows.add_note(incident, f"{secret} credentials rotated", IC)
        item = await services.actions.add(
            incident, owner=MEMBER, text=f"purge {secret} copies", actor=IC, due="3d"
        )
        assert services.updates is not None
        for follower in (OUTSIDER, ADMIN):  # both follow from outside: the fan-out is played too
            await services.updates.subscribe(incident, follower)
        target = await declare(h, kind, f"Ledger copies again {secret}") if targets else None
        sides[kind] = Side(incident=incident, item=item.id, secret=secret, target=target)
    world = World(h=h, sides=sides, pagerduty=pagerduty, jira=jira)
    original = services.observe

    def observe(kind: str, name: str, outcome: Any) -> None:
        world.outcomes.append((kind, name, str(outcome)))
        original(kind, name, outcome)

    services.observe = observe
    return world


def scrub(dump: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in dump.items() if not k.startswith(IGNORED_KEYS)}


@dataclass
class Cell:
    """Everything one request made the bot do (see the module docstring)."""

    world: World
    actor: str
    calls: int = 0
    posts: int = 0
    views: dict[str, str] = field(default_factory=dict)
    files: set[str] = field(default_factory=set)
    standin_calls: dict[str, int] = field(default_factory=dict)
    redis_before: dict[str, Any] = field(default_factory=dict)
    outcomes: int = 0
    extra_text: list[str] = field(default_factory=list)  # e.g. a webhook's HTTP answer

    @classmethod
    def start(cls, world: World, actor: str) -> Cell:
        slack = world.h.slack
        return cls(
            world=world,
            actor=actor,
            calls=len(slack.calls()),
            posts=len(slack.response_posts()),
            views={u: json.dumps(v.view) for u, v in slack.published_views().items()},
            files={f.id for f in slack.uploaded_files()},
            standin_calls={"pagerduty": len(world.pagerduty.calls), "jira": len(world.jira.calls)},
            redis_before=scrub(redis_dump(world.h)),
            outcomes=len(world.outcomes),
        )

    # --- what happened -----------------------------------------------------------------

    def new_calls(self) -> list[Any]:
        return self.world.h.slack.calls()[self.calls :]

    def new_outcomes(self) -> list[tuple[str, str, str]]:
        return self.world.outcomes[self.outcomes :]

    def changed_redis(self) -> bool:
        return scrub(redis_dump(self.world.h)) != self.redis_before

    def changes_in_slack(self) -> list[str]:
        """Web API calls that changed something, other than answering the actor privately."""
        found = []
        for call in self.new_calls():
            if call.method not in MUTATING or not call.response.get("ok"):
                continue
            if self._to_actor(call):
                continue
            found.append(call.method)
        return found

    def texts_to_actor(self) -> list[str]:
        """What the bot told the actor by DM or ephemeral message during the cell."""
        dms = self._dms_of({self.actor})
        return [
            str(c.args.get("text", "")) + json.dumps(c.args.get("blocks") or [])
            for c in self.new_calls()
            if (c.method == "chat.postMessage" and c.args.get("channel") in dms)
            or (c.method == "chat.postEphemeral" and c.args.get("user") == self.actor)
        ]

    def _to_actor(self, call: Any) -> bool:
        channel = str(call.args.get("channel", ""))
        if call.method == "chat.postEphemeral" and call.args.get("user") == self.actor:
            return True
        if call.method == "chat.postMessage" and channel in self._dms_of({self.actor}):
            return True
        return call.method == "views.open"  # a modal only the actor sees

    def _dms_of(self, users: set[str]) -> set[str]:
        dms = {c.id for c in self.world.h.slack.channels() if c.is_im and c.im_user in users}
        return dms | users  # chat.postMessage with a user id posts in the app's DM

    # --- the leak scan -----------------------------------------------------------------

    def leaks(self) -> list[str]:
        """Everywhere the private incident's secret went that a non-reader could see."""
        secret = SECRET["private"]
        readers = self.world.readers
        private = self.world.private_channels()
        to_readers = self._dms_of(readers)
        found: list[str] = []
        for call in self.new_calls():
            blob = json.dumps(call.args) + json.dumps(call.response)
            if secret not in blob:
                continue
            channel = str(call.args.get("channel", call.args.get("channel_id", "")))
            if channel in private or channel in to_readers:
                continue
            if call.method == "chat.postEphemeral" and call.args.get("user") in readers:
                continue
            if call.method == "views.publish" and call.args.get("user_id") in readers:
                continue
            modal = call.method in ("views.open", "views.push", "views.update")
            if modal and self.actor in readers:
                continue
            if call.method == "files.getUploadURLExternal":
                continue  # the file itself is checked where it is shared, below
            found.append(f"{call.method} {blob[:240]}")
        for post in self.world.h.slack.response_posts()[self.posts :]:
            blob = json.dumps(post.payload)
            if secret in blob and post.user_id not in readers:
                found.append(f"response_url answer to {post.user_id}: {blob[:240]}")
        for user, view in self.world.h.slack.published_views().items():
            blob = json.dumps(view.view)
            if blob != self.views.get(user) and secret in blob and user not in readers:
                found.append(f"App Home of {user}: {blob[:240]}")
        for f in self.world.h.slack.uploaded_files():
            if f.id in self.files or secret not in f.content.decode(errors="replace"):
                continue
            if f.channel not in private:
                found.append(f"file {f.name} shared in {f.channel}")
        for name, standin in (("pagerduty", self.world.pagerduty), ("jira", self.world.jira)):
            for call in standin.calls[self.standin_calls[name] :]:
                if secret in json.dumps(call.body):
                    found.append(f"{name} {call.method} {call.path}: {json.dumps(call.body)[:200]}")
        found += [f"answer: {t[:240]}" for t in self.extra_text if secret in t]
        return found
