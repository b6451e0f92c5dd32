"""The Prometheus adapter: `MetricsSource` and its implementation over prometheus-api-client.

prometheus-api-client is synchronous, so every query runs in a worker thread
(`asyncio.to_thread`); the service runs a check's queries concurrently and bounds each
one with `asyncio.wait_for`.
"""

from __future__ import annotations

import ast
import asyncio
import json
import math
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.metrics.backend import InstantResult
from bot.metrics.errors import MetricsQueryError, MetricsUnavailable
from bot.metrics.models import InstantSample, RangeSeries

if TYPE_CHECKING:
    import requests
    from prometheus_api_client import PrometheusConnect

_STATUS = re.compile(r"^HTTP Status Code (\d+) \((.*)\)$", re.S)


def prometheus_error_message(exc: Exception) -> tuple[int | None, str]:
    """(HTTP status, Prometheus's `error` text) from a PrometheusApiClientException."""
    text = str(exc)
    m = _STATUS.match(text)
    if not m:
        return None, text
    status = int(m.group(1))
    body = m.group(2)
    try:
        raw = ast.literal_eval(body)
        decoded = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        payload = json.loads(decoded)
        if isinstance(payload, dict) and payload.get("error"):
            return status, str(payload["error"])
        return status, decoded
    except (ValueError, SyntaxError, TypeError):
        return status, body


