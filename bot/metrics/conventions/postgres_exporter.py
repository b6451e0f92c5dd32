"""postgres_exporter: backends per database and state from pg_stat_activity, against the
server's max_connections setting (no waiters: Postgres has no queue of its own)."""

from bot.metrics.conventions.table import Convention, Pool

CONVENTION = Convention(
    name="postgres_exporter",
    pools=(
        Pool(
            "pg_stat_activity_count",
            "pg_settings_max_connections",
            None,
            ("server", "instance"),
        ),
    ),
)
