"""Bring a database's schema up to date with Piccolo's migrations.

Every command creates the schema when it is missing (CONTRACT.md). The common case,
an up-to-date schema, costs one query on our own connection. Piccolo's migration
runner finds its engine through a module-level configuration that it caches per
process, so it runs in a child process with the database URL in its environment:
that keeps one process free to work with several databases (tests do, on SQLite and
PostgreSQL).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rtbook.core.db import Connection, Database
from rtbook.core.errors import ConfigError
from rtbook.core.settings import DatabaseURL


def migration_ids() -> dict[str, set[str]]:
    """The migration ids each Piccolo app ships, by app name."""
    import rtbook_migrations.core as core

    found: dict[str, set[str]] = {}
    for app, package in (("core", core),):
        folder = Path(package.__file__).parent
        ids = set()
        for path in folder.glob("*.py"):
            if path.name.startswith("_"):
                continue
            for line in path.read_text().splitlines():
                if line.startswith("ID = "):
                    ids.add(line.split("=", 1)[1].strip().strip("\"'"))
                    break
        found[app] = ids
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


async def schema_is_current(db: Database) -> bool:
    applied = await db.read(_applied)
    if applied is None:
        return False
    return all((app, mid) in applied for app, ids in migration_ids().items() for mid in ids)


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


async def ensure_schema(db: Database, url: DatabaseURL) -> bool:
    """Create or update the schema if needed; True when migrations ran."""
    if await schema_is_current(db):
        return False
    run_migrations(url)
    return True
