"""The Pager port: page the on-call for an incident, and resolve the page."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel

ALL_TARGETS = "on-call"  # the target when an incident names no services


class Page(BaseModel):
    """One page for one incident and target (a service or team). `dedup_key` is derived from
    the incident id and target, so a retried declare never pages twice."""

    dedup_key: str
    target: str
    summary: str
    severity: int  # 1..4
    details: dict[str, str] = {}
    link: str | None = None


class Pager(Protocol):
    name: str

    def can_page(self, target: str) -> bool:
        """Whether this pager knows where to send a page for the target."""

    async def trigger(self, page: Page) -> None: ...

    async def resolve(self, dedup_key: str, target: str) -> None: ...

    async def aclose(self) -> None: ...
