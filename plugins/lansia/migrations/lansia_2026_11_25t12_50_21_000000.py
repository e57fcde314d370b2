"""A dose number is recorded once per resident and vaccine (vaccine names compared
without case). Written in the SQL both SQLite and PostgreSQL accept."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-25T12:50:21:000000"
VERSION = "1.38.0"
DESCRIPTION = "lansia: one dose number per resident and vaccine"

STATEMENTS = [
    "CREATE UNIQUE INDEX IF NOT EXISTS lansia_dose_nik_vaccine_number"
    " ON lansia_dose (nik, lower(vaccine), dose_number)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="lansia", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        assert engine is not None
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
