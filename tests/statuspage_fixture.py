"""The bot with a status page: a components file, a manual clock, and helpers to read the
page over HTTP and check the Statuspage JSON against the schema written from the
published reference (tests/fixtures/statuspage/public-api-v2.schema.json)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from jsonschema import Draft202012Validator, FormatChecker

from bot.clock import ManualClock
from bot.statuspage.bundle import StatusPage
from sandbox.slack_emulator import SlackEmulator
from tests.conftest import Harness, running_bot

ALICE, BOB, CHARLIE, DIANA = "U0ALICE", "U0BOB", "U0CHARLIE", "U0DIANA"
START = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
COMPONENTS = """\
components:
  - name: Checkout
    group: Shopping
    services: [checkout-api, cart]
  - name: Search
    group: Shopping
    services: [search]
  - name: Ledger
    services: [ledger]
    internal: true
"""
SCHEMA = json.loads((Path(__file__).parent / "fixtures" / "statuspage" /
                     "public-api-v2.schema.json").read_text())


def check_shape(name: str, document: Any) -> None:
    """The document against the schema's definition of `name` (e.g. "summary.json")."""
    schema = {"$ref": f"#/$defs/{name}", "$defs": SCHEMA["$defs"]}
    errors = sorted(Draft202012Validator(schema, format_checker=FormatChecker())
                    .iter_errors(document), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]


@dataclass
class Page:
    h: Harness
    clock: ManualClock

    @property
    def status(self) -> StatusPage:
        sp = self.h.bot.services.statuspage
        assert sp is not None
        return sp

    async def get(self, path: str, headers: dict[str, str] | None = None
                  ) -> tuple[int, dict[str, str], bytes]:
        """Status, headers (lower-case names) and body."""
        async with aiohttp.ClientSession() as s, s.get(
            f"{self.h.url}{path}", headers=headers or {}, allow_redirects=False
        ) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, await r.read()

    async def post(self, path: str, data: dict[str, str],
                   headers: dict[str, str] | None = None) -> tuple[int, str]:
        async with aiohttp.ClientSession() as s, s.post(
            f"{self.h.url}{path}", data=data, headers=headers or {}
        ) as r:
            return r.status, await r.text()

    async def post_get(self, path: str) -> tuple[int, str]:
        """A GET that returns the text (links from mails)."""
        status, _, body = await self.get(path)
        return status, body.decode()

    async def json(self, name: str, audience: str = "") -> Any:
        await self.status.snapshots.refresh(force=True)
        prefix = "/status/internal" if audience else "/status"
        status, _, body = await self.get(f"{prefix}/api/v2/{name}")
        assert status == 200, body
        return json.loads(body)

    async def incident(self, text: str, *, user: str = ALICE, comms: str | None = CHARLIE
                       ) -> str:
        channel = await self.h.declare(text, user=user)
        if comms:
            await self.h.driver.command(f"role comms <@{comms}>", user=user, channel=channel)
        return channel

    def said(self, channel: str) -> list[str]:
        return [m.text for m in self.h.slack.messages(channel)]


@asynccontextmanager
async def status_page(slack: SlackEmulator, redis_url: str, tmp_path: Path, *,
                      components_text: str = COMPONENTS, **overrides: object
                      ) -> AsyncIterator[Page]:
    path = tmp_path / "components.yml"
    path.write_text(components_text)
    clock = ManualClock(START)
    settings: dict[str, object] = {"status_page_components": str(path),
                                   "status_page_url": "https://status.example.com/status"}
    settings.update(overrides)
    async with running_bot(slack, redis_url, clock=clock, **settings) as h:
        yield Page(h, clock)
