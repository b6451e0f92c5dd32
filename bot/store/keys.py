"""Every Redis key the bot uses, and the hash-slot design that makes them Cluster-safe.

Atomic units (changed together by one script, so their keys share one hash tag and land in
one Redis Cluster slot):
* an incident: `ib:{INC-…}:…` — the record, its timeline stream, message index, the markers
  of Slack events applied to its timeline, action-item set, postmortem (latest, versions,
  sequence, accept claims) and metric snapshots; the tag is the incident id itself
  (`{INC-20261127-0001}`), which is the issue's `{inc:…}` unit;
* an action item: `ib:action:<id>` alone (its claim and sent-slot markers are single-key
  writes and never join it in one command);
* everything else is a single key.

Cross-incident indexes (`incidents:open/all`, `channel:<id>`, `actions:due/open`,
`owner:<id>:actions`, `pat:…`) each live in their own slot and are never written in the
same command as a record: additions are written before the record, removals after it,
and readers check the record (so a crash in between leaves an index that says too much,
never one that hides a record). No key layout changed for this, so no data migration.
"""

from __future__ import annotations

PREFIX = "ib"


def incident(incident_id: str) -> str:
    return f"{PREFIX}:{{{incident_id}}}:incident"


def timeline(incident_id: str) -> str:
    return f"{PREFIX}:{{{incident_id}}}:timeline"


def timeline_messages(incident_id: str) -> str:
    """hash message_ts -> stream id of the message's first event (edits/deletes/pins find it)."""
    return f"{PREFIX}:{{{incident_id}}}:messages"


def incident_facts(incident_id: str) -> str:
    """The few facts of the record that insights read (JSON), written with the record in one
    atomic write (bot/store/insights.py `record_facts`)."""
    return f"{PREFIX}:{{{incident_id}}}:facts"


def incident_firsts(incident_id: str) -> str:
    """sorted set of the incident's first times (epoch seconds), kept on write with ZADD LT:
    `acted:<user>` a person's first acknowledging event, `postmortem` its first draft,
    `items` once it has action items (written by the action-item store, before the item),
    and `v1` (score 0) once the set is kept on write (else insights rebuild it once)."""
    return f"{PREFIX}:{{{incident_id}}}:firsts"


def channel_index(channel_id: str) -> str:
    return f"{PREFIX}:channel:{channel_id}"


def incidents_open() -> str:
    """sorted set of open incident ids by declared time."""
    return f"{PREFIX}:incidents:open"


def incidents_all() -> str:
    """sorted set of all incident ids by declared time."""
    return f"{PREFIX}:incidents:all"


def incident_sequence(day: str) -> str:
    return f"{PREFIX}:seq:{day}"


def timeline_event_seen(incident_id: str, event_id: str) -> str:
    """A Slack event (an edit, delete, pin, reaction, channel change) already applied to the
    incident's timeline: in the incident's slot, so the check, the append and this marker are
    one script (bot/store/timeline.py)."""
    return f"{PREFIX}:{{{incident_id}}}:seen:{event_id}"


def seen_event(event_id: str) -> str:
    """Slack event_id already recorded (retries are dropped)."""
    return f"{PREFIX}:seen:event:{event_id}"


def seen_action(key: str) -> str:
    """A button click already applied (double clicks are dropped)."""
    return f"{PREFIX}:seen:action:{key}"


def action_item(item_id: str) -> str:
    return f"{PREFIX}:action:{item_id}"


def action_items_of_incident(incident_id: str) -> str:
    return f"{PREFIX}:{{{incident_id}}}:actions"


def action_items_of_owner(user_id: str) -> str:
    return f"{PREFIX}:owner:{user_id}:actions"


def action_items_open() -> str:
    return f"{PREFIX}:actions:open"


def action_items_due() -> str:
    """sorted set of open action item ids by next reminder time (epoch seconds)."""
    return f"{PREFIX}:actions:due"


def action_item_sequence() -> str:
    return f"{PREFIX}:seq:actions"


def action_item_claim(item_id: str) -> str:
    return f"{PREFIX}:claim:action:{item_id}"


def reminder_sent(item_id: str, slot: str) -> str:
    return f"{PREFIX}:sent:reminder:{item_id}:{slot}"


def postmortem(incident_id: str) -> str:
    return f"{PREFIX}:{{{incident_id}}}:postmortem"


