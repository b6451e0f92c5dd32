"""The names of seed 000's investigation: a latency histogram (or summary) in
milliseconds, `db_connections_active/_waiting/_max` gauges, and CPU and memory as ready
0..1 ratios (`container_cpu_usage_ratio`, `container_memory_usage_ratio`). Requests use the
client libraries' `http_requests_total`."""

from bot.metrics.conventions.table import Convention, Latency, Pool, Resource

CLIENT = "Prometheus client"

CONVENTION = Convention(
    name="seed 000",
    latency=(
        Latency("http_request_duration_milliseconds_bucket", name=CLIENT),
        Latency("http_request_duration_milliseconds", kind="summary", name=CLIENT),
    ),
    pools=(
        Pool(
            "db_connections_active",
            "db_connections_max",
            "db_connections_waiting",
            ("database", "pool", "db", "datname"),
            name="db_connections gauges",
        ),
    ),
    cpu=(Resource("container_cpu_usage_ratio", "ratio", name="ratio gauge"),),
    memory=(Resource("container_memory_usage_ratio", "ratio", name="ratio gauge"),),
)
