"""The authorization matrix: every slash command (from the command registries) and every
button and modal (from what the app registers) is played by the IC, a member of the
incident's channel, an outsider and an admin, on a public and on a private incident,
through signed requests to the real bot. Each cell is scanned for the private incident's
planted secret (Web API calls and responses, response_url answers, App Home, files, the
pager and tracker stand-ins; tests/authz_world.py).

What each cell must do:
* an outsider on the private incident: only its label ("Private incident INC-… (SEV2): …"),
  counted as denied, nothing stored and nothing changed in Slack — for reads and changes
  alike. Following its updates stays open: the follower only ever gets the label and status.
* everyone else is never given that refusal; readers of what `shows` the record (timeline,
  summaries, item lists) see its secret — the outsider too on the public incident (public
  means public);
* a change still needs what it needed before (IC or admin, a role, the item's owner): the
  others are denied and nothing changes; the first one allowed gets it done.

A command or button the tables below do not know fails `test_every_entry_point_is_in_the_
matrix`, so a new one cannot skip the rule unnoticed."""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal
from unittest import mock

import pytest
from slack_bolt.async_app import AsyncApp

import commands
from bot.clock import ManualClock
from bot.errors import ConfirmationNeeded
from bot.export import export_postmortem
from bot.incidents.access import PrivateIncident, refusal
from bot.incidents.confirmations import PendingChanges
from bot.registry import CommandRegistry
from bot.statuspage.service import PublishRequest
from bot.updates.models import UpdateDraft
from bot.wiring import build_bot
from commands.context import confirmation_question
from sandbox.slack_emulator import SlackEmulator
from sandbox.standins import JiraStandin, PagerDutyStandin
from tests import test_paging as paging_tests
from tests.authz_world import (
    ADMIN,
    ALERT_TOKEN,
    IC,
    KINDS,
    MEMBER,
    ORDER,
    OUTSIDER,
    ROLES,
    ROUTING_KEY,
    SECRET,
    START,
    Cell,
    World,
    bot_settings,
    build_world,
)
from tests.conftest import Harness, make_settings, running_bot

Kind = Literal["read", "change", "open", "none"]
# read/change: about one incident, under the rule; open: about one incident, but anyone may
# (following: the label and status only); none: about no incident in particular
Who = Literal["anyone", "ic", "roles", "owner"]
WHO: dict[str, set[str]] = {
    "anyone": {IC, MEMBER, OUTSIDER, ADMIN},
    "ic": {IC, ADMIN},  # the IC or an admin
    "roles": {IC, ADMIN},  # the incident's role holders (the IC here) or an admin
    "owner": {MEMBER, IC, ADMIN},  # the item's owner, the IC or an admin
}


@dataclass(frozen=True)
class Probe:
    text: str  # {id} {item} {target} {member} {jira} {role} {started}; a button's value
    kind: Kind
    who: Who = "anyone"
    shows: bool = False  # a reader's answer carries the record's secret
    setup: frozenset[str] = frozenset()  # resolved, targets, postmortem, alert
    first: dict[str, str] = field(default_factory=dict)  # the first allowed actor's outcome
    values: dict[str, Any] = field(default_factory=dict)  # a modal's state values


def probe(text: str, kind: Kind, who: Who = "anyone", **kw: Any) -> Probe:
    if "setup" in kw:
        kw["setup"] = frozenset(kw["setup"])
    return Probe(text, kind, who, **kw)