def postmortem_versions(incident_id: str) -> str:
    """list of every stored draft, oldest first."""
    return f"{postmortem(incident_id)}:versions"


def postmortem_sequence(incident_id: str) -> str:
    return f"{postmortem(incident_id)}:seq"


def postmortem_accept(incident_id: str, proposal_id: str) -> str:
    """A proposed action item is being turned into a tracked one (claimed once)."""
    return f"{postmortem(incident_id)}:accept:{proposal_id}"


def pattern(kind: str, value: str) -> str:
    """Inverted index for recurring patterns: sorted set of incident ids by declared time,
    one per service, tag, root-cause category and title word."""
    return f"{PREFIX}:pat:{kind}:{value.strip().lower()}"


def pattern_indexed(incident_id: str) -> str:
    """set of the pattern keys an incident is indexed under (to drop stale ones)."""
    return f"{PREFIX}:pat:indexed:{incident_id}"


def lease(name: str) -> str:
    """A lease (expiring claim) named `name`; see bot/store/leases.py."""
    return f"{PREFIX}:lease:{name}"


def slack_access_lost(token_id: str) -> str:
    """Why Slack took the bot token (by its hash) away; see bot/store/slack_access.py."""
    return f"{PREFIX}:slack:access-lost:{token_id}"


def pending_change(ref: str) -> str:
    """A change a guard stopped, waiting for its confirm button (bot/incidents/confirmations.py)."""
    return f"{PREFIX}:confirm:{ref}"


def done(name: str) -> str:
    """Marker that the once-only job `name` finished; see bot/store/leases.py."""
    return f"{PREFIX}:done:{name}"


def metric_snapshots(incident_id: str) -> str:
    return f"{PREFIX}:{{{incident_id}}}:snapshots"


def action_digest_sent(week: str) -> str:
    """The weekly action-item digest for ISO week `week` went out (one worker sends it)."""
    return f"{PREFIX}:sent:digest:{week}"


def alert_posted(fingerprint: str, starts_at: str) -> str:
    """A firing alert (fingerprint, startsAt) was already posted (Alertmanager re-sends)."""
    return f"{PREFIX}:sent:alert:{fingerprint}:{starts_at}"


def alert(fingerprint: str) -> str:
    """The last firing payload of an alert (the Declare button pre-fills the modal from it)."""
    return f"{PREFIX}:alert:{fingerprint}"


def alert_incident(fingerprint: str) -> str:
    """The incident declared from an alert (its resolve is noted on that timeline)."""
    return f"{PREFIX}:alert:{fingerprint}:incident"


def alert_resolved(fingerprint: str, ends_at: str) -> str:
    """A resolved alert was already noted."""
    return f"{PREFIX}:sent:alert-resolved:{fingerprint}:{ends_at}"


# --- status updates, subscribers, cadence and nudges (bot/store/updates.py) -------------


def status_updates(incident_id: str) -> str:
    """list of the incident's status updates (JSON), oldest first."""
    return f"{PREFIX}:{{{incident_id}}}:updates"


def update_delivered(incident_id: str, what: str) -> str:
    """set of users already sent `what` (an update's number, or the resolve) by DM."""
    return f"{PREFIX}:{{{incident_id}}}:delivered:{what}"


def fanout_queue() -> str:
    """sorted set `<incident>|<what>` -> due epoch: follower DMs for the workers to send."""
    return f"{PREFIX}:fanout:queue"


def fanout(incident_id: str, what: str) -> str:
    """One queued fan-out (JSON: texts and followers); see bot/store/fanout.py."""
    return f"{PREFIX}:{{{incident_id}}}:fanout:{what}"


def fanout_claim(incident_id: str, what: str, user_id: str) -> str:
    """A sender's claim on one follower's DM about `what` (expires by itself)."""
    return f"{PREFIX}:{{{incident_id}}}:fanout:{what}:claim:{user_id}"


def subscribers(incident_id: str) -> str:
    """set of users following the incident's updates."""
    return f"{PREFIX}:{{{incident_id}}}:subscribers"


def following(user_id: str) -> str:
    """set of incident ids a user follows (App Home)."""
    return f"{PREFIX}:user:{user_id}:following"

def pages_of_incident(incident_id: str) -> str:
    """hash page target -> "<pager>|<dedup_key>" of every page sent for the incident."""
    return f"{PREFIX}:{{{incident_id}}}:pages"


