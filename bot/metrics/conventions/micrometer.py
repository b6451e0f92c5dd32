"""Micrometer (Spring Boot Actuator's Prometheus endpoint).

- Requests: `http.server.requests` as a histogram (or a summary with published
  percentiles) in seconds, tagged `status` (the code) and `outcome` (SUCCESS,
  CLIENT_ERROR, SERVER_ERROR, …).
- CPU: `process_cpu_usage`, the JVM process's recent CPU use as a 0..1 gauge per
  instance (of the CPUs the JVM sees); the busiest instance counts.
- Memory: heap use, `jvm_memory_used_bytes{area="heap"}` summed over the memory pools,
  against `jvm_memory_max_bytes{area="heap"}` summed over the pools whose max is defined
  (a pool's max of -1 means undefined and is left out; in G1 only the old generation has
  one, and it is the heap's).
"""

from bot.metrics.conventions.table import (
    SERVER_ERROR,
    Convention,
    Latency,
    Requests,
    Resource,
    Status,
)

HEAP = 'area="heap"'

CONVENTION = Convention(
    name="Micrometer",
    requests=(
        Requests(
            "http_server_requests_seconds_count",
            (Status("status"), Status("outcome", SERVER_ERROR)),
            "http_server_requests_seconds_bucket",
        ),
    ),
    latency=(
        Latency("http_server_requests_seconds_bucket"),
        Latency("http_server_requests_seconds", kind="summary"),
    ),
    cpu=(Resource("process_cpu_usage", "ratio", name="Micrometer process_cpu_usage"),),
    memory=(
        Resource(
            "jvm_memory_used_bytes",
            "gauge",
            "jvm_memory_max_bytes",
            limit_filter=HEAP,
            usage_filter=HEAP,
            limit_skip="-1",
            name="Micrometer JVM heap",
        ),
    ),
)
