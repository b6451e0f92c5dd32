"""OpenTelemetry semantic conventions for HTTP servers, as the OTel Prometheus exporter
writes them (the service's `service.name` lands in `job`).

Since semconv 1.20 (stable HTTP conventions): `http.server.request.duration`, a histogram
in seconds, with `http.response.status_code`. Before it: `http.server.duration` in
milliseconds (or seconds when an SDK was configured so) with `http.status_code`.
"""

from bot.metrics.conventions.table import Convention, Latency, Requests, Status

OLD = "OpenTelemetry (semconv before 1.20)"

CONVENTION = Convention(
    name="OpenTelemetry",
    requests=(
        Requests(
            "http_server_request_duration_seconds_count",
            (Status("http_response_status_code"),),
            "http_server_request_duration_seconds_bucket",
        ),
        Requests(
            "http_server_duration_milliseconds_count",
            (Status("http_status_code"),),
            "http_server_duration_milliseconds_bucket",
            name=OLD,
        ),
        Requests(
            "http_server_duration_seconds_count",
            (Status("http_status_code"),),
            "http_server_duration_seconds_bucket",
            name=OLD,
        ),
    ),
    latency=(
        Latency("http_server_request_duration_seconds_bucket"),
        Latency("http_server_duration_milliseconds_bucket", name=OLD),
        Latency("http_server_duration_seconds_bucket", name=OLD),
    ),
)
