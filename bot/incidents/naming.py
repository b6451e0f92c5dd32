"""War-room channel names: `inc-YYYYMMDD-<slug>`, cut at a word, within Slack's 80 characters."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

SLUG_MAX = 40


def slugify(title: str, limit: int = SLUG_MAX) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_title.lower())
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > limit:
            break
        slug = candidate
    if not slug and words:
        slug = words[0][:limit]
    return slug or "incident"


def channel_name(title: str, declared_at: datetime, attempt: int = 1) -> str:
    base = f"inc-{declared_at:%Y%m%d}-{slugify(title)}"
    return base if attempt == 1 else f"{base}-{attempt}"
