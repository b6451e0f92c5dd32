"""Jira Cloud REST API v3: create issues (ADF description), look owners up by email, read the
status category, comment, and close through a transition into the Done category.
Auth: basic, the account's email and an API token."""

from __future__ import annotations

import re
from typing import Any

from bot.errors import IntegrationError
from bot.integrations.http import ApiClient
from bot.integrations.trackers.base import IssueDraft, TrackedIssue

PRIORITY = {"P0": "Highest", "P1": "High", "P2": "Medium", "P3": "Low"}
KEY = re.compile(r"\b([A-Z][A-Z0-9_]{0,19}-\d{1,9})\b")


def adf(text: str) -> dict[str, Any]:
    """Plain text as an Atlassian Document Format document, one paragraph per line."""
    paragraphs = [
        {"type": "paragraph", "content": [{"type": "text", "text": line}]}
        for line in text.splitlines()
        if line.strip()
    ]
    return {"type": "doc", "version": 1, "content": paragraphs}


class JiraTracker:
    name = "jira"

    def __init__(
        self,
        *,
        url: str,
        email: str,
        api_token: str,
        project: str,
        issue_type: str = "Task",
        client: ApiClient | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.project = project
        self.issue_type = issue_type
        self.http = client or ApiClient("Jira", self.url, auth=(email, api_token))

    def _issue(self, key: str, done: bool = False) -> TrackedIssue:
        return TrackedIssue(tracker=self.name, key=key, url=f"{self.url}/browse/{key}", done=done)

    async def _account_id(self, email: str) -> str | None:
        response = await self.http.request(
            "GET", "rest/api/3/user/search", params={"query": email}
        )
        users = response.json()
        for user in users if isinstance(users, list) else []:
            if str(user.get("emailAddress", "")).lower() == email.lower():
                return str(user["accountId"])
        return str(users[0]["accountId"]) if isinstance(users, list) and len(users) == 1 else None

    async def create(self, draft: IssueDraft) -> TrackedIssue:
        fields: dict[str, Any] = {
            "project": {"key": self.project},
            "issuetype": {"name": self.issue_type},
            "summary": draft.title[:255],
            "description": adf(draft.body),
            "labels": [re.sub(r"\s+", "-", label) for label in draft.labels],
            "priority": {"name": PRIORITY.get(draft.priority, "Medium")},
        }
        if draft.due is not None:
            fields["duedate"] = draft.due.isoformat()
        if draft.owner_email:
            account = await self._account_id(draft.owner_email)
            if account:
                fields["assignee"] = {"accountId": account}
        response = await self.http.request(
            "POST", "rest/api/3/issue", json={"fields": fields}, ok=(201,)
        )
        return self._issue(str(response.json()["key"]))

    async def find(self, ref: str) -> TrackedIssue:
        match = KEY.search(ref.upper() if "://" not in ref else ref)
        if not match:
            raise IntegrationError(
                "Jira", f"`{ref}` is not a Jira key or link", status=None, retryable=False
            )
        return await self.refresh(self._issue(match.group(1)))

    async def refresh(self, issue: TrackedIssue) -> TrackedIssue:
        response = await self.http.request(
            "GET", f"rest/api/3/issue/{issue.key}", params={"fields": "status"}
        )
        category = response.json()["fields"]["status"]["statusCategory"]["key"]
        return self._issue(issue.key, done=category == "done")

    async def comment(self, issue: TrackedIssue, text: str) -> None:
        await self.http.request(
            "POST", f"rest/api/3/issue/{issue.key}/comment", json={"body": adf(text)}, ok=(201,)
        )

    async def close(self, issue: TrackedIssue) -> bool:
        response = await self.http.request("GET", f"rest/api/3/issue/{issue.key}/transitions")
        for transition in response.json().get("transitions", []):
            category = ((transition.get("to") or {}).get("statusCategory") or {}).get("key")
            if category == "done":
                await self.http.request(
                    "POST",
                    f"rest/api/3/issue/{issue.key}/transitions",
                    json={"transition": {"id": str(transition["id"])}},
                    ok=(204,),
                )
                return True
        return False

    async def aclose(self) -> None:
        await self.http.aclose()
