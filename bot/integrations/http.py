"""One HTTP client for every integration: retries 429 and 5xx (and connection errors) with
backoff that honours Retry-After, never retries another 4xx, and never logs a credential."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import structlog

from bot.errors import IntegrationError

if TYPE_CHECKING:  # httpx and tenacity load with the first request, not at start
    import httpx
    from tenacity import RetryCallState

log = structlog.get_logger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 30.0


class _Retryable(Exception):
    def __init__(self, status: int | None, retry_after: float | None, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.retry_after = retry_after


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    value = headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        at = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, min(at - (now if now is not None else time.time()), MAX_RETRY_AFTER))


class ApiClient:
    """A small wrapper over httpx.AsyncClient for one product's API."""

    def __init__(
        self,
        product: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        timeout: float = 5.0,
        attempts: int = 3,
        budget: float = 8.0,
        backoff: float = 0.5,
        throttled: Callable[[httpx.Response], bool] | None = None,
    ) -> None:
        self.product = product
        # products that signal throttling in the body (Linear's RATELIMITED) say so here
        self.throttled = throttled
        self.attempts = attempts
        self.budget = budget
        self.backoff = backoff
        self._options: dict[str, Any] = {
            "base_url": base_url.rstrip("/") + "/", "headers": dict(headers or {}),
            "auth": auth, "timeout": timeout,
        }
        self._http: httpx.AsyncClient | None = None

    @property
    def _client(self) -> httpx.AsyncClient:
        """httpx's client, imported and built by the first request."""
        if self._http is None:
            import httpx

            self._http = httpx.AsyncClient(**self._options)
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    def _wait(self, state: RetryCallState) -> float:
        """Retry-After when the API gave one, else exponential backoff; never past the
        budget (a person is waiting; the worker's outbox retries the rest later)."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retryable) and exc.retry_after is not None:
            wait = exc.retry_after
        else:
            wait = float(self.backoff * (2 ** (state.attempt_number - 1)))
        left = self.budget - (state.seconds_since_start or 0.0)
        return max(0.0, min(wait, left))

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200, 201, 202, 204),
        data: Mapping[str, str] | None = None,
        content: bytes | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request, retried as the module says; raises IntegrationError. Besides
        JSON: a form (`data`), raw bytes (`content`, e.g. a multipart/related body) or
        multipart files; `headers` and `auth` for this request only (a token endpoint)."""
        from tenacity import (
            AsyncRetrying,
            retry_if_exception,
            stop_after_attempt,
            stop_after_delay,
        )

        extra: dict[str, Any] = {
            k: v for k, v in (("data", data), ("content", content), ("files", files),
                              ("headers", headers), ("auth", auth)) if v is not None
        }
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception(lambda e: isinstance(e, _Retryable)),
                stop=stop_after_attempt(self.attempts) | stop_after_delay(self.budget),
                wait=self._wait,
                reraise=True,
            ):
                with attempt:
                    return await self._once(
                        method, path, json=json, params=params, ok=ok, extra=extra
                    )
        except _Retryable as exc:
            what = f"HTTP {exc.status}" if exc.status else str(exc)
            raise IntegrationError(
                self.product,
                f"not reachable after {self.attempts} tries ({what})",
                status=exc.status,
                retryable=True,
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(
        self,
        method: str,
        path: str,
        *,
        json: Any,
        params: Mapping[str, str] | None,
        ok: tuple[int, ...],
        extra: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        import httpx

        try:
            response = await self._client.request(
                method, path, json=json, params=params, **(extra or {})
            )
        except httpx.TimeoutException:
            log.warning("integration_timeout", product=self.product, path=path)
            raise _Retryable(None, None, "timed out") from None
        except httpx.TransportError as exc:
            log.warning("integration_unreachable", product=self.product, error=type(exc).__name__)
            raise _Retryable(None, None, "connection failed") from None
        throttled = self.throttled is not None and self.throttled(response)
        if response.status_code in ok and not throttled:
            return response
        if response.status_code in RETRY_STATUSES or _secondary_rate_limit(response) or throttled:
            log.warning(
                "integration_retry", product=self.product, path=path, status=response.status_code
            )
            raise _Retryable(
                response.status_code, retry_after_seconds(response.headers), "throttled or down"
            )
        raise IntegrationError(
            self.product,
            _refusal(response),
            status=response.status_code,
            retryable=False,
        )


def _secondary_rate_limit(response: httpx.Response) -> bool:
    """GitHub answers a rate limit with 403 and x-ratelimit-remaining: 0 or Retry-After."""
    return response.status_code == 403 and (
        "retry-after" in response.headers or response.headers.get("x-ratelimit-remaining") == "0"
    )


def _refusal(response: httpx.Response) -> str:
    if response.status_code in (401, 403):
        return f"the credentials were refused (HTTP {response.status_code}); check the settings"
    if response.status_code == 404:
        return "not found (HTTP 404)"
    return f"the request was refused (HTTP {response.status_code})"