METRICS = "not set up"  # /metrics runs in the channel it is typed in; no id: (no Prometheus)
COMMANDS: dict[str, list[Probe]] = {
    "/incident declare": [probe("declare Matrix probe by {role} sev:4", "none")],
    "/incident role": [probe("role comms {member} id:{id}", "change")],
    "/incident roles": [probe("roles id:{id}", "read")],
    "/incident severity": [probe("severity 1 id:{id}", "change")],
    "/incident status": [probe("status identified id:{id}", "change")],
    "/incident services": [probe("services ledger,vault id:{id}", "change")],
    "/incident tags": [probe("tags breach id:{id}", "change")],
    "/incident note": [probe("note checked the backups id:{id}", "change")],
    "/incident timeline": [probe("timeline id:{id}", "read", shows=True),
                           probe("timeline all id:{id}", "read", shows=True)],
    "/incident resolve": [probe("resolve contained id:{id}", "change", "ic")],
    "/incident close": [probe("close id:{id}", "change", "ic", setup={"resolved"})],
    "/incident list": [probe("list", "none", shows=True), probe("list all", "none", shows=True)],
    "/incident help": [probe("help", "none")],
    "/incident action add": [probe("action add {member} check the vault id:{id}", "change")],
    "/incident action list": [probe("action list all id:{id}", "read", shows=True),
                              probe("action list all", "none")],
    "/incident action done": [probe("action done {item}", "change", "owner")],
    "/incident action snooze": [probe("action snooze {item} for:1d", "change", "owner")],
    "/incident action due": [probe("action due {item} 5d", "change", "owner")],
    "/incident action reassign": [probe("action reassign {item} {member}", "change", "owner")],
    "/incident action track": [probe("action track {item}", "change", "owner")],
    "/incident action link": [probe("action link {item} {jira}", "change", "owner")],
    "/incident private": [probe("private id:{id}", "change", "ic", first={"private": "refused"})],
    "/incident reopen": [probe("reopen it came back id:{id}", "change", "ic", setup={"resolved"})],
    "/incident merge": [probe("merge {target} id:{id}", "change", "ic", setup={"targets"})],
    "/incident decline": [probe("decline false alarm id:{id}", "change", "ic")],
    "/incident times": [probe("times started:{started} id:{id}", "change", "ic")],
    "/incident page": [probe("page ledger the vault is open id:{id}", "change")],
    "/incident call": [probe("call id:{id}", "change")],
    "/incident me": [probe("me github octocat", "none")],
    "/incident patterns": [probe("patterns since:1y", "none")],
    "/incident postmortem": [probe("postmortem id:{id}", "change")],
    "/incident summary": [probe("summary id:{id}", "read", shows=True),
                          probe("summary exec id:{id}", "read", shows=True)],
    "/incident update": [probe("update contained for now id:{id}", "change", "roles")],
    "/incident cadence": [probe("cadence id:{id}", "read"),
                          probe("cadence 15m id:{id}", "change", "roles")],
    "/incident subscribe": [probe("subscribe id:{id}", "open")],
    "/incident statuspage": [
        probe("statuspage Ledger=degraded Some requests are slow. id:{id}", "change", "roles"),
        probe("statuspage Ledger=partial id:{id}", "read", "roles"),  # a draft to check
    ],
    "/incident maintenance": [probe("maintenance Ledger 2026-12-24T02:00Z 2h Upgrades", "none")],
    "/incident unsubscribe": [probe("unsubscribe id:{id}", "open")],
    **{
        f"/metrics {name}": [probe(f"{name}", "none")]
        for name in ("check", "health", "errors", "latency", "db", "resources", "correlate",
                     "cascade", "query", "discover", "help")
    },
}

