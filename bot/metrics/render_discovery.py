"""What `/metrics discover` shows, per server: the services, and per check each family
read (metric, labels, unit, convention) and the services it serves, or what was looked
for and not found."""

from __future__ import annotations

from collections.abc import Sequence

from bot.metrics.bindings import Bindings, LatencyBinding, RequestsBinding, ResourceBinding
from bot.metrics.config import SloConfig
from bot.metrics.fleet import Fleet
from bot.metrics.models import objective_text
from bot.metrics.render import ts
from bot.metrics.slos import SLOTH_OBJECTIVE, SLOTH_RATIO

ALL_PINNED = {"service_label", "services", "requests", "latency", "db", "cpu", "memory", "up"}


def _names(services: Sequence[str], limit: int = 20) -> str:
    more = f" and {len(services) - limit} more" if len(services) > limit else ""
    return ", ".join(services[:limit]) + more


def _serves(b: Bindings, family: RequestsBinding | LatencyBinding | ResourceBinding) -> str:
    """` — for 3 services: a, b, c` when a family serves only some services."""
    if family.services is None or set(family.services) >= set(b.services):
        return ""
    n = len(family.services)
    return f" — for {n} service{'s' if n != 1 else ''}: {_names(family.services, 8)}"


def _uncovered(
    b: Bindings, covered: Sequence[RequestsBinding | LatencyBinding | ResourceBinding]
) -> list[str]:
    left = [s for s in b.services if not any(f.serves(s) for f in covered)]
    return left if covered else []


def render_discovery(b: Bindings) -> str:
    """One server's bindings."""
    lines: list[str] = []
    labels = list(dict.fromkeys(lbl for f in (*b.requests, *b.latency) if (lbl := b.label_of(f))))
    if b.service_label is None:
        lines.append(f"Service label: not found — {b.missing.get('services', '')}".rstrip(" —"))
    else:
        shown = labels if len(labels) > 1 else [b.service_label]
        word = "labels" if len(shown) > 1 else "label"
        count = f"{len(b.services)} services"
        lines.append(f"Service {word}: {', '.join(shown)} ({count}: {_names(b.services)})")
    rows: list[tuple[str, str]] = []
    for r in b.requests:
        by = f" by {b.label_of(r)}" if b.label_of(r) else ""
        text = f"{r.metric}{by}; errors where {r.error_selector} ({r.convention})"
        rows.append(("requests", text + _serves(b, r)))
    if not b.requests:
        rows.append(("requests", f"not found: {b.missing.get('requests', 'no request counter')}"))
    for lat in b.latency:
        by = f" by {b.label_of(lat)}" if b.label_of(lat) else ""
        what = "P99 of histogram" if lat.kind == "histogram" else 'summary quantile="0.99"'
        unit = f"unit {lat.unit} (from the {lat.unit_from}), shown in ms"
        rows.append(
            ("latency", f"{lat.metric}{by}: {what}; {unit} ({lat.convention})" + _serves(b, lat))
        )
    if not b.latency:
        rows.append(("latency", f"not found: {b.missing.get('latency', '')}"))
    for p in b.pools:
        parts = [f"{p.active} against {p.max or 'pool_size from the config'}"]
        if p.waiting:
            parts.append(f"waiting {p.waiting}")
        if p.pool_label:
            parts.append(f"pool named by {p.pool_label}")
        if p.service_label:
            parts.append(f"tied to services by {p.service_label}")
        rows.append(("db pool", f"{'; '.join(parts)} ({p.kind})"))
    if not b.pools:
        rows.append(("db pool", f"not found: {b.missing.get('db', '')}"))
    for kind in ("cpu", "memory"):
        found = b.cpu if kind == "cpu" else b.memory
        for res in found:
            limit = f" against {res.limit}{{{res.limit_filter}}}" if res.limit else ""
            if res.limit and not res.limit_filter:
                limit = f" against {res.limit}"
            usage = f"{res.usage}{{{res.usage_filter}}}" if res.usage_filter else res.usage
            rows.append(
                (kind, f"{usage}{limit} by {res.key_label} ({res.source})" + _serves(b, res))
            )
        if not found:
            rows.append((kind, f"not found: {b.missing.get(kind, '')}"))
        elif left := _uncovered(b, found):
            rows.append((kind, f"none for {len(left)} services: {_names(left, 8)}"))
    for up in b.up:
        rows.append(("up", f"{up.metric} by {up.key_label}" + _serves(b, up)))  # type: ignore[arg-type]
    if not b.up:
        rows.append(("up", f"not found: {b.missing.get('up', '')}"))
    for slo in b.slos:
        if slo.kind == "sloth":
            what = f"Sloth's recording rules ({SLOTH_RATIO}<window>, {SLOTH_OBJECTIVE})"
        else:
            what = f"Pyrra's recording rules (<metric>:burnrate<window>) by {slo.service_label}"
        rows.append(("slos", f"{what} for {len(slo.services)}: {_names(slo.services, 8)}"))
    width = max(len(name) for name, _ in rows)
    lines += [f"  {name.ljust(width)}  {text}" for name, text in rows]
    lines += [f"Note: {note}." for note in b.notes]
    if b.pinned:
        lines.append(f"Pinned by METRICS_CONFIG: {', '.join(b.pinned)}.")
    if b.discovered_at is not None and set(b.pinned) != ALL_PINNED:
        lines.append(f"Discovered at {ts(b.discovered_at)} in {b.seconds * 1000:.0f} ms.")
    return "\n".join(lines)


def render_fleet_discovery(fleet: Fleet, slos: dict[str, SloConfig] | None = None) -> str:
    """Every server's bindings; a server that could not be asked is named with why; and
    the SLOs METRICS_CONFIG gives (which win over recorded ones)."""
    text = _fleet(fleet)
    if slos:
        given = ", ".join(
            f"{name} ({objective_text(c.objective / 100)} over {c.window})"
            for name, c in sorted(slos.items())
        )
        text += f"\nSLOs from METRICS_CONFIG: {given}."
    return text


def _fleet(fleet: Fleet) -> str:
    if not fleet.several:
        member = fleet.members[0]
        if member.bindings is None:
            return f"Prometheus could not be asked: {member.down}"
        return render_discovery(member.bindings)
    blocks: list[str] = []
    for m in fleet.members:
        if m.bindings is None:
            blocks.append(f"Prometheus {m.name} could not be asked: {m.down}.")
        else:
            blocks.append(f"Prometheus {m.name}:\n{render_discovery(m.bindings)}")
    sourced = [s for s in fleet.services if "@" in s]
    if sourced:
        blocks.append(f"On several servers, so shown with their server: {_names(sourced)}.")
    return "\n\n".join(blocks)
