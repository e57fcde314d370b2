"""Unique keys and indexes of the notification hub.

Written in the SQL both SQLite and PostgreSQL accept.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-22T15:29:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "notification hub: unique keys"

STATEMENTS = [
    "CREATE UNIQUE INDEX IF NOT EXISTS delivery_event_user_channel"
    " ON delivery (event_id, user_id, channel)",
    "CREATE INDEX IF NOT EXISTS delivery_due ON delivery (status, next_attempt_at)",
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
