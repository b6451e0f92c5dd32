"""What every stand-in shares: an aiohttp server in a background thread on a free port, a
record of every call, auth checked per product, and injected faults (429 with Retry-After,
5xx, a slow answer) for the next N calls."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError

Handler = Callable[[web.Request, Any], Awaitable[web.Response]]


class Strict(BaseModel):
    """Request bodies: an unknown field is a 400, as the real APIs answer."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class RecordedCall:
    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    body: Any
    status: int = 0


@dataclass
class Fault:
    status: int  # 429, 500, 503… or 0 for "only slow"
    retry_after: str | None = None
    delay: float = 0.0
    times: int = 1


@dataclass
class Standin:
    """Subclasses add routes in `routes()` and check credentials in `authorized()`."""

    name: str = "standin"
    host: str = "127.0.0.1"
    port: int = 0
    tls: bool = False  # serve https with a fresh self-signed certificate (see self_signed)
    calls: list[RecordedCall] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    # --- test controls ------------------------------------------------------------------

    def fail(
        self, status: int, *, times: int = 1, retry_after: str | None = None, delay: float = 0.0
    ) -> None:
        with self._lock:
            self.faults.append(Fault(status, retry_after, delay, times))

    def heal(self) -> None:
        """The API is back: drop the injected faults, keep what it holds."""
        with self._lock:
            self.faults.clear()

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.faults.clear()
        self.reset_state()

    def reset_state(self) -> None:
        """Subclasses forget the objects they hold."""

    def calls_to(self, method: str, path_prefix: str = "") -> list[RecordedCall]:
        return [
            c for c in self.calls
            if c.method == method and c.path.startswith(path_prefix) and 200 <= c.status < 300
        ]

    # --- what subclasses provide -------------------------------------------------------

    def routes(self) -> list[tuple[str, str, Handler]]:
        raise NotImplementedError

    def authorized(self, request: web.Request) -> bool:
        raise NotImplementedError

    def takes_raw(self, request: web.Request) -> bool:
        """Routes whose body is not JSON (a form, a multipart upload) get the raw bytes."""
        return False

    # --- serving ------------------------------------------------------------------------

    @staticmethod
    def error(status: int, message: str, **extra: Any) -> web.Response:
        return web.json_response({"message": message, **extra}, status=status)

    def _next_fault(self) -> Fault | None:
        with self._lock:
            if not self.faults:
                return None
            fault = self.faults[0]
            fault.times -= 1
            if fault.times <= 0:
                self.faults.pop(0)
            return fault

    def _wrap(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def serve(request: web.Request) -> web.Response:
            raw = await request.read()
            body: Any
            if self.takes_raw(request):
                body = raw
            else:
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
            call = RecordedCall(
                request.method, request.path, dict(request.headers), dict(request.query), body
            )
            with self._lock:
                self.calls.append(call)
            response = await self._answer(request, handler, body)
            call.status = response.status
            return response

        return serve

    async def _answer(self, request: web.Request, handler: Handler, body: Any) -> web.Response:
        fault = self._next_fault()
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status:
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                return web.json_response(
                    {"message": "injected failure"}, status=fault.status, headers=headers
                )
        if not self.authorized(request):
            return self.error(401, "unauthorized")
        if isinstance(body, str):
            return self.error(400, "the body is not JSON")
        try:
            return await handler(request, body)
        except ValidationError as exc:
            return self.error(400, "invalid request", errors=[e["msg"] for e in exc.errors()])

    def start(self) -> Standin:
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
            for method, path, handler in self.routes():
                app.router.add_route(method, path, self._wrap(handler))
            runner = web.AppRunner(app)
            loop.run_until_complete(runner.setup())
            context = self_signed(self.host) if self.tls else None
            loop.run_until_complete(
                web.TCPSite(runner, self.host, self.port, ssl_context=context).start()
            )
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name=f"{self.name}-standin", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError(f"the {self.name} stand-in did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop = None
        self._thread = None


def self_signed(host: str) -> ssl.SSLContext:
    """A server context with a throwaway certificate for `host` (clients that pin https,
    such as google-api-python-client's media uploads, can then reach a stand-in; they are
    told not to verify it)."""
    import datetime
    import ipaddress
    import tempfile

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    with tempfile.TemporaryDirectory() as folder:
        cert_path, key_path = f"{folder}/cert.pem", f"{folder}/key.pem"
        with open(cert_path, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(key_path, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_path, key_path)
    return context
