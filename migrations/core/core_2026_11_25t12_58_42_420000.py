"""Unique key of the daily-hook checkpoints, and the index the digest reads by.

Written in the SQL both SQLite and PostgreSQL accept.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-25T12:58:42:420000"
VERSION = "1.38.0"
DESCRIPTION = "daily hook and digest: unique keys"

STATEMENTS = [
    "CREATE UNIQUE INDEX IF NOT EXISTS daily_checkpoint_plugin_city"
    " ON daily_checkpoint (plugin, city_code)",
    "CREATE INDEX IF NOT EXISTS delivery_city_status_created"
    " ON delivery (city_code, status, created_at)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        assert engine is not None
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
