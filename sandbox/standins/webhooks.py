"""The trackers' webhook senders, as each vendor documents its deliveries:

* Jira Cloud (admin webhook): `jira:issue_updated` with the issue, its status and status
  category, and a changelog item for the status; headers X-Atlassian-Webhook-Identifier
  (unchanged across retries) and X-Atlassian-Webhook-Flow; not signed, so the URL carries
  the secret path token.
* GitHub: the `issues` event (`closed` with state_reason, `reopened`), headers
  X-GitHub-Event, X-GitHub-Delivery (a GUID), X-GitHub-Hook-ID, X-Hub-Signature-256
  (`sha256=` HMAC-SHA256 of the body) and the legacy SHA-1 X-Hub-Signature.
* Linear: an `Issue` `update` with `data` (identifier, state with its type), `updatedFrom`
  (the previous stateId), `webhookTimestamp` in ms; headers Linear-Delivery, Linear-Event,
  Linear-Signature (hex HMAC-SHA256 of the body).

`Delivery` keeps what was sent so a test can deliver it again (a retry)."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from sandbox.standins.github import GitHubStandin
from sandbox.standins.jira import JiraStandin
from sandbox.standins.linear import LinearStandin

JIRA_CATEGORIES = {
    "new": ("10000", "To Do", 2, "blue-gray"),
    "indeterminate": ("3", "In Progress", 4, "yellow"),
    "done": ("10001", "Done", 3, "green"),
}


@dataclass
class Delivery:
    url: str
    body: bytes
    headers: dict[str, str]

    async def send(self) -> tuple[int, Any]:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(self.url, content=self.body, headers=self.headers)
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, response.text


def _status(category: str) -> dict[str, Any]:
    status_id, name, cat_id, colour = JIRA_CATEGORIES[category]
    return {
        "self": f"https://acme.atlassian.example/rest/api/2/status/{status_id}",
        "description": "", "iconUrl": "", "name": name, "id": status_id,
        "statusCategory": {"self": "", "id": cat_id, "key": category, "colorName": colour,
                           "name": name},
    }


def jira_issue_updated(
    jira: JiraStandin, key: str, *, before: str, url: str, now: datetime
) -> Delivery:
    """The delivery Jira sends after `jira.set_status(key, …)` moved the issue from `before`."""
    issue = jira.issues[key]
    after = str(issue["category"])
    body = {
        "timestamp": int(now.timestamp() * 1000),
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "user": {"accountId": "557058:f00d", "displayName": "Maeve", "active": True},
        "issue": {
            "id": str(10000 + list(jira.issues).index(key) + 1),
            "self": f"{jira.base_url}/rest/api/2/issue/{key}",
            "key": key,
            "fields": {"summary": issue["fields"].get("summary", ""), "status": _status(after)},
        },
        "changelog": {"id": str(uuid.uuid4().int % 10**6), "items": [{
            "field": "status", "fieldtype": "jira", "fieldId": "status",
            "from": JIRA_CATEGORIES[before][0], "fromString": JIRA_CATEGORIES[before][1],
            "to": JIRA_CATEGORIES[after][0], "toString": JIRA_CATEGORIES[after][1],
        }]},
    }
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-Atlassian-Webhook-Identifier": str(uuid.uuid4().int % 10**12),
        "X-Atlassian-Webhook-Flow": "Primary",
    }
    return Delivery(url, json.dumps(body).encode(), headers)


def github_issues_event(
    github: GitHubStandin, number: int, *, action: str, url: str, secret: str
) -> Delivery:
    """`issues` `closed` or `reopened`, signed as GitHub signs (after close/reopen_issue)."""
    issue = github.issues[number]
    owner, name = github.repo.split("/")
    body = {
        "action": action,
        "issue": {
            "url": f"{github.base_url}/repos/{github.repo}/issues/{number}",
            "html_url": f"https://github.example/{github.repo}/issues/{number}",
            "id": 2_000_000 + number, "number": number, "title": issue["title"],
            "state": issue["state"],
            "state_reason": "completed" if action == "closed" else "reopened",
            "labels": [{"name": n} for n in issue["labels"]],
            "assignees": [{"login": a} for a in issue["assignees"]],
            "user": {"login": "incident-bot", "type": "Bot"},
        },
        "repository": {"id": 1296269, "name": name, "full_name": github.repo,
                       "owner": {"login": owner}, "private": True},
        "sender": {"login": "octocat", "id": 1, "type": "User"},
    }
    raw = json.dumps(body).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/044aadd",
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "292430182",
        "X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), raw, hashlib.sha1).hexdigest(),
        "X-Hub-Signature-256": "sha256="
        + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest(),
    }
    return Delivery(url, raw, headers)


def linear_issue_update(
    linear: LinearStandin, identifier: str, *, before: str, url: str, secret: str,
    now: datetime,
) -> Delivery:
    """An `Issue` `update` after the issue's state changed from the state type `before`."""
    issue = linear.issues[identifier]
    state_ids = {kind: sid for sid, kind in linear.states}
    state = str(issue["state"])
    body = {
        "action": "update",
        "actor": {"id": "usr-maeve", "type": "user", "name": "Maeve"},
        "createdAt": now.isoformat(),
        "data": {
            "id": issue["id"], "identifier": identifier,
            "number": int(identifier.rsplit("-", 1)[1]),
            "title": issue["input"]["title"], "priority": issue["input"].get("priority", 0),
            "stateId": state_ids[state],
            "state": {"id": state_ids[state], "name": state.capitalize(), "type": state,
                      "color": "#5e6ad2"},
            "teamId": linear.team_id,
            "team": {"id": linear.team_id, "key": linear.team_key, "name": "Engineering"},
            "url": f"https://linear.example/acme/issue/{identifier}",
        },
        "updatedFrom": {"stateId": state_ids[before], "updatedAt": now.isoformat()},
        "type": "Issue",
        "url": f"https://linear.example/acme/issue/{identifier}",
        "organizationId": "org-0001",
        "webhookTimestamp": int(now.timestamp() * 1000),
        "webhookId": "wh-0001",
    }
    raw = json.dumps(body).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Linear-Delivery": str(uuid.uuid4()),
        "Linear-Event": "Issue",
        "Linear-Signature": hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest(),
    }
    return Delivery(url, raw, headers)
