"""A local stand-in for the Anthropic Messages API (POST /v1/messages), for tests and demos.

It runs an aiohttp server in a background thread on 127.0.0.1 and a free port. Point the
SDK at it with `base_url=standin.base_url` (ANTHROPIC_BASE_URL). Switch `mode`:

- `valid`: a realistic `tool_use` answer built from the request's baseline draft
- `invalid_json`: a text block holding broken JSON, no tool call
- `schema_mismatch`: a tool call whose input does not match the schema
- `timeout`: sleeps `delay` seconds (longer than the client's timeout) before answering
- `overloaded`: HTTP 529 with Anthropic's `overloaded_error` body

Every request (headers and JSON body) is kept in `requests`."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

MODES = ("valid", "invalid_json", "schema_mismatch", "timeout", "overloaded")
API_VERSION = "2023-06-01"


@dataclass
class RecordedRequest:
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def prompt(self) -> str:
        """All user text and the system prompt, joined."""
        parts: list[str] = []
        system = self.body.get("system", "")
        parts.append(system if isinstance(system, str) else json.dumps(system))
        for msg in self.body.get("messages", []):
            content = msg.get("content", "")
            if isinstance(content, str):
                parts.append(content)
            else:
                parts += [c.get("text", "") for c in content if isinstance(c, dict)]
        return "\n".join(parts)


@dataclass
class AnthropicStandin:
    api_key: str = "sk-ant-test-standin"
    mode: str = "valid"
    delay: float = 5.0
    requests: list[RecordedRequest] = field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def reset(self, mode: str = "valid") -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
        self.mode = mode
        self.requests.clear()

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> AnthropicStandin:
        if not self.port:
            with socket.socket() as s:
                s.bind((self.host, 0))
                self.port = int(s.getsockname()[1])
        ready = threading.Event()
        loop = asyncio.new_event_loop()
        self._loop = loop

        def run() -> None:
            asyncio.set_event_loop(loop)
            app = web.Application()
            app.router.add_post("/v1/messages", self._messages)
            self._runner = web.AppRunner(app)
            loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, self.host, self.port)
            loop.run_until_complete(site.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="anthropic-standin", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the Anthropic stand-in did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop = None
        self._thread = None

    def __enter__(self) -> AnthropicStandin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the API ------------------------------------------------------------------------

    @staticmethod
    def _error(status: int, kind: str, message: str) -> web.Response:
        body = {"type": "error", "error": {"type": kind, "message": message}}
        headers = {"request-id": f"req_{uuid.uuid4().hex[:24]}", "retry-after-ms": "10"}
        return web.json_response(body, status=status, headers=headers)

    async def _messages(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return self._error(400, "invalid_request_error", "body is not JSON")
        self.requests.append(RecordedRequest(headers=dict(request.headers), body=body))
        key = request.headers.get("x-api-key") or request.headers.get(
            "authorization", ""
        ).removeprefix("Bearer ")
        if key != self.api_key:
            return self._error(401, "authentication_error", "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return self._error(400, "invalid_request_error", "anthropic-version header missing")
        for name in ("model", "max_tokens", "messages"):
            if name not in body:
                return self._error(400, "invalid_request_error", f"{name}: Field required")
        mode = self.mode
        if mode == "overloaded":
            return self._error(529, "overloaded_error", "Overloaded")
        if mode == "timeout":
            await asyncio.sleep(self.delay)
        tool = (body.get("tools") or [{}])[0].get("name", "write_postmortem")
        if mode == "invalid_json":
            content: list[dict[str, Any]] = [
                {"type": "text", "text": '{"summary": "The API returned errors because'}
            ]
            stop = "end_turn"
        elif mode == "schema_mismatch":
            content = [
                {
                    "type": "tool_use",
                    "id": f"toolu_{uuid.uuid4().hex[:24]}",
                    "name": tool,
                    "input": {"summary": 42, "root_causes": "the database", "five_whys": []},
                }
            ]
            stop = "tool_use"
        else:
            content = [
                {
                    "type": "tool_use",
                    "id": f"toolu_{uuid.uuid4().hex[:24]}",
                    "name": tool,
                    "input": self._draft_from(body),
                }
            ]
            stop = "tool_use"
        prompt = RecordedRequest(headers={}, body=body).prompt
        return web.json_response(
            {
                "id": f"msg_{uuid.uuid4().hex[:24]}",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": content,
                "stop_reason": stop,
                "stop_sequence": None,
                "usage": {"input_tokens": max(1, len(prompt) // 4), "output_tokens": 600},
            },
            headers={"request-id": f"req_{uuid.uuid4().hex[:24]}"},
        )

    @staticmethod
    def _draft_from(body: dict[str, Any]) -> dict[str, Any]:
        """What a model would plausibly write: the baseline, reworded, grounded in the
        runbook sections it was given."""
        prompt = RecordedRequest(headers={}, body=body).prompt
        m = re.search(r"<baseline_draft>\s*(\{.*\})\s*</baseline_draft>", prompt, re.S)
        draft: dict[str, Any] = json.loads(m.group(1)) if m else {}
        cites = re.findall(r'<runbook_section citation="([^"]+)"', prompt)
        title = re.search(r'"title":\s*"([^"]*)"', prompt)
        draft["summary"] = (
            f"Blameless review of “{title.group(1) if title else 'the incident'}”. "
            + str(draft.get("summary", ""))
        )
        for rc in draft.get("root_causes") or []:
            rc["cause"] = str(rc.get("cause", "")).rstrip(".") + " (model-reviewed)"
        if cites and draft.get("root_causes"):
            ev = draft["root_causes"][0].setdefault("evidence", [])
            ev.append({"kind": "runbook", "text": "Runbook: " + cites[0], "citation": cites[0]})
        draft.setdefault("impact", ["Impact not recorded"])
        draft.setdefault("five_whys", [{"question": "Why?", "answer": "Unknown."}])
        draft.setdefault(
            "root_causes",
            [
                {
                    "cause": "Undetermined",
                    "category": "unknown",
                    "kind": "technical",
                    "confidence": 0.3,
                    "evidence": [],
                }
            ],
        )
        return draft
