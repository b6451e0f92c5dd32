"""`python -m bench.serve_without_redis_io`: `incident-bot serve` whose acknowledged writes
never reach Redis (each script is answered at once, in the process, as if stored). Not a
way to run the bot: it stores nothing. The ack benches start it beside the real `serve`
to split the ack's cost into the bot's own path and the Redis round trip before the ack
(bench/bench_scale.py). Everything else (parsing, checks, the store's Python, the
middlewares, logging) runs as in `serve`."""

from __future__ import annotations

import sys
from typing import Any

from bot.store import batching


async def _answer_at_once(self: batching.ScriptBatch, batch: list[Any]) -> None:
    for pending in batch:  # as if Redis had run each script: 0 for each reply
        pending.future.set_result(([0] * len(pending.commands), None))


def main() -> None:
    batching.ScriptBatch._send = _answer_at_once  # type: ignore[method-assign]
    from bot.cli import main as cli

    sys.argv = ["incident-bot", "serve"]
    cli()


if __name__ == "__main__":
    main()
