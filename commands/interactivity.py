"""Buttons on the incident header and the declare modal."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.errors import UsageError
from bot.incidents.models import Role, Severity
from bot.parsing import parse_list
from bot.services import Services
from bot.slack.blocks import DECLARE_CALLBACK
from bot.timeline.render import render_timeline
from commands.context import (
    clicked_incident,
    dm_what_did_not_happen,
    first_click,
    reports_errors,
    warnings_text,
)


def _value(state: dict[str, Any], block: str) -> str:
    element = state.get(block, {}).get("value", {})
    if element.get("type") == "checkboxes":
        return ",".join(str(o.get("value", "")) for o in element.get("selected_options") or [])
    if element.get("type") == "static_select":
        return str((element.get("selected_option") or {}).get("value", ""))
    return str(element.get("value") or "")


def read_declare_form(view: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The declare modal's fields as IncidentService.declare arguments, or per-field errors."""
    state = view["state"]["values"]
    title = _value(state, "title").strip()
    errors: dict[str, str] = {}
    if not title:
        errors["title"] = "An incident needs a title."
    affected: list[str] = []
    services_text = _value(state, "services").strip()
    if services_text:
        try:
            affected = parse_list(services_text.replace(" ", ""))
        except UsageError as exc:
            errors["services"] = exc.message
    if errors:
        return None, errors
    return {
        "title": title,
        "severity": Severity(int(_value(state, "severity") or "3")),
        "services": affected,
        "description": _value(state, "description"),
        "private": "private" in _value(state, "private").split(","),
    }, {}


def register(app: AsyncApp, services: Services) -> None:
    flows = services.flows

    async def tell(respond: AsyncRespond, text: str) -> None:
        if text:
            await respond(text=text, response_type="ephemeral", replace_original=False)

    async def take_role(role: Role, body: dict[str, Any], respond: AsyncRespond) -> None:
        if not await first_click(services, body):
            return
        user = body["user"]["id"]
        incident = await clicked_incident(services, body)
        if incident.roles.get(role) == user:
            await respond(
                text=f"You already are {role.display_name}.",
                response_type="ephemeral",
                replace_original=False,
            )
            return
        outcome = await flows.assign_role(incident, role, user, user)
        await tell(respond, warnings_text(outcome).strip())

    @app.action("take_role_ops")
    @reports_errors(services)
    async def take_ops(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await take_role(Role.OPS, body, respond)

    @app.action("take_role_comms")
    @reports_errors(services)
    async def take_comms(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await take_role(Role.COMMS, body, respond)

    @app.action("show_timeline")
    @reports_errors(services)
    async def show_timeline(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        incident = await clicked_incident(services, body)
        incident_id = incident.id
        entries, pages = await services.timeline.page(incident_id, everything=False)
        await respond(
            text=render_timeline(incident_id, entries, page=1, pages=pages, everything=False),
            response_type="ephemeral",
            replace_original=False,
        )

    @app.action("resolve_incident")
    @reports_errors(services)
    async def resolve(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        if not await first_click(services, body):
            return
        user = body["user"]["id"]
        incident = await clicked_incident(services, body)
        outcome = await flows.resolve(incident, user)
        await tell(respond, warnings_text(outcome).strip())

    @app.view(DECLARE_CALLBACK)
    @reports_errors(services)
    async def declare_from_modal(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        form, errors = read_declare_form(view)
        if form is None:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        outcome = await flows.declare(declared_by=body["user"]["id"], **form)
        await dm_what_did_not_happen(services, body["user"]["id"], outcome)