BUTTONS: dict[str, Probe] = {
    "take_role_ops": probe("{id}", "change"),
    "take_role_comms": probe("{id}", "change"),
    "show_timeline": probe("{id}", "read", shows=True),
    "resolve_incident": probe("{id}", "change", "ic"),
    "open_update_modal": probe("{id}", "change", "roles"),
    "follow_updates": probe("{id}", "open"),
    "nudge_still_active": probe("{id}", "change"),
    "nudge_draft_postmortem": probe("{id}", "change"),
    "nudge_close_incident": probe("{id}", "change", "ic", setup={"resolved"}),
    "reopen_incident": probe("{id}", "change", "ic", setup={"resolved"}),
    "confirm_change": probe("{confirm}", "change", "ic"),
    "impact_start_record": probe("{impact}", "change", "ic"),
    "postmortem_accept_action": probe("{proposal}", "change", setup={"postmortem"}),
    "postmortem_publish_confirm": probe("{id}|confluence|", "change"),
    "action_item_done": probe("{item}", "change", "owner"),
    "action_item_snooze": probe("{item}", "change", "owner"),
    "action_item_set_due": probe("{item}", "read"),
    "declare_from_alert": probe("{alert}", "open", setup={"alert"}),
    "statuspage_publish": probe("{draft}", "change", "roles", setup={"draft"}),
    "statuspage_open_form": probe("{id}", "change", "roles"),
    "statuspage_resolve": probe("{id}", "change", "roles", setup={"published"}),
}
VIEWS: dict[str, Probe] = {
    "post_status_update": probe(
        "{id}", "change", "roles",
        values={"what_changed": {"value": {"type": "plain_text_input", "value": "contained"}}},
    ),
    "action_item_due": probe(
        "{item}", "change", "owner",
        values={"due": {"date": {"type": "datepicker", "selected_date": "2026-12-01"}}},
    ),
    "declare_incident": probe(
        "", "none",
        values={"title": {"value": {"type": "plain_text_input", "value": "Matrix form probe"}},
                "severity": {"value": {"type": "static_select",
                                       "selected_option": {"value": "4"}}}},
    ),
    "statuspage_publish_form": probe(
        "{id}", "change", "roles",
        values={"component:0": {"value": {"type": "static_select",
                                           "selected_option": {"value": "degraded_performance"}}},
                "status": {"value": {"type": "static_select",
                                     "selected_option": {"value": "identified"}}},
                "title": {"value": {"type": "plain_text_input", "value": "Ledger degraded"}},
                "message": {"value": {"type": "plain_text_input",
                                      "value": "Some requests are slow."}}},
    ),
    "statuspage_maintenance_form": probe(
        "", "none",
        values={"components": {"value": {"type": "multi_static_select",
                                         "selected_options": [{"value": "0"}]}},
                "start": {"value": {"type": "datetimepicker", "selected_date_time": 1798077600}},
                "end": {"value": {"type": "datetimepicker", "selected_date_time": 1798084800}},
                "message": {"value": {"type": "plain_text_input", "value": "Upgrades"}}},
    ),
    "declare_incident_from_alert": probe(
        "{alert_metadata}", "none", setup={"alert"},
        values={"title": {"value": {"type": "plain_text_input", "value": "From the alert"}}},
    ),
}
# events: the App Home (every user, below); a join (the joiner is a member by then); the
# workspace's own (uninstall, revoked tokens) are about no incident
EVENTS = {"app_home_opened", "member_joined_channel", "app_uninstalled", "tokens_revoked"}


def registries() -> list[CommandRegistry]:
    found: list[CommandRegistry] = []
    for module in pkgutil.iter_modules(commands.__path__):
        for value in vars(importlib.import_module(f"commands.{module.name}")).values():
            if isinstance(value, CommandRegistry) and value not in found:
                found.append(value)
    return found


def command_names() -> list[str]:
    """Every subcommand of every registry, sub-registries included (`/incident action done`)."""

    def walk(registry: CommandRegistry) -> Iterator[str]:
        for sub in registry.subcommands.values():
            if sub.children is not None:
                yield from walk(sub.children)
            else:
                yield f"{registry.command} {sub.name}"

    return sorted({name for registry in registries() for name in walk(registry)})


# --- the world ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pagerduty() -> Iterator[PagerDutyStandin]:
    s = PagerDutyStandin(routing_keys={ROUTING_KEY})
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def jira() -> Iterator[JiraStandin]:
    s = JiraStandin(users={"bob@example.com": "acc-bob"})
    s.start()
    yield s
    s.stop()


@pytest.fixture
async def bot(
    slack: SlackEmulator, redis_url: str, pagerduty: PagerDutyStandin, jira: JiraStandin
) -> AsyncIterator[Harness]:
    pagerduty.reset()
    jira.reset()
    slack.add_usergroup("incident-admins", [ADMIN], group_id="S0ADMINS")
    clock = ManualClock(START)
    async with running_bot(slack, redis_url, clock=clock, **bot_settings(pagerduty, jira)) as h:
        yield h


