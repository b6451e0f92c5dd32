"""What the trackers push: verifying a delivery and reading which issue changed state.

* Jira Cloud signs only webhooks registered by OAuth or Connect apps; a webhook an admin
  creates in Jira's settings is not signed, so its URL carries a secret path token instead
  (`/webhooks/jira/<JIRA_WEBHOOK_TOKEN>`). A delivery is named by its
  `X-Atlassian-Webhook-Identifier` header, unchanged across Jira's retries.
* GitHub signs the raw body: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256>` with the
  webhook's secret; `X-GitHub-Delivery` names the delivery (a redelivery keeps it).
* Linear signs the raw body: `Linear-Signature: <hex HMAC-SHA256>`; the body's
  `webhookTimestamp` (ms) must be within a minute of now (replays are refused);
  `Linear-Delivery` names the delivery.

No HTTP framework here (domain code): bot/webhooks/trackers.py serves these."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

LINEAR_MAX_SKEW_MS = 60_000
LINEAR_DONE_TYPES = frozenset({"completed", "canceled"})


@dataclass(frozen=True)
class IssueChange:
    """An issue's state as a delivery tells it. `transition` is True when this delivery is
    about the state itself changing (closed, reopened, moved between statuses), so an edit
    or a comment on an open issue never reopens an item."""

    tracker: str  # "jira" | "github" | "linear"
    key: str  # OPS-12, #34, ENG-5
    done: bool
    transition: bool


def hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def token_valid(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())


def github_signature_valid(secret: str, body: bytes, header: str) -> bool:
    return token_valid("sha256=" + hmac_hex(secret, body), header.strip())


def linear_signature_valid(secret: str, body: bytes, header: str) -> bool:
    return token_valid(hmac_hex(secret, body), header.strip().lower())


def linear_fresh(doc: dict[str, Any], now: datetime) -> bool:
    """Linear's replay guard: the body's webhookTimestamp within a minute of now."""
    stamp = doc.get("webhookTimestamp")
    if not isinstance(stamp, int | float):
        return False
    return abs(now.timestamp() * 1000 - float(stamp)) <= LINEAR_MAX_SKEW_MS


def jira_change(doc: dict[str, Any]) -> IssueChange | None:
    """`jira:issue_updated` (and `_created`): the issue's status category now; a status
    item in the changelog makes it a transition."""
    if doc.get("webhookEvent") not in ("jira:issue_updated", "jira:issue_created"):
        return None
    issue = doc.get("issue") or {}
    key = issue.get("key")
    status = ((issue.get("fields") or {}).get("status") or {})
    category = (status.get("statusCategory") or {}).get("key")
    if not isinstance(key, str) or not isinstance(category, str):
        return None
    items = ((doc.get("changelog") or {}).get("items")) or []
    moved = any(isinstance(i, dict) and i.get("field") == "status" for i in items)
    return IssueChange("jira", key, done=category == "done", transition=moved)


def github_change(event: str, doc: dict[str, Any], repo: str) -> IssueChange | None:
    """`issues` events `closed` and `reopened` in the configured repository."""
    if event != "issues" or doc.get("action") not in ("closed", "reopened"):
        return None
    full_name = str((doc.get("repository") or {}).get("full_name") or "")
    if full_name.lower() != repo.lower():
        return None
    number = (doc.get("issue") or {}).get("number")
    if not isinstance(number, int):
        return None
    return IssueChange("github", f"#{number}", done=doc["action"] == "closed", transition=True)


def linear_change(doc: dict[str, Any]) -> IssueChange | None:
    """An `Issue` `update`: its state type now; `stateId` in `updatedFrom` makes it a
    transition."""
    if doc.get("type") != "Issue" or doc.get("action") not in ("update", "create"):
        return None
    data = doc.get("data") or {}
    identifier = data.get("identifier")
    state_type = (data.get("state") or {}).get("type")
    if not isinstance(identifier, str) or not isinstance(state_type, str):
        return None
    moved = "stateId" in (doc.get("updatedFrom") or {})
    return IssueChange(
        "linear", identifier, done=state_type in LINEAR_DONE_TYPES, transition=moved
    )
