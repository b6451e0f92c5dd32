"""`python -m bot.docs [--check]`: rewrite the generated pages under docs/ (see bot/docs)."""

from __future__ import annotations

import sys

from bot.docs import BLOCKS, PAGES, REGENERATE, ROOT, stale, write


def main(argv: list[str]) -> int:
    if not (ROOT / "pyproject.toml").exists():
        print(f"bot.docs: {ROOT} is not a checkout of the repository; run it from one")
        return 2
    if "--check" in argv:
        old = stale()
        for page in old:
            print(f"{page} is stale: run `{REGENERATE}`")
        return 1 if old else 0
    written = write()
    for name in dict.fromkeys([*PAGES, *(name for name, _ in BLOCKS)]):
        print(f"{name}: {'written' if name in written else 'up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
