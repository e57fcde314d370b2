"""Unique keys of the plugin settings and the dispatch tables.

Written in the SQL both SQLite and PostgreSQL accept.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-22T14:35:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "plugin settings and dispatch: unique keys"

STATEMENTS = [
    "CREATE UNIQUE INDEX IF NOT EXISTS plugin_setting_city_plugin"
    " ON plugin_setting (city_code, plugin)",
    "CREATE UNIQUE INDEX IF NOT EXISTS dispatch_checkpoint_plugin_city"
    " ON dispatch_checkpoint (plugin, city_code)",
    "CREATE UNIQUE INDEX IF NOT EXISTS dispatch_failure_plugin_city_seq"
    " ON dispatch_failure (plugin, city_code, seq)",
    "CREATE INDEX IF NOT EXISTS dispatch_failure_due ON dispatch_failure (status, next_attempt_at)",
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
