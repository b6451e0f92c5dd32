"""Action items followed in an issue tracker (Jira, GitHub or Linear): create or link the
issue, keep both sides in step (an issue finished in the tracker closes the item and stops
its reminders, at once when the tracker's webhook says so, else at the next poll; an issue
reopened there reopens the item and its reminders; `action done` in Slack comments on the
issue and closes it), and retry from the outbox what failed while the tracker was down."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import structlog

from bot.actions.models import ActionItem, ActionSettings
from bot.actions.schedule import next_reminder_at
from bot.actions.store import ActionItemStore
from bot.clock import Clock
from bot.errors import IntegrationError, NotFound, UsageError
from bot.incidents.models import Incident
from bot.integrations.tracker_events import IssueChange
from bot.integrations.trackers.base import IssueDraft, IssueTracker, TrackedIssue
from bot.mrkdwn import escape
from bot.store.integrations import IntegrationStore, RetryJob
from bot.store.redis_store import RedisStore
from bot.timeline.models import EventKind, TimelineEvent

log = structlog.get_logger(__name__)

RETRY_BACKOFF = timedelta(minutes=2)
MAX_ATTEMPTS = 10
EmailOf = Callable[[str], Awaitable[str | None]]
LoginOf = EmailOf  # a Slack user's login in the tracker (GitHub), or None


async def no_email(user_id: str) -> str | None:
    return None


class TrackerService:
    def __init__(
        self,
        *,
        tracker: IssueTracker,
        store: RedisStore,
        items: ActionItemStore,
        integrations: IntegrationStore,
        clock: Clock,
        email_of: EmailOf = no_email,
        auto: bool = False,
        channel_link: str = "",
        login_of: LoginOf = no_email,
        reminders: ActionSettings | None = None,
    ) -> None:
        self.tracker = tracker
        self.store = store
        self.items = items
        self.integrations = integrations
        self.clock = clock
        self.email_of = email_of
        self.auto = auto
        self.channel_link = channel_link
        self.login_of = login_of
        self.reminders = reminders or ActionSettings()

    @property
    def name(self) -> str:
        return {"jira": "Jira", "github": "GitHub", "linear": "Linear"}.get(
            self.tracker.name, self.tracker.name
        )

    async def _draft(self, item: ActionItem, incident: Incident) -> IssueDraft:
        if incident.private:  # the tracker is outside the channel: the label and nothing else
            return IssueDraft(
                title=f"Action item {item.id} — {incident.public_label}",
                body=f"Action item {item.id} from {incident.public_label}. Details are in the "
                "incident's private channel.",
                labels=["incident", incident.id],
                priority=item.priority.value,
                due=item.due.date() if item.due else None,
                owner_email=await self.email_of(item.owner),
                owner_login=await self.login_of(item.owner),
            )
        lines = [
            f"Action item {item.id} from incident {incident.id} ({incident.severity.label}): "
            f"{incident.title}",
            f"Incident channel: #{incident.channel_name}"
            + (f" {self.channel_link.format(channel=incident.channel_id)}"
               if self.channel_link else ""),
        ]
        if incident.resolution_summary:
            lines.append(f"Resolution: {incident.resolution_summary}")
        elif incident.description:
            lines.append(f"Summary: {incident.description[:500]}")
        lines.append(f"What to do: {item.text}")
        labels = ["incident", incident.id] + ([item.type.value] if item.type else [])
        return IssueDraft(
            title=item.text[:200],
            body="\n".join(lines),
            labels=labels,
            priority=item.priority.value,
            due=item.due.date() if item.due else None,
            owner_email=await self.email_of(item.owner),
            owner_login=await self.login_of(item.owner),
        )

    async def _event(self, item: ActionItem, actor: str | None, text: str) -> None:
        await self.store.append_event(
            item.incident_id,
            TimelineEvent(
                kind=EventKind.ACTION_ITEM,
                at=self.clock(),
                actor=actor,
                text=text,
                data={"item": item.id, "action": "tracked", "owner": item.owner},
            ),
        )

    async def track(self, item_id: str, actor: str | None, *, attempt: int = 1) -> ActionItem:
        """Create the tracker issue for the item. Raises IntegrationError when the tracker
        refuses; when it is down, queues a retry and raises IntegrationError(retryable)."""
        item = await self.items.get(item_id)
        if item.tracked is not None:
            return item  # already followed: tracking twice is not an error
        incident = await self.store.get_incident(item.incident_id)
        try:
            issue = await self.tracker.create(await self._draft(item, incident))
        except IntegrationError as exc:
            if exc.retryable and attempt < MAX_ATTEMPTS:
                await self.integrations.enqueue(
                    RetryJob(op="track", incident_id=item.incident_id, item_id=item.id,
                             attempt=attempt + 1),
                    self.clock() + RETRY_BACKOFF * attempt,
                )
            raise

        return await self._attach(item, issue, actor, "tracked in")

    async def link(self, item_id: str, ref: str, actor: str) -> ActionItem:
        item = await self.items.get(item_id)
        try:
            issue = await self.tracker.find(ref)
        except IntegrationError as exc:
            if exc.status == 404 or exc.status is None:
                raise UsageError(f"{self.name} has no issue `{escape(ref)}`.") from None
            raise

        return await self._attach(item, issue, actor, "linked to")

    async def _attach(
        self, item: ActionItem, issue: TrackedIssue, actor: str | None, how: str
    ) -> ActionItem:
        def attach(it: ActionItem) -> None:
            it.tracked = issue

        item = await self.items.update(item.id, attach)
        await self.integrations.remember_tracked(issue.tracker, issue.key, item.id)
        link = f"<{issue.url}|{escape(issue.key)}>"
        await self._event(item, actor, f"Action item {item.id} {how} {self.name}: {link}")
        return item

    async def on_item_added(self, item: ActionItem) -> list[str]:
        """TRACK_ACTIONS=auto: every new item gets its issue; problems come back as words."""
        if not self.auto:
            return []
        try:
            item.tracked = (await self.track(item.id, None)).tracked
        except IntegrationError as exc:
            return [self._problem(f"create the {self.name} issue", exc)]
        return []

    async def on_item_done(self, item: ActionItem, *, attempt: int = 1) -> list[str]:
        """Done in Slack: comment on the linked issue and close it where the tracker allows."""
        if item.tracked is None or item.tracked.done:
            return []
        try:
            await self.tracker.comment(item.tracked, f"Done in Slack ({item.id}).")
            closed = await self.tracker.close(item.tracked)
        except IntegrationError as exc:
            if exc.retryable and attempt < MAX_ATTEMPTS:
                await self.integrations.enqueue(
                    RetryJob(op="finish_issue", incident_id=item.incident_id, item_id=item.id,
                             attempt=attempt + 1),
                    self.clock() + RETRY_BACKOFF * attempt,
                )
            return [self._problem(f"close {item.tracked.key} in {self.name}", exc)]
        if closed:
            def mark(it: ActionItem) -> None:
                if it.tracked is not None:
                    it.tracked.done = True

            await self.items.update(item.id, mark)
            return []
        return [f"{self.name} has no way to close {item.tracked.key} from here; close it there"]

    def _problem(self, what: str, exc: IntegrationError) -> str:
        if exc.retryable:
            return f"could not {what} yet ({self.name} is not answering); I will keep trying"
        return f"could not {what}: {exc.message}"

    async def sync(self) -> list[ActionItem]:
        """Poll the linked issues of open items; an issue finished in the tracker finishes the
        item (and so stops its reminders). Returns the items finished this way."""
        finished: list[ActionItem] = []
        for item in await self.items.many(await self.items.open_ids()):
            if item.tracked is None:
                continue
            try:
                fresh = await self.tracker.refresh(item.tracked)
            except IntegrationError as exc:
                log.warning("tracker_sync_failed", item=item.id, error=exc.message)
                continue
            if fresh.done:
                finished.append(await self._finish_from_tracker(item.id))
        return finished

    async def _finish_from_tracker(self, item_id: str) -> ActionItem:
        now = self.clock()
        changed = False

        def finish(it: ActionItem) -> None:
            nonlocal changed
            changed = it.finish(now, None)
            if it.tracked is not None:
                it.tracked.done = True

        item = await self.items.update(item_id, finish)
        if changed:
            tracked = item.tracked
            where = f"<{tracked.url}|{escape(tracked.key)}>" if tracked else "the tracker"
            await self._event(item, None, f"Action item {item.id} done in {self.name} ({where})")
        return item

    async def _item_for(self, change: IssueChange) -> str | None:
        """The item the issue follows: by the index written on attach, else (items linked
        before the index existed) among the open items."""
        found = await self.integrations.tracked_item(change.tracker, change.key)
        if found is not None:
            return found
        for item in await self.items.many(await self.items.open_ids()):
            if item.tracked and (item.tracked.tracker, item.tracked.key) == (
                change.tracker, change.key
            ):
                return item.id
        return None

    async def on_issue_change(self, change: IssueChange) -> str:
        """A tracker's webhook: the issue finished there finishes the item (its reminders
        stop); reopened there, the item opens again with a new reminder cycle. Returns what
        happened, for the webhook's answer."""
        if change.tracker != self.tracker.name:
            return "ignored: another tracker"
        item_id = await self._item_for(change)
        if item_id is None:
            return "ignored: no action item follows this issue"
        try:
            item = await self.items.get(item_id)
        except NotFound:
            return "ignored: the action item is gone"
        if change.done and item.is_open:
            await self._finish_from_tracker(item.id)
            return f"finished {item.id}"
        if (not change.done and change.transition and not item.is_open
                and item.tracked is not None and item.tracked.done):
            await self._reopen_from_tracker(item.id)
            return f"reopened {item.id}"
        return "nothing to change"

    async def _reopen_from_tracker(self, item_id: str) -> ActionItem:
        changed = False

        def reopen(it: ActionItem) -> None:
            nonlocal changed
            changed = it.reopen()
            if it.tracked is not None:
                it.tracked.done = False
            it.next_reminder_at = next_reminder_at(it, self.reminders)

        item = await self.items.update(item_id, reopen)
        if changed:
            tracked = item.tracked
            where = f"<{tracked.url}|{escape(tracked.key)}>" if tracked else "the tracker"
            await self._event(
                item, None, f"Action item {item.id} reopened in {self.name} ({where})"
            )
        return item

    async def retry(self, job: RetryJob) -> bool:
        try:
            if job.op == "track":
                await self.track(job.item_id, None, attempt=job.attempt)
                return True
            if job.op == "finish_issue":
                item = await self.items.get(job.item_id)
                return not await self.on_item_done(item, attempt=job.attempt)
        except NotFound:
            return True
        except IntegrationError:
            return False
        return True