async def world_for(
    h: Harness, pagerduty: PagerDutyStandin, jira: JiraStandin, setup: frozenset[str]
) -> World:
    world = await build_world(h, pagerduty, jira, targets="targets" in setup)
    services = h.bot.services
    jira.issues[f"{jira.project}-900"] = {"fields": {}, "category": "new", "comments": []}
    for kind, side in world.sides.items():
        inc = side.incident
        if "resolved" in setup:
            side.incident = (await services.flows.resolve(inc, IC, "fixed")).incident
        if "postmortem" in setup:
            assert services.postmortems is not None
            pm = await services.postmortems.draft_from_record(inc.id)
            assert pm.action_items, "the draft proposes no action item to accept"
            side.extra["proposal"] = f"{inc.id}|{pm.action_items[0].id}|v{pm.version}"
        if "alert" in setup:
            fingerprint = f"matrix-{kind}"
            alert = {"status": "firing", "labels": {"alertname": f"Ledger {kind}",
                                                    "severity": "critical"},
                     "annotations": {"summary": "ledger bucket readable"},
                     "startsAt": START.isoformat(), "fingerprint": fingerprint}
            from bot.alerts import Alert

            parsed = Alert.model_validate(alert)
            await services.store.alerts.remember(fingerprint, parsed.model_dump_json())
            await services.alerts.link(parsed, inc)
            side.extra["alert"] = fingerprint
            side.extra["alert_metadata"] = json.dumps({"alert": fingerprint})
        if setup & {"draft", "published"}:
            await status_page_setup(services, side, inc, setup)
        question = ConfirmationNeeded("Resolve anyway?", confirm_label="Resolve anyway")
        question.change, question.incident_id = "resolved", inc.id
        question.arguments = {"confirmed": "metrics still bad"}
        pending = PendingChanges(services.store.confirmations)
        for role, user in ROLES.items():  # a question is asked of one person
            _, blocks = await confirmation_question(question, pending, user)
            [side.extra[f"confirm:{role}"]] = button_values(blocks)
        side.extra["impact"] = json.dumps(
            {"incident": inc.id, "at": (inc.declared_at - timedelta(minutes=20)).isoformat(),
             "service": "ledger"}
        )
    await h.drain_outbox()  # what the set-up queued for the followers goes out before the cells
    return world


async def status_page_setup(services: Any, side: Any, inc: Any, setup: frozenset[str]) -> None:
    """A drafted publish waiting for its Publish button, or a published incident."""
    page = services.statuspage
    request = PublishRequest(components={"Ledger": "degraded_performance"},
                             status="investigating", title="Ledger degraded",
                             message="Some requests are slow.", incident_id=inc.id)
    if "draft" in setup:
        side.extra["draft"] = await page.publishing.keep_draft(request)
    if "published" in setup:
        await page.publishing.publish(inc, request, IC)


def button_values(blocks: Any) -> list[str]:
    if isinstance(blocks, dict):
        own = [str(blocks["value"])] if blocks.get("type") == "button" else []
        return own + [v for child in blocks.values() for v in button_values(child)]
    if isinstance(blocks, list):
        return [v for child in blocks for v in button_values(child)]
    return []


def fill(text: str, world: World, kind: str, role: str) -> str:
    side = world.sides[kind]
    return text.format(
        id=side.incident.id,
        item=side.item,
        target=side.target.id if side.target else "",
        member=f"<@{MEMBER}>",
        jira=f"{world.jira.project}-900",
        role=role,
        started=(side.incident.declared_at - timedelta(minutes=30)).isoformat(),
        **{k: v for k, v in side.extra.items() if ":" not in k},
        **{k.split(":")[0]: v for k, v in side.extra.items() if k.endswith(f":{role}")},
    )


# --- one cell -------------------------------------------------------------------------


def check(
    world: World, cell: Cell, p: Probe, kind: str | None, role: str, answer: str, first: bool
) -> None:
    """The outcome of one cell against the module docstring's rules."""
    user = ROLES[role]
    where = f"{role} on {kind or 'no'} incident: {answer[:300]}"
    assert cell.leaks() == [], where
    outcomes = [o for _, _, o in cell.new_outcomes()]
    assert outcomes and "failed" not in outcomes, (outcomes, where)
    outcome = outcomes[-1]
    if kind is None:
        if p.shows:
            assert SECRET["public"] in answer, where
            assert (SECRET["private"] in answer) == (user in world.readers), where
        return
    side = world.sides[kind]
    refused = refusal(side.incident)
    outsider_of_private = kind == "private" and role == "outsider"
    if outsider_of_private and p.kind in ("read", "change"):
        assert refused in answer, where
        assert outcome in ("denied", "ok" if p.values else "denied"), (outcome, where)
        assert not cell.changed_redis(), where
        assert cell.changes_in_slack() == [], where
        return
    assert refused not in answer, where
    assert side.secret not in answer or not outsider_of_private, where
    if p.kind == "change" and user not in WHO[p.who]:
        assert outcome == "denied" or p.values, (outcome, where)
        assert not cell.changed_redis(), where
        return
    if p.shows:
        assert side.secret in answer, where
    if first:
        assert outcome == p.first.get(kind, "ok"), (outcome, where)


