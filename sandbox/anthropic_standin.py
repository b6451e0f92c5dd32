"""A local stand-in for the Anthropic Messages API (POST /v1/messages), for tests, the demo
and `make eval`.

It runs an aiohttp server in a background thread on 127.0.0.1 and a free port. Point the
SDK at it with `base_url=standin.base_url` (ANTHROPIC_BASE_URL). Choose how it answers with
`reset(mode)`:

- `faithful` (alias `valid`): a schema-valid `write_postmortem` call built from the request's
  fact sheet and the bot's draft, every claim citing facts that exist (for the
  `write_exec_summary` tool: the summary's four parts reworded, nothing added)
- `invent_person`, `invent_citation`, `invent_time`, `invent_number`, `invent_region`,
  `invent_all`: the faithful answer plus schema-valid inventions of that kind — a person who
  took no part (as incident commander, in the five whys, as action-item owner), runbook
  sections and ids that do not exist, times before the incident, numbers no reading shows,
  a region the incident never touched. `INVENTED[mode]` lists the strings each one invents.
- `overloaded`: HTTP 529 (`retry_after` seconds in `retry-after`, else `retry-after-ms: 10`)
- `unauthorized`: HTTP 401 whatever the key
- `slow`: sleeps `delay` seconds before a faithful answer (alias `timeout`)
- `invalid_tool_input` (alias `schema_mismatch`): a tool call that does not fit the schema
- `broken_json` (alias `invalid_json`): a text block holding broken JSON, no tool call

`hold()` makes every answer wait until `release()` (to watch what the bot posts meanwhile).
Requests whose system prompt and tools carry `cache_control` are answered with
`cache_creation_input_tokens` the first time that prefix is seen and `cache_read_input_tokens`
after. Every request (headers and JSON body) is kept in `requests`."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import socket
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

INVENTIONS = (
    "invent_person",
    "invent_citation",
    "invent_time",
    "invent_number",
    "invent_region",
)
MODES = (
    "faithful",
    *INVENTIONS,
    "invent_all",
    "overloaded",
    "unauthorized",
    "slow",
    "invalid_tool_input",
    "broken_json",
)
ALIASES = {
    "valid": "faithful",
    "timeout": "slow",
    "schema_mismatch": "invalid_tool_input",
    "invalid_json": "broken_json",
}
# what each inventing mode makes up: none of it may reach Slack as fact
INVENTED: dict[str, tuple[str, ...]] = {
    "invent_person": ("Mallory", "U0MALLORY9", "mallory"),
    "invent_citation": ("Region Evacuation", "Redis Failover", "R9", "E999"),
    "invent_time": ("03:12", "13:50", "13:05"),
    "invent_number": ("47%", "12,000", "9000"),
    "invent_region": ("eu-west-1", "ap-southeast-2"),
}
INVENTED["invent_all"] = tuple(x for m in INVENTIONS for x in INVENTED[m])
API_VERSION = "2023-06-01"
EXEC_TOOL = "write_exec_summary"  # /incident summary exec (bot/updates/exec_summary.py)
PUBLIC_TOOL = "write_public_update"  # the status page's wording (bot/statuspage/writer.py)


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
    mode: str = "faithful"
    delay: float = 5.0
    retry_after: float | None = None
    requests: list[RecordedRequest] = field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _runner: web.AppRunner | None = None
    _gate: threading.Event = field(default_factory=threading.Event)
    _cached: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._gate.set()  # answer at once until hold()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def reset(self, mode: str = "faithful", *, keep_cache: bool = False) -> None:
        mode = ALIASES.get(mode, mode)
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
        self.mode = mode
        self.retry_after = None
        self.requests.clear()
        if not keep_cache:
            self._cached.clear()
        self._gate.set()

    def hold(self) -> None:
        """Answers wait until release()."""
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()

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

    def _error(self, status: int, kind: str, message: str) -> web.Response:
        body = {"type": "error", "error": {"type": kind, "message": message}}
        headers = {"request-id": f"req_{uuid.uuid4().hex[:24]}"}
        if status == 529 and self.retry_after is not None:
            headers["retry-after"] = f"{self.retry_after:g}"
        else:
            headers["retry-after-ms"] = "10"
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
        mode = self.mode
        if key != self.api_key or mode == "unauthorized":
            return self._error(401, "authentication_error", "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return self._error(400, "invalid_request_error", "anthropic-version header missing")
        for name in ("model", "max_tokens", "messages"):
            if name not in body:
                return self._error(400, "invalid_request_error", f"{name}: Field required")
        while not self._gate.is_set():
            await asyncio.sleep(0.01)
        if mode == "overloaded":
            return self._error(529, "overloaded_error", "Overloaded")
        if mode == "slow":
            await asyncio.sleep(self.delay)
        tool = (body.get("tools") or [{}])[0].get("name", "write_postmortem")
        stop = "tool_use"
        if mode == "broken_json":
            content: list[dict[str, Any]] = [
                {"type": "text", "text": '{"summary": [{"text": "The API returned errors because'}
            ]
            stop = "end_turn"
        elif mode == "invalid_tool_input":
            tool_input: dict[str, Any] = {
                "summary": 42,
                "root_causes": "the database",
                "five_whys": [],
            }
            content = [self._tool_use(tool, tool_input)]
        elif tool == PUBLIC_TOOL:
            content = [self._tool_use(tool, public_update(body, mode))]
        elif tool == EXEC_TOOL:
            summary = faithful_exec_summary(body)
            if mode.startswith("invent_"):
                invent_exec(summary, mode)
            content = [self._tool_use(tool, summary)]
        else:
            draft = faithful_draft(body)
            if mode.startswith("invent_"):
                invent(draft, mode)
            content = [self._tool_use(tool, draft)]
        return web.json_response(
            {
                "id": f"msg_{uuid.uuid4().hex[:24]}",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": content,
                "stop_reason": stop,
                "stop_sequence": None,
                "usage": self._usage(body, content),
            },
            headers={"request-id": f"req_{uuid.uuid4().hex[:24]}"},
        )

    @staticmethod
    def _tool_use(name: str, tool_input: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "tool_use",
            "id": f"toolu_{uuid.uuid4().hex[:24]}",
            "name": name,
            "input": tool_input,
        }

    def _usage(self, body: dict[str, Any], content: list[dict[str, Any]]) -> dict[str, int]:
        """Token counts (4 characters a token), with the prompt cache the API would keep:
        the prefix up to the last `cache_control` mark is written once, then read."""
        tools = json.dumps(body.get("tools") or [], sort_keys=True)
        system = body.get("system") or ""
        blocks = system if isinstance(system, list) else [{"type": "text", "text": system}]
        marked = [i for i, b in enumerate(blocks) if isinstance(b, dict) and b.get("cache_control")]
        prefix = ""
        if marked:
            prefix = tools + json.dumps(blocks[: marked[-1] + 1], sort_keys=True)
        total = len(tools) + len(json.dumps(blocks)) + len(json.dumps(body.get("messages")))
        cached = len(prefix) // 4
        usage = {
            "input_tokens": max(1, (total - len(prefix)) // 4),
            "output_tokens": max(1, len(json.dumps(content, ensure_ascii=False)) // 4),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        }
        if prefix:
            digest = hashlib.sha256(prefix.encode()).hexdigest()
            kind = (
                "cache_read_input_tokens"
                if digest in self._cached
                else "cache_creation_input_tokens"
            )
            usage[kind] = cached
            self._cached.add(digest)
        return usage


# --- what a model would write ----------------------------------------------------------------


def _section(prompt: str, tag: str) -> Any:
    found = re.findall(rf"<{tag}>\s*(\{{.*?\}})\s*</{tag}>", prompt, re.S)
    return json.loads(found[-1]) if found else {}


def faithful_draft(body: dict[str, Any]) -> dict[str, Any]:
    """A draft a careful model would write: the bot's draft reworded, every claim citing the
    facts (by id) its evidence came from, facts only through placeholders."""
    prompt = RecordedRequest(headers={}, body=body).prompt
    record = _section(prompt, "incident_record")
    bot = _section(prompt, "bot_draft")
    inc = record.get("incident", {})
    events = record.get("events", [])
    readings = record.get("metric_readings", [])
    runbooks = record.get("runbook_sections", [])
    roles = record.get("roles", {})

    def ids_for(evidence: list[dict[str, Any]]) -> list[str]:
        out: list[str] = []
        for ev in evidence:
            if ev.get("kind") == "runbook":
                out += [r["id"] for r in runbooks if r["citation"] == ev.get("citation")]
                continue
            text = re.sub(r"^\d\d:\d\d ", "", str(ev.get("text", "")))
            text = text.removesuffix(" (what fixed it)")
            for f in [*events, *readings]:
                said = f.get("text") or f.get("reading")
                if said and said == text and f["id"] not in out:
                    out.append(f["id"])
        return list(dict.fromkeys(out))

    first = events[0]["id"] if events else None
    causes = bot.get("root_causes") or []
    top_ids = ids_for(causes[0].get("evidence", [])) if causes else []
    summary = [
        {"text": f"Blameless review of “{inc.get('title', 'the incident')}”.", "evidence": []}
    ]
    if first and "ic" in roles:
        summary.append(
            {"text": f"{{person:ic}} declared it at {{time:{first}}}.", "evidence": [first]}
        )
    if "ttr" in inc.get("durations", {}):
        summary.append({"text": "It was resolved after {duration:ttr}.", "evidence": []})
    if causes and top_ids:
        summary.append(
            {
                "text": f"The most likely root cause: {causes[0]['cause'].rstrip('.')}.",
                "evidence": top_ids,
            }
        )
    draft: dict[str, Any] = {
        "summary": summary,
        "impact": [{"text": line, "evidence": []} for line in bot.get("impact", [])],
        "root_causes": [
            {
                "text": str(rc["cause"]).rstrip(".") + " (model-reviewed)",
                "category": rc.get("category", "unknown"),
                "kind": rc.get("kind", "technical"),
                "evidence": ids_for(rc.get("evidence", [])),
            }
            for rc in causes
        ],
        "five_whys": [
            {"question": w["question"], "answer": w["answer"], "evidence": top_ids}
            for w in bot.get("five_whys", [])
        ],
        "contributing_factors": [
            {
                "text": f["factor"],
                "category": f["category"],
                "preventable": f["preventable"],
                "evidence": [],
            }
            for f in bot.get("contributing_factors", [])
        ],
        "went_well": [{"text": x, "evidence": []} for x in bot.get("went_well", [])],
        "went_poorly": [{"text": x, "evidence": []} for x in bot.get("went_poorly", [])],
        "got_lucky": [{"text": x, "evidence": []} for x in bot.get("got_lucky", [])],
        "action_items": [
            {
                "text": a["description"],
                "type": a["type"],
                "priority": a.get("priority", "P2"),
                "owner": a.get("owner_suggestion"),
                "evidence": top_ids[:1],
            }
            for a in bot.get("action_items", [])
        ],
        "decision_records": [
            {
                "text": e["text"],
                "event": e["id"],
                "rationale": "Recorded on the incident timeline during the response",
                "evidence": [e["id"]],
            }
            for e in events
            if re.search(r"\bdecision\b|\bdecided\b", e["text"].lower())
        ],
        "data_gaps": list(bot.get("data_gaps", [])),
    }
    if not draft["root_causes"]:
        draft["root_causes"] = [
            {"text": "Undetermined", "category": "unknown", "kind": "technical", "evidence": []}
        ]
    return draft


def faithful_exec_summary(body: dict[str, Any]) -> dict[str, str]:
    """The executive summary's four parts, reworded without adding anything."""
    prompt = RecordedRequest(headers={}, body=body).prompt
    facts = _section(prompt, "exec_facts")
    return {
        "affected": f"In plain words: {facts.get('affected', '')}",
        "status": f"Where we are: {facts.get('status', '')}",
        "doing": f"The team's next step: {facts.get('doing', '')}",
        "needed": f"From leadership: {facts.get('needed', '')}",
    }


