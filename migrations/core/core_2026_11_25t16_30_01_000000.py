"""Unique key of the notice attachments: one file of a name per city and notice key
(stored with ON CONFLICT DO NOTHING, so two workers never store a file twice).

Written in the SQL both SQLite and PostgreSQL accept.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-25T16:30:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "notice attachments: unique key"

STATEMENTS = [
    "CREATE UNIQUE INDEX IF NOT EXISTS notice_attachment_key_file"
    " ON notice_attachment (city_code, notice_key, filename)",
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