async def run_row(world: World, p: Probe, kind: str | None, play: Any) -> int:
    """The four actors in turn on one incident (or none); returns the cells played."""
    firsts = 0
    for role in ORDER:
        user = ROLES[role]
        cell = Cell.start(world, user)
        answer = await play(role, user, cell)
        await world.h.drain_outbox()  # the followers' DMs, as a worker sends them
        allowed = user in WHO[p.who] and not (kind == "private" and role == "outsider")
        check(world, cell, p, kind, role, answer, first=allowed and firsts == 0)
        firsts += allowed
    return len(ORDER)


# --- the tests ------------------------------------------------------------------------


async def test_every_entry_point_is_in_the_matrix(
    slack: SlackEmulator, redis_url: str, pagerduty: PagerDutyStandin, jira: JiraStandin
) -> None:
    seen: dict[str, set[str]] = {"action": set(), "view": set(), "event": set(), "command": set()}

    def recording(kind: str, original: Any) -> Any:
        def register(self: AsyncApp, constraints: Any, *args: Any, **kwargs: Any) -> Any:
            seen[kind].add(str(constraints))
            return original(self, constraints, *args, **kwargs)

        return register

    settings = make_settings(slack, redis_url, **bot_settings(pagerduty, jira))
    with (
        mock.patch.object(AsyncApp, "action", recording("action", AsyncApp.action)),
        mock.patch.object(AsyncApp, "view", recording("view", AsyncApp.view)),
        mock.patch.object(AsyncApp, "event", recording("event", AsyncApp.event)),
        mock.patch.object(AsyncApp, "command", recording("command", AsyncApp.command)),
    ):
        bot = build_bot(settings)
    await bot.services.store.redis.aclose()
    assert seen["action"] == set(BUTTONS), "a button is missing from the matrix (or gone)"
    assert seen["view"] == set(VIEWS), "a modal is missing from the matrix (or gone)"
    assert seen["event"] == EVENTS
    assert seen["command"] == {r.command for r in registries() if " " not in r.command}
    assert command_names() == sorted(COMMANDS), "a command is missing from the matrix (or gone)"


@pytest.mark.parametrize("name", command_names())
async def test_command(
    name: str, bot: Harness, pagerduty: PagerDutyStandin, jira: JiraStandin
) -> None:
    probes = COMMANDS.get(name)
    assert probes, f"{name} is not in the authorization matrix"
    command = name.split(" ")[0]
    world = await world_for(bot, pagerduty, jira, frozenset().union(*(p.setup for p in probes)))
    for p in probes:
        for kind in KINDS if p.kind != "none" else (None,):

            async def play(role: str, user: str, cell: Cell, p: Probe = p, kind: Any = kind) -> str:
                text = fill(p.text, world, kind or "public", role)
                reply = await bot.driver.command(
                    text, user=user, channel=bot.incidents_id, command=command
                )
                return "\n".join([reply.text, *cell.texts_to_actor()])

            await run_row(world, p, kind, play)


@pytest.mark.parametrize("action_id", sorted(BUTTONS))
async def test_button(
    action_id: str, bot: Harness, pagerduty: PagerDutyStandin, jira: JiraStandin
) -> None:
    p = BUTTONS[action_id]
    world = await world_for(bot, pagerduty, jira, p.setup)
    for kind in KINDS:

        async def play(role: str, user: str, cell: Cell, kind: str = kind) -> str:
            side = world.sides[kind]
            reply = await bot.driver.click(
                action_id, fill(p.text, world, kind, role), user=user,
                channel=bot.incidents_id, message_ts=side.incident.announcement_ts or "1.0",
            )
            return "\n".join([reply.text, *cell.texts_to_actor()])

        await run_row(world, p, kind, play)


@pytest.mark.parametrize("callback_id", sorted(VIEWS))
async def test_modal(
    callback_id: str, bot: Harness, pagerduty: PagerDutyStandin, jira: JiraStandin
) -> None:
    p = VIEWS[callback_id]
    world = await world_for(bot, pagerduty, jira, p.setup)
    for kind in KINDS if p.kind != "none" else (None,):

        async def play(role: str, user: str, cell: Cell, kind: Any = kind) -> str:
            metadata = fill(p.text, world, kind or "public", role)
            status, ack = await bot.driver.submit_view(
                callback_id, p.values, user=user, private_metadata=metadata
            )
            assert status == 200, ack
            return "\n".join([ack, *cell.texts_to_actor()])

        await run_row(world, p, kind, play)


