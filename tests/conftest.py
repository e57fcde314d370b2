"""Test fixtures: every storage test runs on SQLite and on PostgreSQL.

SQLite: a migrated template file is made once per run and copied for each test.
PostgreSQL: the server at RTBOOK_TEST_POSTGRES_URL (default: 127.0.0.1:5432, user
postgres, database ``test``) is reset and migrated once per run; each test starts from
truncated tables. With CI=true the server must be there; elsewhere, without a server,
PostgreSQL tests skip with the reason.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from rtbook.core.db import Database, make_database
from rtbook.core.schema import run_migrations
from rtbook.core.settings import DatabaseURL

REPO = Path(__file__).resolve().parent.parent
REGIONS_FILE = REPO.parent / "shared" / "data" / "wilayah" / "wilayah.csv"
POSTGRES_URL = os.environ.get(
    "RTBOOK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: the test is about SQLite itself")
    config.addinivalue_line("markers", "postgres_only: the test is about PostgreSQL itself")


@pytest.fixture(scope="session")
def regions_file() -> Path:
    if not REGIONS_FILE.exists():
        pytest.fail(f"region list missing: {REGIONS_FILE} (shared/ must sit beside the repo)")
    return REGIONS_FILE


def _migrate_core_only(url: DatabaseURL) -> None:
    """Templates hold the core schema only, whatever plugin a test has put on
    PYTHONPATH (test plugins reach child processes only that way)."""
    saved = os.environ.pop("PYTHONPATH", None)
    try:
        run_migrations(url)
    finally:
        if saved is not None:
            os.environ["PYTHONPATH"] = saved


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    _migrate_core_only(DatabaseURL.parse(f"sqlite:///{path}"))
    return path


async def _postgres_reachable() -> str | None:
    try:
        conn = await asyncpg.connect(POSTGRES_URL, timeout=5)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


async def _reset_postgres() -> None:
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_template() -> str:
    problem = asyncio.run(_postgres_reachable())
    if problem is not None:
        if IN_CI:
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} is required in CI: {problem}")
        pytest.skip(f"no PostgreSQL at {POSTGRES_URL}: {problem}")
    asyncio.run(_reset_postgres())
    _migrate_core_only(DatabaseURL.parse(POSTGRES_URL))
    return POSTGRES_URL


async def _truncate_postgres(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        tables = [
            r[0]
            for r in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                " AND tablename <> 'migration'"
            )
        ]
        if tables:
            quoted = ", ".join(f'"{t}"' for t in tables)
            await conn.execute(f"TRUNCATE {quoted} RESTART IDENTITY")
    finally:
        await conn.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked sqlite_only/postgres_only is not generated for the other backend
    (deselected, not skipped: there is nothing there to pass or fail)."""
    keep, drop = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        backend = params.get("backend")
        if (backend == "postgres" and item.get_closest_marker("sqlite_only")) or (
            backend == "sqlite" and item.get_closest_marker("postgres_only")
        ):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DatabaseURL]:
    """A freshly migrated, empty database of the test's backend."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "rtbook.db"
        shutil.copyfile(template, path)
        yield DatabaseURL.parse(f"sqlite:///{path}")
    else:
        url: str = request.getfixturevalue("postgres_template")
        asyncio.run(_truncate_postgres(url))
        yield DatabaseURL.parse(url)


@pytest.fixture
def db_env(db_url: DatabaseURL, monkeypatch: pytest.MonkeyPatch) -> DatabaseURL:
    """The test database as RTBOOK_DATABASE_URL, for CLI and app code that reads it."""
    monkeypatch.setenv("RTBOOK_DATABASE_URL", db_url.raw)
    monkeypatch.setenv("RTBOOK_SECRET_KEY", "test-secret-key-" + "x" * 32)
    return db_url


@pytest.fixture
async def db(db_url: DatabaseURL) -> AsyncIterator[Database]:
    database = make_database(db_url)
    await database.open()
    try:
        yield database
    finally:
        await database.close()
