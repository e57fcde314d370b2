"""Bring a database's schema up to date with Piccolo's migrations.

Every command creates the schema when it is missing (CONTRACT.md). The common case,
an up-to-date schema, costs one query on our own connection. Piccolo's migration
runner finds its engine through a module-level configuration that it caches per
process, so it runs in a child process with the database URL in its environment:
that keeps one process free to work with several databases (tests do, on SQLite and
PostgreSQL).
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

from rtbook.core.db import Connection, Database
from rtbook.core.errors import ConfigError
from rtbook.core.plugins.registry import PluginRegistry
from rtbook.core.settings import DatabaseURL

CORE_APP = "rtbook.core.piccolo_app"


def app_modules(plugins: PluginRegistry | None = None) -> list[str]:
    """The Piccolo app modules whose migrations make the schema: core and the plugins'
    (``rtbook_piccolo_apps``)."""
    return [CORE_APP, *(plugins.piccolo_apps() if plugins is not None else [])]


def migration_ids(plugins: PluginRegistry | None = None) -> dict[str, set[str]]:
    """The migration ids each Piccolo app ships, by app name."""
    found: dict[str, set[str]] = {}
    for module_name in app_modules(plugins):
        config = importlib.import_module(module_name).APP_CONFIG
        ids = set()
        for path in Path(config.migrations_folder_path).glob("*.py"):
            if path.name.startswith("_"):
                continue
            for line in path.read_text().splitlines():
                if line.startswith("ID = "):
                    ids.add(line.split("=", 1)[1].strip().strip("\"'"))
                    break
        found[config.app_name] = ids
    return found


async def _applied(conn: Connection) -> set[tuple[str, str]] | None:
    if conn.dialect == "sqlite":
        exists = await conn.fetchval(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migration'"
        )
    else:
        exists = await conn.fetchval("SELECT to_regclass('migration') IS NOT NULL")
    if not exists:
        return None
    rows = await conn.fetch("SELECT app_name, name FROM migration")
    return {(r[0], r[1]) for r in rows}


async def schema_is_current(db: Database, plugins: PluginRegistry | None = None) -> bool:
    applied = await db.read(_applied)
    if applied is None:
        return False
    return all((app, mid) in applied for app, ids in migration_ids(plugins).items() for mid in ids)


def run_migrations(url: DatabaseURL) -> None:
    """Apply every pending migration (in a child process, see the module docstring)."""
    env = dict(os.environ, RTBOOK_DATABASE_URL=url.raw, PICCOLO_CONF="rtbook.piccolo_conf")
    if url.sqlite_path is not None:
        url.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [sys.executable, "-m", "rtbook.core.migrate_runner"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr or proc.stdout).strip().splitlines() if ln]
        reason = lines[-1] if lines else f"exit code {proc.returncode}"
        raise ConfigError(f"migrasi skema gagal (schema migration failed): {reason}")


async def ensure_schema(
    db: Database, url: DatabaseURL, plugins: PluginRegistry | None = None
) -> bool:
    """Create or update the schema if needed; True when migrations ran. With
    ``plugins``, their own tables count too (the child process finds the same plugins
    through rtbook.piccolo_conf)."""
    if await schema_is_current(db, plugins):
        return False
    run_migrations(url)
    return True
