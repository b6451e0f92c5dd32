"""Google Meet: a Calendar API v3 event with `conferenceData.createRequest` (conference
solution `hangoutsMeet`), inserted as the service account into GOOGLE_CALENDAR_ID with
`conferenceDataVersion=1`; the event's video entry point (or hangoutLink) is the call link.
The createRequest's requestId is the incident's, so a retried insert makes no second
meeting. A request still `pending` is read back once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from bot.clock import Clock
from bot.conferencing.port import Meeting
from bot.errors import IntegrationError
from bot.integrations.google import CALENDAR_SCOPE, DEFAULT_API_URL, ServiceAccount
from bot.integrations.http import ApiClient


class GoogleMeet:
    name = "meet"
    label = "Google Meet"

    def __init__(
        self,
        *,
        account: ServiceAccount,
        calendar_id: str,
        clock: Clock,
        api_url: str = DEFAULT_API_URL,
        timeout: float = 3.0,
    ) -> None:
        if account.scope != CALENDAR_SCOPE:
            raise ValueError("the service account must be asked for the calendar scope")
        self.account = account
        self.calendar = quote(calendar_id, safe="")
        self.clock = clock
        self.api = ApiClient("Google Calendar", api_url, timeout=timeout, attempts=2,
                             budget=timeout + 1.0)

    async def _send(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        for attempt in (1, 2):
            token = await self.account.token()
            try:
                response = await self.api.request(
                    method, path, headers={"Authorization": f"Bearer {token}"}, **kw
                )
            except IntegrationError as exc:
                if exc.status == 401 and attempt == 1:
                    self.account.forget()
                    continue
                raise
            return dict(response.json())
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _link(event: dict[str, Any]) -> str | None:
        conference = event.get("conferenceData") or {}
        for entry in conference.get("entryPoints") or []:
            if entry.get("entryPointType") == "video" and entry.get("uri"):
                return str(entry["uri"])
        return str(event["hangoutLink"]) if event.get("hangoutLink") else None

    async def create(self, topic: str, request_id: str) -> Meeting:
        start: datetime = self.clock()
        body = {
            "summary": topic[:1024],
            "description": "Incident call made by incident-bot.",
            "start": {"dateTime": start.isoformat()},
            "end": {"dateTime": (start + timedelta(hours=1)).isoformat()},
            "conferenceData": {"createRequest": {
                "requestId": request_id,
                "conferenceSolutionKey": {"type": "hangoutsMeet"},
            }},
        }
        path = f"calendar/v3/calendars/{self.calendar}/events"
        event = await self._send("POST", path, json=body,
                                 params={"conferenceDataVersion": "1"})
        link = self._link(event)
        if link is None:  # createRequest still pending: read it back once
            event = await self._send("GET", f"{path}/{quote(str(event['id']), safe='')}",
                                     params={"conferenceDataVersion": "1"})
            link = self._link(event)
        if link is None:
            raise IntegrationError("Google Meet", "the meeting is not ready yet", status=None,
                                   retryable=True)
        return Meeting(url=link, ref=str(event["id"]))

    async def aclose(self) -> None:
        await self.api.aclose()
        await self.account.aclose()
