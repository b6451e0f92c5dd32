"""Jira Cloud REST API v3 stand-in: create issue, get issue (status category), user search by
email, comments, transitions into Done. Basic auth with email and API token."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import Field

from sandbox.standins.base import Handler, Standin, Strict

KNOWN_FIELDS = {
    "project", "issuetype", "summary", "description", "labels", "priority", "duedate",
    "assignee",
}
TRANSITIONS = [
    {"id": "11", "name": "To Do", "to": {"name": "To Do", "statusCategory": {"key": "new"}}},
    {"id": "21", "name": "In Progress",
     "to": {"name": "In Progress", "statusCategory": {"key": "indeterminate"}}},
    {"id": "31", "name": "Done", "to": {"name": "Done", "statusCategory": {"key": "done"}}},
]


class _Doc(Strict):
    type: str = Field(pattern="^doc$")
    version: int
    content: list[dict[str, Any]]


class _Comment(Strict):
    body: _Doc


class _TransitionId(Strict):
    id: str


class _Transition(Strict):
    transition: _TransitionId


@dataclass
class JiraStandin(Standin):
    name: str = "jira"
    email: str = "bot@example.com"
    api_token: str = "jira-test-token"
    project: str = "OPS"
    issue_types: tuple[str, ...] = ("Task", "Bug")
    users: dict[str, str] = field(default_factory=dict)  # email -> accountId
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)

    def reset_state(self) -> None:
        self.issues.clear()

    def authorized(self, request: web.Request) -> bool:
        token = base64.b64encode(f"{self.email}:{self.api_token}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {token}"

    def routes(self) -> list[tuple[str, str, Handler]]:
        base = "/rest/api/3"
        return [
            ("POST", f"{base}/issue", self._create),
            ("GET", f"{base}/issue/{{key}}", self._get),
            ("GET", f"{base}/user/search", self._users),
            ("POST", f"{base}/issue/{{key}}/comment", self._comment),
            ("GET", f"{base}/issue/{{key}}/transitions", self._transitions),
            ("POST", f"{base}/issue/{{key}}/transitions", self._transition),
        ]

    def set_status(self, key: str, category: str) -> None:
        """Test control: move an issue (e.g. to 'done') as a person in Jira would."""
        self.issues[key]["category"] = category

    @staticmethod
    def _errors(**errors: str) -> web.Response:
        return web.json_response({"errorMessages": [], "errors": errors}, status=400)

    async def _create(self, request: web.Request, body: Any) -> web.Response:
        fields = (body or {}).get("fields")
        if not isinstance(fields, dict) or set(body) - {"fields", "update"}:
            return self._errors(fields="a 'fields' object is required")
        unknown = set(fields) - KNOWN_FIELDS
        if unknown:
            name = sorted(unknown)[0]
            return self._errors(**{name: f"Field '{name}' cannot be set. It is not on the "
                                   "appropriate screen, or unknown."})
        if (fields.get("project") or {}).get("key") != self.project:
            return self._errors(project="valid project is required")
        if (fields.get("issuetype") or {}).get("name") not in self.issue_types:
            return self._errors(issuetype="valid issue type is required")
        if not str(fields.get("summary") or "").strip():
            return self._errors(summary="You must specify a summary of the issue.")
        if "description" in fields:
            _Doc.model_validate(fields["description"])
        assignee = (fields.get("assignee") or {}).get("accountId")
        if assignee is not None and assignee not in self.users.values():
            return self._errors(assignee="The user does not exist.")
        key = f"{self.project}-{len(self.issues) + 1}"
        self.issues[key] = {"fields": fields, "category": "new", "comments": []}
        return web.json_response(
            {"id": str(10000 + len(self.issues)), "key": key,
             "self": f"{self.base_url}/rest/api/3/issue/{key}"},
            status=201,
        )

    def _issue(self, request: web.Request) -> dict[str, Any] | None:
        return self.issues.get(request.match_info["key"])

    async def _get(self, request: web.Request, body: Any) -> web.Response:
        issue = self._issue(request)
        if issue is None:
            return web.json_response(
                {"errorMessages": ["Issue does not exist or you do not have permission to see "
                                   "it."], "errors": {}}, status=404)
        category = issue["category"]
        name = {"new": "To Do", "indeterminate": "In Progress", "done": "Done"}[category]
        return web.json_response({
            "key": request.match_info["key"],
            "fields": {"status": {"name": name, "statusCategory": {"key": category}}},
        })

    async def _users(self, request: web.Request, body: Any) -> web.Response:
        query = request.query.get("query", "").lower()
        return web.json_response([
            {"accountId": account, "emailAddress": email, "displayName": email.split("@")[0]}
            for email, account in self.users.items() if query and query in email.lower()
        ])

    async def _comment(self, request: web.Request, body: Any) -> web.Response:
        issue = self._issue(request)
        if issue is None:
            return self.error(404, "Issue does not exist")
        comment = _Comment.model_validate(body)
        issue["comments"].append(comment.body.model_dump())
        return web.json_response({"id": str(len(issue["comments"]))}, status=201)

    async def _transitions(self, request: web.Request, body: Any) -> web.Response:
        if self._issue(request) is None:
            return self.error(404, "Issue does not exist")
        return web.json_response({"transitions": TRANSITIONS})

    async def _transition(self, request: web.Request, body: Any) -> web.Response:
        issue = self._issue(request)
        if issue is None:
            return self.error(404, "Issue does not exist")
        wanted = _Transition.model_validate(body).transition.id
        for t in TRANSITIONS:
            if t["id"] == wanted:
                issue["category"] = t["to"]["statusCategory"]["key"]  # type: ignore[index]
                return web.Response(status=204)
        return self._errors(transition="Transition id is not valid for this issue.")
