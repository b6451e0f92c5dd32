"""Linear's GraphQL API: create issues in a team (looked up by its key), labels by name
(created when missing), owner by email, state type for done, comment, close into the team's
first `completed` state. Auth: `Authorization: <API key>`."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bot.errors import IntegrationError
from bot.integrations.http import ApiClient
from bot.integrations.trackers.base import IssueDraft, TrackedIssue

if TYPE_CHECKING:
    import httpx

DEFAULT_API_URL = "https://api.linear.app/graphql"
PRIORITY = {"P0": 1, "P1": 2, "P2": 3, "P3": 4}  # Linear: 1 urgent, 2 high, 3 medium, 4 low
IDENTIFIER = re.compile(r"\b([A-Za-z][A-Za-z0-9]{0,9}-\d{1,9})\b")
DONE_TYPES = {"completed", "canceled"}
ISSUE_FIELDS = "id identifier url state { type }"


def _rate_limited(response: httpx.Response) -> bool:
    try:
        errors = response.json().get("errors") or []
    except ValueError:
        return False
    return any((e.get("extensions") or {}).get("code") == "RATELIMITED" for e in errors)


class LinearTracker:
    name = "linear"

    def __init__(
        self, *, api_key: str, team: str, api_url: str = DEFAULT_API_URL,
        client: ApiClient | None = None,
    ) -> None:
        self.team_key = team
        parts = urlsplit(api_url)
        self.path = parts.path.lstrip("/") or "graphql"
        self.http = client or ApiClient(
            "Linear",
            f"{parts.scheme}://{parts.netloc}",
            headers={"Authorization": api_key},
            throttled=_rate_limited,
        )
        self._team: dict[str, Any] | None = None

    async def _gql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.request(
            "POST", self.path, json={"query": query, "variables": variables}, ok=(200, 400)
        )
        doc = response.json()
        if doc.get("errors"):
            message = str(doc["errors"][0].get("message", "error"))[:200]
            status = 404 if "not found" in message.lower() else response.status_code
            raise IntegrationError("Linear", message, status=status, retryable=False)
        return dict(doc["data"])

    async def _team_info(self) -> dict[str, Any]:
        if self._team is None:
            data = await self._gql(
                "query Team($key: String!) { teams(filter: {key: {eq: $key}}) { nodes "
                "{ id key states { nodes { id type position } } } } }",
                {"key": self.team_key},
            )
            nodes = data["teams"]["nodes"]
            if not nodes:
                raise IntegrationError(
                    "Linear", f"no team with key {self.team_key}", status=None, retryable=False
                )
            self._team = nodes[0]
        return self._team

    def _issue(self, node: dict[str, Any]) -> TrackedIssue:
        return TrackedIssue(
            tracker=self.name,
            key=str(node["identifier"]),
            url=str(node["url"]),
            done=(node.get("state") or {}).get("type") in DONE_TYPES,
            id=str(node["id"]),
        )

    async def _label_ids(self, team_id: str, names: list[str]) -> list[str]:
        data = await self._gql(
            "query Labels($names: [String!]) { issueLabels(filter: {name: {in: $names}}) "
            "{ nodes { id name } } }",
            {"names": names},
        )
        found = {n["name"]: n["id"] for n in data["issueLabels"]["nodes"]}
        for name in names:
            if name not in found:
                created = await self._gql(
                    "mutation Label($input: IssueLabelCreateInput!) { issueLabelCreate"
                    "(input: $input) { success issueLabel { id } } }",
                    {"input": {"name": name, "teamId": team_id}},
                )
                found[name] = created["issueLabelCreate"]["issueLabel"]["id"]
        return [found[n] for n in names]

    async def _user_id(self, email: str) -> str | None:
        data = await self._gql(
            "query User($email: String!) { users(filter: {email: {eq: $email}}) "
            "{ nodes { id } } }",
            {"email": email},
        )
        nodes = data["users"]["nodes"]
        return str(nodes[0]["id"]) if nodes else None

    async def create(self, draft: IssueDraft) -> TrackedIssue:
        team = await self._team_info()
        issue_input: dict[str, Any] = {
            "teamId": team["id"],
            "title": draft.title[:255],
            "description": draft.body,
            "priority": PRIORITY.get(draft.priority, 3),
            "labelIds": await self._label_ids(team["id"], draft.labels),
        }
        if draft.due is not None:
            issue_input["dueDate"] = draft.due.isoformat()
        if draft.owner_email and (user := await self._user_id(draft.owner_email)):
            issue_input["assigneeId"] = user
        data = await self._gql(
            "mutation Create($input: IssueCreateInput!) { issueCreate(input: $input) "
            f"{{ success issue {{ {ISSUE_FIELDS} }} }} }}",
            {"input": issue_input},
        )
        return self._issue(data["issueCreate"]["issue"])

    async def find(self, ref: str) -> TrackedIssue:
        match = IDENTIFIER.search(ref.rsplit("/issue/", 1)[-1])
        if not match:
            raise IntegrationError(
                "Linear", f"`{ref}` is not a Linear issue id or link", status=None,
                retryable=False,
            )
        return await self.refresh(
            TrackedIssue(tracker=self.name, key=match.group(1).upper(), url="")
        )

    async def refresh(self, issue: TrackedIssue) -> TrackedIssue:
        data = await self._gql(
            f"query Issue($id: String!) {{ issue(id: $id) {{ {ISSUE_FIELDS} }} }}",
            {"id": issue.key},
        )
        if not data.get("issue"):
            raise IntegrationError("Linear", f"no issue {issue.key}", status=404, retryable=False)
        return self._issue(data["issue"])

    async def comment(self, issue: TrackedIssue, text: str) -> None:
        await self._gql(
            "mutation Comment($input: CommentCreateInput!) { commentCreate(input: $input) "
            "{ success } }",
            {"input": {"issueId": issue.id or issue.key, "body": text}},
        )

    async def close(self, issue: TrackedIssue) -> bool:
        team = await self._team_info()
        done = sorted(
            (s for s in team["states"]["nodes"] if s["type"] == "completed"),
            key=lambda s: float(s.get("position", 0)),
        )
        if not done:
            return False
        await self._gql(
            "mutation Close($id: String!, $input: IssueUpdateInput!) { issueUpdate(id: $id, "
            "input: $input) { success } }",
            {"id": issue.key, "input": {"stateId": done[0]["id"]}},
        )
        return True

    async def aclose(self) -> None:
        await self.http.aclose()
