"""An open-loop HTTP load generator: `python -m bench.openloop URL RATE SECONDS [Header:
value …]`. Requests are due at a fixed arrival rate whatever the server does, and each
one's latency is counted from when it was due, not from when a free connection sent it, so
a stall shows in the percentiles instead of slowing the sender (no coordinated omission,
unlike a paced closed loop). Keep-alive HTTP/1.1 over a pool of connections; prints one
JSON line. Run it in its own process, so its work is not the server's."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from urllib.parse import urlsplit

CONNECTIONS = 64


async def run(url: str, rate: float, seconds: float, headers: dict[str, str],
              connections: int = CONNECTIONS) -> dict[str, object]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = (f"GET {parts.path or '/'}{'?' + parts.query if parts.query else ''} HTTP/1.1\r\n"
               f"Host: {parts.netloc}\r\nUser-Agent: bench-openloop\r\n"
               + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode()
    due: asyncio.Queue[float | None] = asyncio.Queue()
    latencies: list[float] = []
    dues: list[float] = []
    statuses: Counter[str] = Counter()
    sizes: list[int] = []

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        while (at := await due.get()) is not None:
            try:
                writer.write(request)
                status = (await reader.readline()).split(b" ", 2)[1].decode()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                latencies.append(time.perf_counter() - at)
                dues.append(at)
                statuses[status] += 1
                sizes.append(len(body))
            except (OSError, asyncio.IncompleteReadError, IndexError) as exc:
                statuses[type(exc).__name__] += 1
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
        writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    total = int(rate * seconds)
    start = time.perf_counter() + 0.05
    sent = 0
    while sent < total:
        now = time.perf_counter()
        while sent < total and start + sent / rate <= now:
            due.put_nowait(start + sent / rate)
            sent += 1
        await asyncio.sleep(0.0005)
    for _ in workers:
        due.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - start
    ordered = sorted(latencies)
    slow = [round(due - start, 1) for due, lat in zip(dues, latencies, strict=True)
            if lat > 0.05]

    def pct(p: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(p * len(ordered)))], 2) \
            if ordered else float("nan")

    return {"requests": total, "answered": len(latencies), "rate": round(len(latencies) /
            elapsed, 1), "p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99),
            "max_ms": round(1000 * ordered[-1], 2) if ordered else None,
            "statuses": dict(statuses), "body_bytes": max(sizes, default=0),
            # when the requests slower than 50 ms were due (s from the start), at most 20
            "slow_at_s": sorted(set(slow))[:20], "slow": len(slow),
            "errors": total - statuses.get("200", 0)}


def main() -> None:
    url, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    headers = dict(h.split(": ", 1) for h in sys.argv[4:])
    print(json.dumps(asyncio.run(run(url, rate, seconds, headers))), flush=True)


if __name__ == "__main__":
    main()