async def test_app_home_shows_each_reader_what_they_may_read(
    bot: Harness, pagerduty: PagerDutyStandin, jira: JiraStandin
) -> None:
    """Everyone owns an item in, or follows, both incidents; only readers of the private one
    get its words in their App Home, the outsider its label."""
    world = await world_for(bot, pagerduty, jira, frozenset())
    services = bot.bot.services
    assert services.actions is not None and services.updates is not None
    for side in world.sides.values():  # the outsider and the admin follow both already
        await services.actions.add(side.incident, owner=OUTSIDER, text=f"audit {side.secret}",
                                   actor=IC, due="3d")
    label = world.sides["private"].incident.public_label
    for role in ORDER:
        user = ROLES[role]
        cell = Cell.start(world, user)
        await bot.driver.event({"type": "app_home_opened", "user": user, "tab": "home"})
        assert cell.leaks() == [], role
        assert [o for _, _, o in cell.new_outcomes()] == ["ok"], role
        home = json.dumps(bot.slack.published_views()[user].view)
        assert SECRET["public"] in home, role
        assert (SECRET["private"] in home) == (user in world.readers), role
        assert user in world.readers or label in home


async def test_a_join_is_seen_at_once_and_the_catch_up_goes_to_the_joiner_only(
    bot: Harness, pagerduty: PagerDutyStandin, jira: JiraStandin
) -> None:
    """The outsider is refused (and that answer is cached), then invited: Slack's
    member_joined_channel makes the rule ask again, so the next read shows everything."""
    world = await world_for(bot, pagerduty, jira, frozenset())
    inc = world.sides["private"].incident
    refused = await bot.driver.command(f"timeline id:{inc.id}", user=OUTSIDER,
                                       channel=bot.incidents_id)
    assert refusal(inc) in refused.text
    await bot.bot.services.chat.invite(inc.channel_id, [OUTSIDER])
    cell = Cell.start(world, OUTSIDER)
    world.readers_extra = {OUTSIDER}
    await bot.driver.event({"type": "member_joined_channel", "user": OUTSIDER,
                            "channel": inc.channel_id, "channel_type": "G",
                            "event_ts": "1700000000.000300"})
    catch_up = [c for c in cell.new_calls() if c.method == "chat.postEphemeral"]
    assert [c.args["user"] for c in catch_up] == [OUTSIDER]
    assert cell.leaks() == []
    now = await bot.driver.command(f"timeline id:{inc.id}", user=OUTSIDER,
                                   channel=bot.incidents_id)
    assert SECRET["private"] in now.text


async def test_webhooks_answer_with_ids_only(
    bot: Harness, pagerduty: PagerDutyStandin, jira: JiraStandin
) -> None:
    """Alertmanager resolving an alert a private incident was declared from, and PagerDuty
    acknowledging the private incident's page: the callers get ids, Slack nothing new."""
    world = await world_for(bot, pagerduty, jira, frozenset({"alert"}))
    for kind, side in world.sides.items():
        inc = side.incident
        cell = Cell.start(world, "")
        resolved = {"status": "resolved", "labels": {"alertname": f"Ledger {kind}"},
                    "annotations": {"summary": "ledger bucket readable"},
                    "startsAt": START.isoformat(), "endsAt": START.isoformat(),
                    "fingerprint": side.extra["alert"]}
        body = {"version": "4", "groupKey": "{}:{}", "status": "resolved",
                "receiver": "incident-bot", "alerts": [resolved]}
        status, answer = await paging_tests.post(
            bot, "/alertmanager", json.dumps(body).encode(),
            {"Content-Type": "application/json", "Authorization": f"Bearer {ALERT_TOKEN}"},
        )
        assert status == 200 and answer["noted"] == [inc.id], answer
        raw, headers = paging_tests.signed(paging_tests.pd_event(
            "incident.acknowledged", event_id=f"ev-{kind}", incident_key=f"{inc.id}:ledger"))
        status, acked = await paging_tests.post(bot, "/webhooks/pagerduty", raw, headers)
        assert status == 200 and acked["noted"] == inc.id, acked
        cell.extra_text += [json.dumps(answer), json.dumps(acked)]
        assert cell.leaks() == [], kind
        assert cell.changes_in_slack() == [], kind
        events = [e.text for _, e in await bot.store.events(inc.id)]
        assert any("Alert resolved" in t for t in events)
        assert any("acknowledged in PagerDuty" in t for t in events)


