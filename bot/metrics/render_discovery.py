"""What `/metrics discover` shows: per check the family, labels and unit used, or what was
looked for and not found."""

from __future__ import annotations

from bot.metrics.bindings import Bindings
from bot.metrics.render import ts


def render_discovery(b: Bindings) -> str:
    """What `/metrics discover` shows: the service label, the services, and per check the
    metric, labels and unit used, or what was looked for and not found."""
    lines: list[str] = []
    if b.service_label is None:
        lines.append(f"Service label: not found — {b.missing.get('services', '')}".rstrip(" —"))
    else:
        names = ", ".join(b.services[:20])
        more = f" and {len(b.services) - 20} more" if len(b.services) > 20 else ""
        count = f"{len(b.services)} services"
        lines.append(f"Service label: {b.service_label} ({count}: {names}{more})")
    rows: list[tuple[str, str]] = []
    by = f" by {b.service_label}" if b.service_label else ""
    r = b.requests
    rows.append(
        (
            "requests",
            f"{r.metric}{by}; errors where {r.error_selector} ({r.convention})"
            if r
            else f"not found: {b.missing.get('requests', 'no request counter')}",
        )
    )
    lat = b.latency
    if lat is not None:
        what = "P99 of histogram" if lat.kind == "histogram" else 'summary quantile="0.99"'
        unit = f"unit {lat.unit} (from the {lat.unit_from}), shown in ms"
        rows.append(("latency", f"{lat.metric}{by}: {what}; {unit} ({lat.convention})"))
    else:
        rows.append(("latency", f"not found: {b.missing.get('latency', '')}"))
    if b.pools:
        for p in b.pools:
            parts = [f"{p.active} against {p.max or 'pool_size from the config'}"]
            if p.waiting:
                parts.append(f"waiting {p.waiting}")
            if p.pool_label:
                parts.append(f"pool named by {p.pool_label}")
            if p.service_label:
                parts.append(f"tied to services by {p.service_label}")
            rows.append(("db pool", f"{'; '.join(parts)} ({p.kind})"))
    else:
        rows.append(("db pool", f"not found: {b.missing.get('db', '')}"))
    for kind, res in (("cpu", b.cpu), ("memory", b.memory)):
        if res is None:
            rows.append((kind, f"not found: {b.missing.get(kind, '')}"))
            continue
        limit = f" against {res.limit}{{{res.limit_filter}}}" if res.limit else ""
        if res.limit and not res.limit_filter:
            limit = f" against {res.limit}"
        rows.append((kind, f"{res.usage}{limit} by {res.key_label} ({res.source})"))
    up = b.up
    rows.append(
        ("up", f"{up.metric} by {up.key_label}" if up else f"not found: {b.missing.get('up', '')}")
    )
    width = max(len(name) for name, _ in rows)
    lines += [f"  {name.ljust(width)}  {text}" for name, text in rows]
    if b.pinned:
        lines.append(f"Pinned by METRICS_CONFIG: {', '.join(b.pinned)}.")
    if b.discovered_at is not None and set(b.pinned) != {
        "service_label", "services", "requests", "latency", "db", "cpu", "memory", "up"
    }:
        lines.append(f"Discovered at {ts(b.discovered_at)} in {b.seconds * 1000:.0f} ms.")
    return "\n".join(lines)
