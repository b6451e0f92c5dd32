"""GitHub Issues REST stand-in: create, get, update state, comment, under one repository.
Auth: `Authorization: Bearer <token>` (or `token <token>`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from sandbox.standins.base import Handler, Standin, Strict


class _CreateIssue(Strict):
    title: str = Field(min_length=1, max_length=256)
    body: str | None = None
    labels: list[str] | None = None
    assignees: list[str] | None = None
    milestone: int | None = None
    type: str | None = None


class _UpdateIssue(Strict):
    title: str | None = None
    body: str | None = None
    state: Literal["open", "closed"] | None = None
    state_reason: Literal["completed", "not_planned", "reopened"] | None = None
    labels: list[str] | None = None


class _Comment(Strict):
    body: str = Field(min_length=1)


@dataclass
class GitHubStandin(Standin):
    name: str = "github"
    token: str = "ghp_testtoken"
    repo: str = "acme/reliability"
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)

    def reset_state(self) -> None:
        self.issues.clear()

    def authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") in (
            f"Bearer {self.token}", f"token {self.token}"
        )

    def routes(self) -> list[tuple[str, str, Handler]]:
        base = "/repos/{owner}/{name}/issues"
        return [
            ("POST", base, self._create),
            ("GET", base + "/{number}", self._get),
            ("PATCH", base + "/{number}", self._update),
            ("POST", base + "/{number}/comments", self._comment),
        ]

    def close_issue(self, number: int) -> None:
        """Test control: close an issue as a person on GitHub would."""
        self.issues[number]["state"] = "closed"

    def reopen_issue(self, number: int) -> None:
        """Test control: reopen an issue as a person on GitHub would."""
        self.issues[number]["state"] = "open"

    def _repo_ok(self, request: web.Request) -> bool:
        return f"{request.match_info['owner']}/{request.match_info['name']}" == self.repo

    def _view(self, number: int) -> dict[str, Any]:
        issue = self.issues[number]
        return {
            "number": number,
            "html_url": f"https://github.example/{self.repo}/issues/{number}",
            "state": issue["state"],
            "title": issue["title"],
            "labels": [{"name": n} for n in issue["labels"]],
        }

    async def _create(self, request: web.Request, body: Any) -> web.Response:
        if not self._repo_ok(request):
            return self.error(404, "Not Found")
        new = _CreateIssue.model_validate(body)
        number = len(self.issues) + 1
        self.issues[number] = {
            "title": new.title, "body": new.body or "", "labels": new.labels or [],
            "assignees": new.assignees or [], "state": "open", "comments": [],
        }
        return web.json_response(self._view(number), status=201)

    def _number(self, request: web.Request) -> int | None:
        try:
            number = int(request.match_info["number"])
        except ValueError:
            return None
        return number if self._repo_ok(request) and number in self.issues else None

    async def _get(self, request: web.Request, body: Any) -> web.Response:
        number = self._number(request)
        return self.error(404, "Not Found") if number is None else web.json_response(
            self._view(number)
        )

    async def _update(self, request: web.Request, body: Any) -> web.Response:
        number = self._number(request)
        if number is None:
            return self.error(404, "Not Found")
        change = _UpdateIssue.model_validate(body)
        if change.state:
            self.issues[number]["state"] = change.state
        return web.json_response(self._view(number))

    async def _comment(self, request: web.Request, body: Any) -> web.Response:
        number = self._number(request)
        if number is None:
            return self.error(404, "Not Found")
        comment = _Comment.model_validate(body)
        self.issues[number]["comments"].append(comment.body)
        return web.json_response({"id": len(self.issues[number]["comments"])}, status=201)
