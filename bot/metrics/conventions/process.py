"""The client libraries' standard process metrics: CPU seconds (shown as a percent of one
core) and resident memory (no limit known, shown in MiB)."""

from bot.metrics.conventions.table import Convention, Resource

CONVENTION = Convention(
    name="process metrics",
    cpu=(Resource("process_cpu_seconds_total", "counter", name="process metrics (% of one core)"),),
    memory=(
        Resource("process_resident_memory_bytes", "gauge", name="process metrics (no limit known)"),
    ),
)
