"""GitHub Issues (REST, also GitHub Enterprise through GITHUB_API_URL): create, read state,
comment, close as completed. GitHub has no priority or due date: both go in the body and a
priority label. The owner is assigned by GitHub login (`/incident me github <login>` or
GITHUB_USERS), as GitHub has no lookup by email."""

from __future__ import annotations

import re

from bot.errors import IntegrationError
from bot.integrations.http import ApiClient
from bot.integrations.trackers.base import IssueDraft, TrackedIssue

DEFAULT_API_URL = "https://api.github.com"
NUMBER = re.compile(r"(?:^#?|/issues/)(\d{1,9})/?$")


class GitHubTracker:
    name = "github"

    def __init__(
        self,
        *,
        token: str,
        repo: str,
        api_url: str = DEFAULT_API_URL,
        client: ApiClient | None = None,
    ) -> None:
        self.repo = repo.strip("/")
        self.http = client or ApiClient(
            "GitHub",
            api_url,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            },
        )

    def _issue(self, data: dict[str, object]) -> TrackedIssue:
        return TrackedIssue(
            tracker=self.name,
            key=f"#{data['number']}",
            url=str(data["html_url"]),
            done=data.get("state") == "closed",
        )

    @staticmethod
    def _number(issue: TrackedIssue) -> str:
        return issue.key.lstrip("#")

    async def create(self, draft: IssueDraft) -> TrackedIssue:
        body = draft.body
        if draft.due is not None:
            body += f"\n\nDue: {draft.due.isoformat()}"
        body += f"\nPriority: {draft.priority}"
        labels = [*draft.labels, f"priority:{draft.priority}"]
        issue: dict[str, object] = {"title": draft.title[:256], "body": body, "labels": labels}
        if draft.owner_login:
            issue["assignees"] = [draft.owner_login]
        response = await self.http.request(
            "POST", f"repos/{self.repo}/issues", json=issue, ok=(201,)
        )
        return self._issue(response.json())

    async def find(self, ref: str) -> TrackedIssue:
        match = NUMBER.search(ref.strip())
        if not match:
            raise IntegrationError(
                "GitHub", f"`{ref}` is not an issue number or link", status=None, retryable=False
            )
        response = await self.http.request("GET", f"repos/{self.repo}/issues/{match.group(1)}")
        return self._issue(response.json())

    async def refresh(self, issue: TrackedIssue) -> TrackedIssue:
        response = await self.http.request(
            "GET", f"repos/{self.repo}/issues/{self._number(issue)}"
        )
        return self._issue(response.json())

    async def comment(self, issue: TrackedIssue, text: str) -> None:
        await self.http.request(
            "POST",
            f"repos/{self.repo}/issues/{self._number(issue)}/comments",
            json={"body": text},
            ok=(201,),
        )

    async def close(self, issue: TrackedIssue) -> bool:
        await self.http.request(
            "PATCH",
            f"repos/{self.repo}/issues/{self._number(issue)}",
            json={"state": "closed", "state_reason": "completed"},
        )
        return True

    async def aclose(self) -> None:
        await self.http.aclose()
