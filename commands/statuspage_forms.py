"""The status page's Slack forms: opening the publish form with the drafted wording, and
reading what the publish and maintenance forms hold."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from bot.errors import UsageError
from bot.incidents.models import Incident
from bot.slack.statuspage_blocks import NOT_AFFECTED, publish_modal
from bot.statuspage.bundle import StatusPage
from bot.statuspage.models import ComponentStatus, PublicStatus
from bot.statuspage.service import PublishRequest


async def open_publish_form(client: Any, trigger_id: str, page: StatusPage,
                            incident: Incident) -> None:
    proposal = await page.publishing.proposal(incident)
    names = [c.name for c in page.components.components]
    await client.views_open(trigger_id=trigger_id, view=publish_modal(
        incident, names, proposal.components, proposal.status, proposal.title,
        proposal.message))


def _selected(state: dict[str, Any], block: str) -> str:
    element = state.get(block, {}).get("value", {})
    if element.get("type") == "static_select":
        return str((element.get("selected_option") or {}).get("value", ""))
    return str(element.get("value") or "")


def read_publish_form(view: dict[str, Any], page: StatusPage, incident: Incident
                      ) -> tuple[PublishRequest | None, dict[str, str]]:
    state = view["state"]["values"]
    names = [c.name for c in page.components.components]
    statuses: dict[str, ComponentStatus] = {}
    for i, name in enumerate(names[:40]):
        value = _selected(state, f"component:{i}")
        if value and value != NOT_AFFECTED:
            try:
                statuses[name] = ComponentStatus(value)
            except ValueError:
                return None, {f"component:{i}": "Pick a status."}
    try:
        status = PublicStatus(_selected(state, "status") or "investigating")
    except ValueError:
        return None, {"status": "Pick a status."}
    title, message = _selected(state, "title").strip(), _selected(state, "message").strip()
    if not title:
        return None, {"title": "Give a public title."}
    if not message:
        return None, {"message": "Say what customers should know."}
    try:
        return PublishRequest(components=statuses, status=status, title=title,
                              message=message, incident_id=incident.id), {}
    except ValidationError:
        return None, {"message": "A title is at most 255 characters, a message at most 2,000."}


def read_maintenance_form(view: dict[str, Any], page: StatusPage
                          ) -> tuple[list[str], datetime, datetime, str]:
    state = view["state"]["values"]
    names = [c.name for c in page.components.components]
    picked = state.get("components", {}).get("value", {}).get("selected_options") or []
    chosen = [names[int(o["value"])] for o in picked
              if str(o.get("value", "")).isdigit() and int(o["value"]) < len(names)]
    times = []
    for block in ("start", "end"):
        seconds = state.get(block, {}).get("value", {}).get("selected_date_time")
        if not isinstance(seconds, int):
            raise UsageError("Pick when the maintenance starts and ends.")
        times.append(datetime.fromtimestamp(seconds, UTC))
    return chosen, times[0], times[1], _selected(state, "message").strip()