async def test_export_reads_through_the_rule(
    bot: Harness, pagerduty: PagerDutyStandin, jira: JiraStandin
) -> None:
    """`incident-bot export --as U…`: readers get the postmortem, anyone else (and nobody in
    particular) the label; the public incident exports for everyone."""
    world = await world_for(bot, pagerduty, jira, frozenset())
    settings = bot.bot.services.settings
    for kind, side in world.sides.items():
        inc = side.incident
        for role in (*ORDER, None):
            user = ROLES[role] if role else None
            text = await export_postmortem(settings, inc.id, reader=user)
            sees = kind == "public" or user in world.readers
            assert (side.secret in text) == sees, (kind, role)
            assert sees or inc.public_label in text


async def test_services_asked_directly_refuse_an_outsider_too(
    bot: Harness, pagerduty: PagerDutyStandin, jira: JiraStandin
) -> None:
    """What an entry point without the command layer (the web app, a script) would call:
    every change service applies the rule itself, and changes nothing for an outsider."""
    world = await world_for(bot, pagerduty, jira, frozenset())
    services = bot.bot.services
    assert services.actions is not None and services.paging is not None
    assert services.updates is not None
    inc = world.sides["private"].incident
    changes = {
        "page": lambda: services.paging.page(inc, ["ledger"], actor=OUTSIDER),  # type: ignore[union-attr]
        "action add": lambda: services.actions.add(  # type: ignore[union-attr]
            inc, owner=OUTSIDER, text="look", actor=OUTSIDER
        ),
        "action done": lambda: services.actions.done(  # type: ignore[union-attr]
            world.sides["private"].item, OUTSIDER
        ),
        "note": lambda: services.flows.add_note(inc, "look", OUTSIDER),
        "update": lambda: services.updates.post_update(  # type: ignore[union-attr]
            inc, UpdateDraft(text="look"), OUTSIDER
        ),
        "cadence": lambda: services.updates.set_cadence(  # type: ignore[union-attr]
            inc, timedelta(minutes=15), OUTSIDER
        ),
        "resolve": lambda: services.flows.resolve(inc, OUTSIDER),
        "readable": lambda: services.incidents.readable(inc.id, OUTSIDER),
    }
    for name, change in changes.items():
        cell = Cell.start(world, OUTSIDER)
        with pytest.raises(PrivateIncident):
            await change()
        assert not cell.changed_redis(), name
        assert cell.changes_in_slack() == [] and cell.leaks() == [], name
        assert len(pagerduty.calls) == cell.standin_calls["pagerduty"], name
    paged = await services.paging.page(inc, ["ledger"], actor=MEMBER)  # a member may
    assert paged.paged == ["ledger via PagerDuty"], paged


async def test_followers_outside_get_what_the_rule_lets_them_read(
    bot: Harness, pagerduty: PagerDutyStandin, jira: JiraStandin
) -> None:
    """The outsider and the admin follow both incidents from outside their channels: the
    worker's fan-out DMs the admin the private update's words and the outsider its label."""
    world = await world_for(bot, pagerduty, jira, frozenset())
    for kind, side in world.sides.items():
        cell = Cell.start(world, IC)
        await bot.driver.command(f"update {side.secret} contained id:{side.incident.id}",
                                 user=IC, channel=bot.incidents_id)
        drained = await bot.drain_outbox()
        assert sum(len(d.sent) for d in drained) == 2, drained
        assert cell.leaks() == [], kind
        dms = {user: "\n".join(Cell(world, user, calls=cell.calls).texts_to_actor())
               for user in (OUTSIDER, ADMIN)}
        assert side.secret in dms[ADMIN], kind
        assert (side.secret in dms[OUTSIDER]) == (kind == "public"), kind
        assert kind == "public" or side.incident.public_label in dms[OUTSIDER]
