"""The Prometheus client libraries' usual HTTP names (Go's promhttp examples, Python's
prometheus_client, most web-framework instrumentations): a `_total` request counter with
the code in `status`, `code` or `status_code`, and a duration histogram or summary in
seconds."""

from bot.metrics.conventions.table import Convention, Latency, Requests, Status

CONVENTION = Convention(
    name="Prometheus client",
    requests=(
        Requests(
            "http_requests_total",
            (Status("status"), Status("code"), Status("status_code")),
            "http_request_duration_seconds_bucket",
        ),
        Requests(
            "http_server_requests_total",
            (Status("code"), Status("status")),
            "http_server_request_duration_seconds_bucket",
        ),
    ),
    latency=(
        Latency("http_request_duration_seconds_bucket"),
        Latency("http_request_duration_seconds", kind="summary"),
    ),
)
