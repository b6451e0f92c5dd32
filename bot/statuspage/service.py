"""Publishing an incident to the status page, always on a person's yes: the IC, the Comms
lead or an admin publishes components and their statuses with a public title and message,
drafted from the record when they give none. Each publish is one update of the incident's
public incident (made on the first), goes on the timeline and in the channel ("Published
to the status page: …"), rebuilds this process's snapshot and tells the followers (the
subscribers' outbox, the Statuspage mirror)."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

import structlog
from pydantic import BaseModel, Field

from bot.clock import Clock
from bot.errors import IncidentBotError, InvalidTransition, PermissionDenied, UsageError
from bot.incidents.models import Incident, Role
from bot.incidents.service import AdminCheck
from bot.mrkdwn import escape
from bot.ports import ChatGateway
from bot.statuspage.components import Components
from bot.statuspage.models import (
    ComponentStatus,
    Maintenance,
    PublicIncident,
    PublicStatus,
    PublicUpdate,
)
from bot.statuspage.snapshot import Snapshots
from bot.statuspage.wording import (
    MAX_MESSAGE,
    MAX_TITLE,
    PUBLIC_STATUS,
    PublicContext,
    default_statuses,
    draft_message,
    draft_title,
    public_problems,
)
from bot.statuspage.writer import NoModelWriter, PublicWriter, Worded, worded
from bot.store.redis_store import RedisStore
from bot.store.statuspage import StatusPageStore
from bot.timeline.models import EventKind, TimelineEvent

log = structlog.get_logger(__name__)
PUBLISHERS = (Role.IC, Role.COMMS)
DRAFT_TTL = timedelta(minutes=30)
Follower = Callable[[PublicIncident | Maintenance, PublicUpdate], Awaitable[object]]


class PublishRequest(BaseModel):
    components: dict[str, ComponentStatus] = Field(default_factory=dict)
    status: PublicStatus
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    message: str = Field(min_length=1, max_length=MAX_MESSAGE)
    incident_id: str = ""


@dataclass
class Published:
    public: PublicIncident
    update: PublicUpdate
    created: bool
    warnings: list[str] = field(default_factory=list)


def new_id() -> str:
    """12 lower-case letters and digits, like Statuspage's ids."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(12))


