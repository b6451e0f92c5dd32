"""Linear GraphQL stand-in (POST /graphql): the queries and mutations the bot sends (teams,
issueLabels, issueLabelCreate, users, issueCreate, issue, commentCreate, issueUpdate), each
recognised by its root field, with strictly checked input objects. Auth: `Authorization:
<API key>`. Throttling answers like Linear: HTTP 400 with extensions.code RATELIMITED."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import Field

from sandbox.standins.base import Handler, Standin, Strict

ROOT = re.compile(r"\{\s*(\w+)\s*[({]")


class _IssueCreateInput(Strict):
    teamId: str
    title: str = Field(min_length=1)
    description: str | None = None
    priority: int | None = Field(default=None, ge=0, le=4)
    dueDate: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    assigneeId: str | None = None
    labelIds: list[str] | None = None
    stateId: str | None = None


class _IssueUpdateInput(Strict):
    stateId: str | None = None
    title: str | None = None


class _CommentCreateInput(Strict):
    issueId: str
    body: str = Field(min_length=1)


class _LabelCreateInput(Strict):
    name: str = Field(min_length=1)
    teamId: str | None = None


@dataclass
class LinearStandin(Standin):
    name: str = "linear"
    api_key: str = "lin_api_testkey"
    team_key: str = "ENG"
    team_id: str = "team-0001"
    users: dict[str, str] = field(default_factory=dict)  # email -> user id
    labels: dict[str, str] = field(default_factory=dict)  # name -> id
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)  # identifier -> issue
    throttle_next: bool = False
    states: tuple[tuple[str, str], ...] = (
        ("st-backlog", "backlog"), ("st-todo", "unstarted"), ("st-doing", "started"),
        ("st-done", "completed"), ("st-cancel", "canceled"),
    )

    def reset_state(self) -> None:
        self.issues.clear()
        self.labels.clear()

    def authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == self.api_key

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [("POST", "/graphql", self._graphql)]

    def rate_limit_next(self) -> None:
        """Test control: Linear's own throttling answer for the next call."""
        self.throttle_next = True

    def complete(self, identifier: str) -> None:
        """Test control: finish an issue as a person in Linear would."""
        self.issues[identifier]["state"] = "completed"

    def reopen(self, identifier: str) -> None:
        """Test control: move a finished issue back to started, as a person would."""
        self.issues[identifier]["state"] = "started"

    def _node(self, identifier: str) -> dict[str, Any]:
        issue = self.issues[identifier]
        return {
            "id": issue["id"], "identifier": identifier,
            "url": f"https://linear.example/acme/issue/{identifier}",
            "state": {"type": issue["state"]},
        }

    def _by_id(self, ref: str) -> str | None:
        if ref in self.issues:
            return ref
        return next((k for k, v in self.issues.items() if v["id"] == ref), None)

    @staticmethod
    def _gql_error(message: str, code: str, status: int = 400) -> web.Response:
        return web.json_response(
            {"errors": [{"message": message, "extensions": {"code": code}}]}, status=status
        )

    async def _graphql(self, request: web.Request, body: Any) -> web.Response:
        if self.throttle_next:
            self.throttle_next = False
            return self._gql_error("Rate limit exceeded", "RATELIMITED")
        if not isinstance(body, dict) or set(body) - {"query", "variables", "operationName"}:
            return self._gql_error("Invalid request body", "BAD_REQUEST")
        query = str(body.get("query", ""))
        variables = body.get("variables") or {}
        match = ROOT.search(query)
        root = match.group(1) if match else ""
        handler = getattr(self, f"_op_{root}", None)
        if handler is None:
            return self._gql_error(f'Cannot query field "{root}"', "GRAPHQL_VALIDATION_FAILED")
        data = handler(variables)
        if isinstance(data, web.Response):
            return data
        return web.json_response({"data": {root: data}})

    def _op_teams(self, v: dict[str, Any]) -> Any:
        if v.get("key") != self.team_key:
            return {"nodes": []}
        return {"nodes": [{
            "id": self.team_id, "key": self.team_key,
            "states": {"nodes": [
                {"id": sid, "type": kind, "position": float(i)}
                for i, (sid, kind) in enumerate(self.states)
            ]},
        }]}

    def _op_issueLabels(self, v: dict[str, Any]) -> Any:
        names = v.get("names") or []
        return {"nodes": [{"id": i, "name": n} for n, i in self.labels.items() if n in names]}

    def _op_issueLabelCreate(self, v: dict[str, Any]) -> Any:
        new = _LabelCreateInput.model_validate(v.get("input"))
        self.labels[new.name] = f"label-{uuid.uuid4().hex[:8]}"
        return {"success": True, "issueLabel": {"id": self.labels[new.name]}}

    def _op_users(self, v: dict[str, Any]) -> Any:
        email = str(v.get("email", "")).lower()
        return {"nodes": [{"id": uid} for e, uid in self.users.items() if e.lower() == email]}

    def _op_issueCreate(self, v: dict[str, Any]) -> Any:
        new = _IssueCreateInput.model_validate(v.get("input"))
        if new.teamId != self.team_id:
            return self._gql_error("Entity not found: Team", "INVALID_INPUT")
        if any(label not in self.labels.values() for label in new.labelIds or []):
            return self._gql_error("Entity not found: IssueLabel", "INVALID_INPUT")
        if new.assigneeId is not None and new.assigneeId not in self.users.values():
            return self._gql_error("Entity not found: User", "INVALID_INPUT")
        identifier = f"{self.team_key}-{len(self.issues) + 1}"
        self.issues[identifier] = {
            "id": str(uuid.uuid4()), "state": "unstarted", "input": new.model_dump(),
            "comments": [],
        }
        return {"success": True, "issue": self._node(identifier)}

    def _op_issue(self, v: dict[str, Any]) -> Any:
        found = self._by_id(str(v.get("id", "")))
        if found is None:
            return self._gql_error("Entity not found: Issue", "INVALID_INPUT")
        return self._node(found)

    def _op_commentCreate(self, v: dict[str, Any]) -> Any:
        new = _CommentCreateInput.model_validate(v.get("input"))
        found = self._by_id(new.issueId)
        if found is None:
            return self._gql_error("Entity not found: Issue", "INVALID_INPUT")
        self.issues[found]["comments"].append(new.body)
        return {"success": True}

    def _op_issueUpdate(self, v: dict[str, Any]) -> Any:
        change = _IssueUpdateInput.model_validate(v.get("input"))
        found = self._by_id(str(v.get("id", "")))
        if found is None:
            return self._gql_error("Entity not found: Issue", "INVALID_INPUT")
        states = dict(self.states)
        if change.stateId is not None:
            if change.stateId not in states:
                return self._gql_error("Entity not found: WorkflowState", "INVALID_INPUT")
            self.issues[found]["state"] = states[change.stateId]
        return {"success": True}
