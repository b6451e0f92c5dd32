"""HikariCP through Micrometer: one set of gauges per pool, named by the `pool` tag."""

from bot.metrics.conventions.table import Convention, Pool

CONVENTION = Convention(
    name="HikariCP",
    pools=(
        Pool(
            "hikaricp_connections_active",
            "hikaricp_connections_max",
            "hikaricp_connections_pending",
            ("pool",),
        ),
    ),
)