def integration_outbox(queue: str = "") -> str:
    """sorted set of integration calls to retry (JSON job -> due epoch seconds); one per
    feature that has its own (`calls`, `publish`), the trackers' and pagers' unnamed."""
    return f"{PREFIX}:integrations:outbox" + (f":{queue}" if queue else "")


def pager_event_seen(product: str, event_id: str) -> str:
    """An inbound pager webhook event already handled (the pagers re-deliver)."""
    return f"{PREFIX}:seen:pager:{product}:{event_id}"


def tracker_event_seen(product: str, delivery: str) -> str:
    """An inbound tracker webhook delivery already handled (Jira and Linear re-deliver)."""
    return f"{PREFIX}:seen:tracker:{product}:{delivery}"


def tracked_issue(tracker: str, key: str) -> str:
    """The action item a tracker issue follows (webhooks find the item by the issue)."""
    return f"{PREFIX}:tracked:{tracker}:{key}"


def user_tz(user_id: str) -> str:
    """A person's Slack time zone and name (users.info), cached for a day (bot/insights/)."""
    return f"{PREFIX}:user:{user_id}:tz"


def github_login(user_id: str) -> str:
    """A Slack user's GitHub login (`/incident me github <login>`)."""
    return f"{PREFIX}:user:{user_id}:github"

def relapse_watch() -> str:
    """sorted set: resolved incidents under relapse watch, scored by when the watch ends."""
    return f"{PREFIX}:relapse:watch"


def relapse_posted(incident_id: str, resolved_at: str) -> str:
    """The relapse of an incident after its resolve at `resolved_at` was posted (once)."""
    return f"{PREFIX}:sent:relapse:{incident_id}:{resolved_at}"


def impact_offer(incident_id: str, at: str) -> str:
    """The metrics' impact start `at` was already offered in the incident's channel."""
    return f"{PREFIX}:sent:impact:{incident_id}:{at}"


# --- the status page (bot/statuspage/): one hash tag, so a publish (the public incident,
# its index and the page's version) is one atomic write on a Redis Cluster too

STATUS = f"{PREFIX}:{{status}}"


def status_version() -> str:
    """counter: bumped on every change the page shows; serving processes poll it."""
    return f"{STATUS}:version"


def status_incident(public_id: str) -> str:
    return f"{STATUS}:incident:{public_id}"


def status_incidents() -> str:
    """sorted set: public incident ids by creation (epoch seconds)."""
    return f"{STATUS}:incidents"


def status_incident_of(incident_id: str) -> str:
    """the public incident published from an incident (its id)."""
    return f"{STATUS}:from:{incident_id}"


def status_maintenance(maintenance_id: str) -> str:
    return f"{STATUS}:maintenance:{maintenance_id}"


def status_maintenances() -> str:
    """sorted set: maintenance ids by start (epoch seconds)."""
    return f"{STATUS}:maintenances"


def status_draft(ref: str) -> str:
    """a publish waiting for a person's yes (the Publish button's reference)."""
    return f"{STATUS}:draft:{ref}"


def status_subscriber(subscriber_id: str) -> str:
    return f"{STATUS}:subscriber:{subscriber_id}"


def status_subscribers() -> str:
    """set of subscriber ids."""
    return f"{STATUS}:subscribers"


def status_subscriber_token(token: str) -> str:
    """a confirm/unsubscribe token -> its subscriber id."""
    return f"{STATUS}:token:{token}"


def status_outbox() -> str:
    """sorted set: deliveries (`notice id|subscriber id|attempt`) by when they are due; a
    worker claims one by pushing its score past the claim time."""
    return f"{STATUS}:outbox"


def status_notice(notice_id: str) -> str:
    return f"{STATUS}:notice:{notice_id}"


def status_delivered(notice_id: str, subscriber_id: str) -> str:
    """a delivery made (so a re-claimed delivery is not sent twice)."""
    return f"{STATUS}:delivered:{notice_id}:{subscriber_id}"


def status_mirror(public_id: str) -> str:
    """hash: the mirrored Statuspage incident's id and the last update mirrored."""
    return f"{STATUS}:mirror:{public_id}"


def status_mirror_queue() -> str:
    """sorted set: public incident / maintenance ids to mirror, by when due."""
    return f"{STATUS}:mirror-queue"
