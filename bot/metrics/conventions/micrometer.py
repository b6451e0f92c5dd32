"""Micrometer (Spring Boot Actuator's Prometheus endpoint): `http.server.requests` as a
histogram (or a summary with published percentiles) in seconds, tagged `status` (the
code) and `outcome` (SUCCESS, CLIENT_ERROR, SERVER_ERROR, …)."""

from bot.metrics.conventions.table import SERVER_ERROR, Convention, Latency, Requests, Status

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
)
