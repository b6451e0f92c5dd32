"""Timeline events, one per entry of the incident's Redis Stream."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

EVENT_SCHEMA_VERSION = 1


class EventKind(StrEnum):
    MESSAGE = "message"
    MESSAGE_EDITED = "message_edited"
    MESSAGE_DELETED = "message_deleted"
    KEY_MARKED = "key_marked"  # a pin or :pushpin: on a message
    NOTE = "note"
    DECLARED = "declared"
    ROLE = "role"
    SEVERITY = "severity"
    STATUS = "status"
    SERVICES = "services"
    TAGS = "tags"
    RESOLVED = "resolved"
    CLOSED = "closed"
    METRICS = "metrics"
    ACTION_ITEM = "action_item"
    ALERT = "alert"
    SYSTEM = "system"  # a change to the channel itself (topic, name, archive), not words
    STATUS_UPDATE = "status_update"  # /incident update
    CADENCE = "update_cadence"  # /incident cadence
    PAGE = "page"  # paged / page resolved / acknowledged on the pager's side
    REOPENED = "reopened"
    DECLINED = "declined"
    MERGED = "merged"
    TIMES = "times"  # a key time corrected (who, old, new)
    PRIVATE = "private"  # converted to a private incident
    LINK = "link"  # a call link or a published document made for the incident
    STATUS_PAGE = "status_page"  # published to the status page (bot/statuspage/)


BOT_EVENT_KINDS = frozenset(
    {
        EventKind.DECLARED,
        EventKind.ROLE,
        EventKind.SEVERITY,
        EventKind.STATUS,
        EventKind.SERVICES,
        EventKind.TAGS,
        EventKind.RESOLVED,
        EventKind.CLOSED,
        EventKind.METRICS,
        EventKind.ACTION_ITEM,
        EventKind.ALERT,
        EventKind.STATUS_UPDATE,
        EventKind.CADENCE,
        EventKind.PAGE,
        EventKind.REOPENED,
        EventKind.DECLINED,
        EventKind.MERGED,
        EventKind.TIMES,
        EventKind.PRIVATE,
        EventKind.LINK,
        EventKind.STATUS_PAGE,
    }
)

# What a person does in response (says, changes or decides something): the first such event
# by a role holder after the declaration is the incident's acknowledgement (bot/insights/).
# Left out: the declaration itself and what the bot does on its own at declare time (pages,
# metric snapshots, call links, alerts, channel changes).
ACKNOWLEDGING_KINDS = frozenset(
    {
        EventKind.MESSAGE,
        EventKind.MESSAGE_EDITED,
        EventKind.KEY_MARKED,
        EventKind.NOTE,
        EventKind.ROLE,
        EventKind.SEVERITY,
        EventKind.STATUS,
        EventKind.SERVICES,
        EventKind.TAGS,
        EventKind.RESOLVED,
        EventKind.ACTION_ITEM,
        EventKind.STATUS_UPDATE,
        EventKind.CADENCE,
        EventKind.TIMES,
    }
)


class TimelineEvent(BaseModel):
    schema_version: int = EVENT_SCHEMA_VERSION
    kind: EventKind
    at: datetime
    actor: str | None = None
    text: str = ""
    key: bool = False
    message_ts: str | None = None
    data: dict[str, str] = Field(default_factory=dict)


class TimelineEntry(BaseModel):
    """An event as shown: message edits and deletes folded in, key marks applied."""

    event: TimelineEvent
    stream_id: str
    edited: bool = False
    deleted: bool = False

    @property
    def is_key(self) -> bool:
        return self.event.key or self.event.kind in BOT_EVENT_KINDS