def public_update(body: dict[str, Any], mode: str) -> dict[str, str]:
    """The status page's wording: the draft in other words, plus inventions when asked."""
    facts = _section(RecordedRequest(headers={}, body=body).prompt, "public_facts")
    message = "Update: " + str(facts.get("draft_message", ""))
    if mode in ("invent_person", "invent_all"):
        message += " Mallory Quinn is leading the fix."
    if mode in ("invent_number", "invent_all"):
        message += " About 47% of requests fail."
    if mode in ("invent_region", "invent_all"):
        message += " Only eu-west-1 is affected."
    return {"title": str(facts.get("draft_title", "")), "message": message}


def invent_exec(summary: dict[str, str], mode: str) -> None:
    """Inventions in the executive summary: each lands in one part."""
    kinds = INVENTIONS if mode == "invent_all" else (mode,)
    for kind in kinds:
        if kind == "invent_person":
            summary["doing"] += " Mallory Quinn (<@U0MALLORY9>) is leading the fix."
        elif kind == "invent_number":
            summary["affected"] += " About 47% of checkouts fail, 12,000 customers."
        elif kind == "invent_time":
            summary["status"] += " It started at 03:12."
        elif kind == "invent_region":
            summary["affected"] += " Only eu-west-1 is affected."
        elif kind == "invent_citation":
            summary["doing"] += " They follow the Redis Failover runbook."