class StatusPageService:
    def __init__(
        self,
        *,
        pages: StatusPageStore,
        store: RedisStore,
        chat: ChatGateway,
        clock: Clock,
        components: Components,
        is_admin: AdminCheck,
        snapshots: Snapshots,
        url: str,
        writer: PublicWriter | None = None,
    ) -> None:
        self.pages = pages
        self.store = store
        self.chat = chat
        self.clock = clock
        self.components = components
        self.is_admin = is_admin
        self.snapshots = snapshots
        self.url = url.rstrip("/")
        self.followers: list[Follower] = []
        self.writer: PublicWriter = writer or NoModelWriter()

    # --- who, and what ---------------------------------------------------------------

    async def may_publish(self, incident: Incident, user_id: str) -> None:
        if any(incident.roles.get(r) == user_id for r in PUBLISHERS):
            return
        if await self.is_admin(user_id):
            return
        raise PermissionDenied(
            f"Only the IC or the Comms lead of {incident.id} (or an admin) may publish to the "
            "status page. Ask them, or take Comms with `/incident role comms @you`."
        )

    def component_name(self, word: str) -> str:
        found = self.components.find(word)
        if found is None:
            known = ", ".join(c.name for c in self.components.components)
            raise UsageError(f"`{escape(word)}` is not a component of the status page "
                             f"(they are: {escape(known)}).")
        return found.name

    async def context(self, incident: Incident) -> PublicContext:
        """Who and what the record knows, so the public words can be checked."""
        people: set[str] = set()
        ids = {incident.declared_by, *incident.roles.values()}
        for _, event in await self.store.events(incident.id):
            if event.actor:
                ids.add(event.actor)
        for uid in ids:
            people.add(uid.lower())
            try:
                user = await self.chat.user(uid)
            except IncidentBotError:
                continue
            for name in (user.name, user.real_name, *user.real_name.split()):
                if name:
                    people.add(name.lower())
        return PublicContext(incident, self.components, people)

    async def proposal(self, incident: Incident) -> PublishRequest:
        """What to publish when nobody said: drafted from the record (components by its
        services, status by its severity), or the public incident as it stands."""
        current = await self.pages.public_incident_of(incident.id)
        statuses = dict(current.components) if current and current.is_open else \
            default_statuses(incident, self.components)
        status = PUBLIC_STATUS[incident.status]
        return PublishRequest(
            components=statuses, status=status,
            title=current.name if current else draft_title(statuses),
            message=draft_message(statuses, status), incident_id=incident.id,
        )

    async def drafted(self, incident: Incident, statuses: dict[str, ComponentStatus],
                      status: PublicStatus, title: str) -> Worded:
        """A message (and the title, unless given) for a publish nobody worded: the
        template's, or the model's rewording when it passes the checks."""
        message = draft_message(statuses, status)
        latest = await self.store.updates.latest(incident.id)
        facts = {"components": {n: s.value for n, s in statuses.items()},
                 "status": status.value, "latest_update": latest.text if latest else ""}
        return await worded(
            self.writer, title=title, message=message, facts=facts, incident=incident,
            entries=await self.store.timeline(incident.id), ctx=await self.context(incident),
            now=self.clock(),
        )

    async def check(self, incident: Incident, request: PublishRequest) -> None:
        """Refuse words that must not be public (UsageError names why)."""
        ctx = await self.context(incident)
        current = await self.pages.public_incident_of(incident.id)
        names = list(request.components) or list(current.components if current else {})
        ctx.public = not self.components.is_internal(names)
        problems = public_problems(f"{request.title}\n{request.message}", ctx)
        if problems:
            raise UsageError(
                "Not published: " + "; ".join(problems) + ". Public words say what customers "
                "see, never who or which internal system."
            )
        if not request.components and await self.pages.public_incident_of(incident.id) is None:
            raise UsageError("Name at least one component, e.g. `Checkout=degraded`.")

    async def keep_draft(self, request: PublishRequest) -> str:
        """Keep a drafted publish for its Publish button; returns the button's reference."""
        ref = new_id()
        await self.pages.keep_draft(ref, request.model_dump_json(), DRAFT_TTL)
        return ref

    async def draft(self, ref: str, *, take: bool = False) -> PublishRequest:
        """The draft behind a Publish button; `take`: once (a second click finds nothing)."""
        if not ref.isalnum():
            raw = None
        else:
            raw = await (self.pages.take_draft(ref) if take else self.pages.draft(ref))
        if raw is None:
            raise IncidentBotError("That draft was published already or has expired; run "
                                   "`/incident statuspage` again.")
        return PublishRequest.model_validate_json(raw)

    # --- publishing ------------------------------------------------------------------

    async def publish(
        self, incident: Incident, request: PublishRequest, actor: str
    ) -> Published:
        await self.may_publish(incident, actor)
        await self.check(incident, request)
        now = self.clock()
        current = await self.pages.public_incident_of(incident.id)
        statuses = dict(request.components)
        if request.status is PublicStatus.RESOLVED:
            names = set(current.components if current else {}) | set(statuses)
            statuses = {n: ComponentStatus.OPERATIONAL for n in sorted(names)}
        update = PublicUpdate(id=new_id(), status=request.status.value, body=request.message,
                              at=now, components=statuses, by=actor)
        created = current is None
        if current is None:
            public = PublicIncident(
                id=new_id(), incident_id=incident.id, name=request.title,
                status=request.status, components=statuses, created_at=now, updated_at=now,
                started_at=min(incident.impact_started_at or now, now), updates=[update],
                internal=self.components.is_internal(list(statuses)),
            )
            self._stamp(public, request.status)
            if not await self.pages.create_incident(public):
                created = False
                public = await self.pages.change_incident(
                    (await self._existing(incident)).id, lambda p: self._add(p, request, update)
                )
        else:
            public = await self.pages.change_incident(
                current.id, lambda p: self._add(p, request, update)
            )
        warnings = await self._after(incident, public, update, actor)
        return Published(public, update, created, warnings)

    async def _existing(self, incident: Incident) -> PublicIncident:
        found = await self.pages.public_incident_of(incident.id)
        if found is None:
            raise IncidentBotError("The status page changed meanwhile; try again.")
        return found

    def _add(self, public: PublicIncident, request: PublishRequest,
             update: PublicUpdate) -> PublicIncident:
        components = {**public.components, **update.components}
        changed = public.model_copy(update={
            "name": request.title, "status": request.status, "components": components,
            "updated_at": update.at, "updates": [*public.updates, update],
            "resolved_at": update.at if request.status is PublicStatus.RESOLVED else None,
            "internal": self.components.is_internal(list(components)),
        })
        self._stamp(changed, request.status)
        return changed

    @staticmethod
    def _stamp(public: PublicIncident, status: PublicStatus) -> None:
        if status is PublicStatus.MONITORING and public.monitoring_at is None:
            public.monitoring_at = public.updated_at
        if status is PublicStatus.RESOLVED:
            public.resolved_at = public.updated_at

    async def _after(self, incident: Incident, public: PublicIncident, update: PublicUpdate,
                     actor: str) -> list[str]:
        """The timeline, the channel, this process's snapshot and the followers; none of
        them undoes the publish when it fails."""
        warnings: list[str] = []
        states = ", ".join(f"{n} {s.label.lower()}" for n, s in update.components.items())
        text = (f"Published to the status page: *{escape(public.name)}* — "
                f"{update.status.capitalize()}" + (f" ({escape(states)})" if states else "")
                + f": {escape(update.body, limit=600)}")
        try:
            await self.store.append_event(incident.id, TimelineEvent(
                kind=EventKind.STATUS_PAGE, at=update.at, actor=actor, text=text, key=True,
                data={"public_id": public.id, "update": update.id, "status": update.status},
            ))
        except IncidentBotError:
            warnings.append("could not put the publish on the timeline")
        try:
            await self.chat.post(incident.channel_id,
                                 f":globe_with_meridians: {text} <{self.url}|status page>")
        except IncidentBotError:
            warnings.append("could not tell the channel")
        await self.after_change(public, update)
        return warnings

    async def after_change(self, subject: PublicIncident | Maintenance,
                           update: PublicUpdate) -> None:
        try:
            await self.snapshots.refresh(force=True)
        except Exception:
            log.warning("status_snapshot_failed", exc_info=True)
        for follow in self.followers:
            try:
                await follow(subject, update)
            except Exception:
                log.warning("status_follower_failed", follower=getattr(follow, "__name__", "?"),
                            exc_info=True)

    # --- after an incident change ----------------------------------------------------

    async def open_public(self, incident: Incident) -> PublicIncident | None:
        found = await self.pages.public_incident_of(incident.id)
        return found if found is not None and found.is_open else None

    async def resolve(self, incident: Incident, actor: str) -> Published:
        """Resolve the public incident; its components go back to operational."""
        public = await self.open_public(incident)
        if public is None:
            raise InvalidTransition(f"{incident.id} has no open public incident to resolve.")
        request = PublishRequest(
            components={}, status=PublicStatus.RESOLVED, title=public.name,
            message=draft_message(dict(public.components), PublicStatus.RESOLVED),
            incident_id=incident.id,
        )
        return await self.publish(incident, request, actor)

    async def publish_update_text(self, incident: Incident, text: str, actor: str) -> Published:
        """`/incident update … public:yes`: the update's words as the public incident's
        next update, at the incident's status."""
        public = await self.open_public(incident)
        if public is None:
            raise InvalidTransition(
                f"{incident.id} is not on the status page yet: publish it first with "
                "`/incident statuspage`.")
        request = PublishRequest(components={}, status=PUBLIC_STATUS[incident.status],
                                 title=public.name, message=text[:MAX_MESSAGE],
                                 incident_id=incident.id)
        return await self.publish(incident, request, actor)
