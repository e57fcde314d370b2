"""Composite indexes and unique keys that Piccolo columns cannot declare.

Written in the SQL both SQLite and PostgreSQL accept.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-22T13:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite indexes and unique keys"

STATEMENTS = [
    # The ward book: one RT's residents by status, in name order (cursor paging).
    "CREATE INDEX IF NOT EXISTS resident_rt_status_name ON resident (rt_code, status, name, nik)",
    # The idempotency key of completed services.
    "CREATE UNIQUE INDEX IF NOT EXISTS service_record_source_external_id"
    " ON service_record (source, external_id)",
    # One sequence per city; an RT's feed is read in sequence order.
    "CREATE UNIQUE INDEX IF NOT EXISTS event_city_seq ON event (city_code, seq)",
    "CREATE INDEX IF NOT EXISTS event_rt_seq ON event (rt_code, seq)",
    # Monthly books recompute from the history by event date.
    "CREATE INDEX IF NOT EXISTS resident_change_city_date"
    " ON resident_change (city_code, event_date)",
    "CREATE UNIQUE INDEX IF NOT EXISTS user_rt_user_rt ON user_rt (user_id, rt_code)",
    "CREATE UNIQUE INDEX IF NOT EXISTS user_area_user_region ON user_area (user_id, region_code)",
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