def _float(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


# A check runs about a dozen queries at once; the default executor (cores + 4 threads)
# would queue some of them behind the others.
QUERY_THREADS = 24


class PrometheusSource:
    """MetricsSource (and CatalogSource) over a real Prometheus HTTP API."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        # requests and prometheus-api-client are imported and built by the first query (in
        # a query thread), so a process that never checks the metrics never loads them
        self._session: requests.Session | None = None
        self._adapter: requests.adapters.HTTPAdapter | None = None
        self._client: PrometheusConnect | None = None
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(QUERY_THREADS, thread_name_prefix="prometheus")

    def _http(self) -> requests.Session:
        with self._lock:
            if self._session is None:
                import requests

                # No retries: a check must answer fast, and a down Prometheus is reported,
                # not retried. trust_env=False: skip per-request proxy/netrc lookups (~15% of
                # the client's CPU).
                session = requests.Session()
                session.trust_env = False
                self._adapter = requests.adapters.HTTPAdapter(
                    pool_connections=4, pool_maxsize=QUERY_THREADS, max_retries=0
                )
                session.mount(self.url, self._adapter)
                self._session = session
            return self._session

    def _connect(self) -> PrometheusConnect:
        """prometheus-api-client's client over the same session."""
        session = self._http()
        with self._lock:
            if self._client is None:
                from prometheus_api_client import PrometheusConnect
                from urllib3.util.retry import Retry

                self._client = PrometheusConnect(
                    url=self.url, disable_ssl=True, retry=Retry(total=0), timeout=self.timeout,
                    session=session,
                )
                # after the client: it mounts its own adapter (10 connections) on the prefix
                assert self._adapter is not None
                session.mount(self.url, self._adapter)
            return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        elif self._session is not None:
            self._session.close()
        self._pool.shutdown(wait=False)

    async def _in_thread(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    # --- catalog (discovery) ---------------------------------------------------------

    def _get_sync(self, path: str, params: dict[str, str]) -> Any:
        import requests

        what = f"GET {path}"
        session = self._http()
        try:
            resp = session.get(
                f"{self.url}{path}", params=params, timeout=self.timeout, verify=False
            )
        except requests.Timeout as exc:
            raise MetricsUnavailable(f"timeout after {self.timeout:g}s") from exc
        except requests.ConnectionError as exc:
            raise MetricsUnavailable(f"Prometheus unreachable at {self.url}") from exc
        except requests.RequestException as exc:
            raise MetricsUnavailable(f"Prometheus request failed: {exc}") from exc
        try:
            body = resp.json()
        except ValueError:
            body = {}
        if resp.status_code != 200 or body.get("status") != "success":
            message = str(body.get("error") or resp.text[:200] or resp.reason)
            if 400 <= resp.status_code < 500:
                raise MetricsQueryError(message, promql=what)
            raise MetricsUnavailable(f"Prometheus answered {resp.status_code}: {message}")
        return body.get("data")

    @staticmethod
    def _range(start: datetime, end: datetime) -> dict[str, str]:
        return {"start": f"{start.timestamp():.3f}", "end": f"{end.timestamp():.3f}"}

    async def metric_names(self, start: datetime, end: datetime) -> list[str]:
        data = await self._in_thread(
            self._get_sync, "/api/v1/label/__name__/values", self._range(start, end)
        )
        return [str(n) for n in data or []]

    async def metadata(self) -> dict[str, list[dict[str, str]]]:
        data = await self._in_thread(self._get_sync, "/api/v1/metadata", {})
        if not isinstance(data, dict):
            return {}
        return {
            str(k): [{str(a): str(b) for a, b in m.items()} for m in v if isinstance(m, dict)]
            for k, v in data.items()
            if isinstance(v, list)
        }

    async def label_names(self, match: str, start: datetime, end: datetime) -> list[str]:
        params = {"match[]": match, **self._range(start, end)}
        data = await self._in_thread(self._get_sync, "/api/v1/labels", params)
        return [str(n) for n in data or []]

    async def label_values(
        self, label: str, match: str, start: datetime, end: datetime
    ) -> list[str]:
        params = {"match[]": match, **self._range(start, end)}
        data = await self._in_thread(self._get_sync, f"/api/v1/label/{label}/values", params)
        return [str(n) for n in data or []]

    async def rules(self) -> list[dict[str, Any]]:
        """Every rule the server evaluates (/api/v1/rules), flattened: name, type, query,
        labels. Empty where the store keeps no rules (VictoriaMetrics: vmalert has them)."""
        data = await self._in_thread(self._get_sync, "/api/v1/rules", {})
        groups = data.get("groups", []) if isinstance(data, dict) else []
        return [
            {
                "name": str(r.get("name", "")),
                "type": str(r.get("type", "")),
                "query": str(r.get("query", "")),
                "labels": {str(k): str(v) for k, v in (r.get("labels") or {}).items()},
            }
            for g in groups
            if isinstance(g, dict)
            for r in g.get("rules", [])
            if isinstance(r, dict)
        ]

    def _call(self, promql: str, method: str, *args: Any, **kwargs: Any) -> Any:
        import requests
        from prometheus_api_client.exceptions import PrometheusApiClientException

        try:
            return getattr(self._connect(), method)(*args, **kwargs)
        except PrometheusApiClientException as exc:
            status, message = prometheus_error_message(exc)
            if status is not None and 400 <= status < 500:
                raise MetricsQueryError(message, promql=promql) from exc
            if status == 503 and "timeout" not in message.lower():
                raise MetricsUnavailable(f"Prometheus unavailable: {message}") from exc
            raise MetricsQueryError(message, promql=promql) from exc
        except requests.Timeout as exc:
            raise MetricsUnavailable(f"timeout after {self.timeout:g}s") from exc
        except requests.ConnectionError as exc:
            raise MetricsUnavailable(f"Prometheus unreachable at {self.url}") from exc
        except requests.RequestException as exc:
            raise MetricsUnavailable(f"Prometheus request failed: {exc}") from exc

    def _instant_sync(self, promql: str, at: datetime | None) -> InstantResult:
        params = {"time": f"{at.timestamp():.3f}"} if at is not None else None
        data = self._call(promql, "custom_query", promql, params=params)
        return parse_instant(data)

    def _range_sync(
        self, promql: str, start: datetime, end: datetime, step: timedelta
    ) -> list[RangeSeries]:
        data = self._call(
            promql,
            "custom_query_range",
            promql,
            start_time=start,
            end_time=end,
            step=f"{step.total_seconds():g}s",
        )
        return [
            RangeSeries(
                labels=dict(item.get("metric", {})),
                points=[(float(ts), _float(v)) for ts, v in item.get("values", [])],
            )
            for item in data or []
        ]

    async def instant(self, promql: str, at: datetime | None = None) -> InstantResult:
        result: InstantResult = await self._in_thread(self._instant_sync, promql, at)
        return result

    async def range(
        self, promql: str, start: datetime, end: datetime, step: timedelta
    ) -> list[RangeSeries]:
        series: list[RangeSeries] = await self._in_thread(
            self._range_sync, promql, start, end, step
        )
        return series


def parse_instant(data: Any) -> InstantResult:
    """Turn the `result` of /api/v1/query (as prometheus-api-client returns it) into a model."""
    if not data:
        return InstantResult(result_type="vector", samples=[])
    if isinstance(data, list) and len(data) == 2 and not isinstance(data[0], dict):
        ts, raw = data
        value = _float(raw)
        if math.isnan(value) and str(raw).lower() != "nan":
            return InstantResult(result_type="string", samples=[], text=str(raw))
        return InstantResult(
            result_type="scalar",
            samples=[InstantSample(labels={}, value=value, timestamp=float(ts))],
        )
    samples: list[InstantSample] = []
    matrix = False
    for item in data:
        labels = dict(item.get("metric", {}))
        if "values" in item:
            matrix = True
            values = item["values"]
            ts, raw = values[-1] if values else (0.0, "NaN")
        else:
            ts, raw = item.get("value", (0.0, "NaN"))
        samples.append(InstantSample(labels=labels, value=_float(raw), timestamp=float(ts)))
    return InstantResult(result_type="matrix" if matrix else "vector", samples=samples)


def utc(dt: datetime) -> datetime:
    """Aware UTC datetime (naive input is taken as UTC)."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