def invent(draft: dict[str, Any], mode: str) -> None:
    """Add schema-valid inventions of one kind (or all) to a faithful draft."""
    kinds = INVENTIONS if mode == "invent_all" else (mode,)
    first = next((i for c in draft["summary"] for i in c["evidence"]), "E1")
    for kind in kinds:
        if kind == "invent_person":
            draft["summary"].append(
                {
                    "text": "Incident commander Mallory Quinn (<@U0MALLORY9>) led the response "
                    f"from {{time:{first}}}.",
                    "evidence": [first],
                }
            )
            draft["five_whys"].append(
                {
                    "question": "Why was the page missed?",
                    "answer": "Because @mallory was on call and did not acknowledge it.",
                    "evidence": [first],
                }
            )
            draft["action_items"].insert(
                0,
                {
                    "text": "Review the paging rota for the on-call engineers",
                    "type": "process",
                    "priority": "P1",
                    "owner": "U0MALLORY9",
                    "evidence": [first],
                },
            )
        elif kind == "invent_citation":
            draft["root_causes"].insert(
                0,
                {
                    "text": "Redis failover left the cache cold "
                    "(see Redis Failover → Region Evacuation)",
                    "category": "database",
                    "kind": "technical",
                    "evidence": ["R9", "Runbook: Redis Failover → Region Evacuation"],
                },
            )
            draft["summary"].append(
                {
                    "text": "As the runbook “Redis Failover → Region Evacuation” prescribes, "
                    "the cache was failed over.",
                    "evidence": ["R9"],
                }
            )
            if len(draft["root_causes"]) > 1:
                draft["root_causes"][1]["evidence"].append("E999")
        elif kind == "invent_time":
            draft["summary"].append(
                {
                    "text": "The pool was first exhausted at 03:12 UTC, long before anyone "
                    "noticed.",
                    "evidence": [first],
                }
            )
            draft["decision_records"].append(
                {
                    "text": "Decision: fail the database over at 13:50",
                    "event": first,
                    "rationale": "Agreed at 13:50, before the alert",
                    "evidence": [first],
                }
            )
            if draft["five_whys"]:
                draft["five_whys"][-1]["answer"] = (
                    "Because the change shipped at 13:05 was never load tested."
                )
        elif kind == "invent_number":
            draft["impact"].append(
                {"text": "Error rate peaked at 47% and 12,000 users were affected.", "evidence": []}
            )
            draft["root_causes"][0]["text"] += " under 9000 req/s"
        elif kind == "invent_region":
            draft["root_causes"].insert(
                0,
                {
                    "text": "A network partition in eu-west-1 isolated the primary database",
                    "category": "external",
                    "kind": "technical",
                    "evidence": [first],
                },
            )
            draft["summary"].append(
                {"text": "Clients in ap-southeast-2 were affected as well.", "evidence": [first]}
            )
