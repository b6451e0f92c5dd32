"""pgbouncer_exporter: server connections in use and clients waiting per pool (`database`),
against each database's pool_size (there the database is in `name`)."""

from bot.metrics.conventions.table import Convention, Pool

CONVENTION = Convention(
    name="pgbouncer_exporter",
    pools=(
        Pool(
            "pgbouncer_pools_server_active_connections",
            "pgbouncer_databases_pool_size",
            "pgbouncer_pools_client_waiting_connections",
            ("database",),
            ("name",),
        ),
    ),
)
