"""Unique key of the feed read markers: one per reader and RT (upserted).

Written in the SQL both SQLite and PostgreSQL accept.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-25T16:31:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "feed read markers: unique key"

STATEMENTS = [
    "CREATE UNIQUE INDEX IF NOT EXISTS feed_read_user_rt ON feed_read (user_id, rt_code)",
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
