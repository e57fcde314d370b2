"""A plugin's own tables: its Piccolo app is migrated by `rtbook migrate` with the core."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rtbook.core.db import Database
from rtbook.core.plugins.registry import PluginRegistry
from rtbook.core.schema import migration_ids, schema_is_current

MIGRATION = """
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-22T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "tables_visit"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="tables", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        await engine_finder().run_ddl(
            "CREATE TABLE tables_visit (id BIGINT PRIMARY KEY, note TEXT NOT NULL)"
        )

    manager.add_raw(run)
    return manager
"""

PLUGIN = """
from pathlib import Path

import rtbook
from piccolo.conf.apps import AppConfig

APP_CONFIG = AppConfig(
    app_name="tables",
    migrations_folder_path=str(Path(__file__).parent / "tables_migrations"),
    table_classes=[],
    migration_dependencies=[],
    commands=[],
)


@rtbook.hookimpl
def rtbook_piccolo_apps():
    return ["rtbook_tables_plugin"]
"""


@pytest.fixture
def tables_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A plugin with one table, installed the way pip would (module + dist-info)."""
    root = tmp_path / "site"
    (root / "tables_migrations").mkdir(parents=True)
    (root / "tables_migrations" / "__init__.py").write_text("")
    (root / "tables_migrations" / "tables_2026_11_22t15_00_00_000000.py").write_text(MIGRATION)
    (root / "rtbook_tables_plugin.py").write_text(textwrap.dedent(PLUGIN))
    info = root / "rtbook_tables_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: rtbook-tables-plugin\nVersion: 0.1\n"
    )
    (info / "entry_points.txt").write_text("[rtbook]\ntables = rtbook_tables_plugin\n")
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("PYTHONPATH", str(root))
    return root


async def _has_visit_table(db: Database) -> bool:
    async def unit(conn):
        if conn.dialect == "sqlite":
            return await conn.fetchval(
                "SELECT count(*) FROM sqlite_master WHERE name = 'tables_visit'"
            )
        return await conn.fetchval(
            "SELECT count(*) FROM pg_tables WHERE tablename = 'tables_visit'"
        )

    return bool(await db.read(unit))


async def test_rtbook_migrate_creates_a_plugins_tables(tables_plugin, db_env, db) -> None:
    registry = PluginRegistry.load()
    assert "tables" in registry.names()
    assert migration_ids(registry)["tables"] == {"2026-11-22T15:00:00:000000"}
    # the core schema is there, the plugin's is not yet
    assert await schema_is_current(db)
    assert not await schema_is_current(db, registry)
    assert not await _has_visit_table(db)

    migrate = [sys.executable, "-m", "rtbook.cli", "migrate"]
    done = subprocess.run(migrate, env=dict(os.environ), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert await _has_visit_table(db)
    assert await schema_is_current(db, registry)

    again = subprocess.run(migrate, env=dict(os.environ), capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    await db.write(lambda c: c.execute("INSERT INTO tables_visit (id, note) VALUES (1, 'x')"))
