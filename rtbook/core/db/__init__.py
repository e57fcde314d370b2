"""Storage access: :func:`open_database` picks the backend from the database URL."""

from __future__ import annotations

from rtbook.core.db.base import Connection, Database, Row, row_dict, rows_dicts
from rtbook.core.settings import DatabaseURL


def make_database(url: DatabaseURL) -> Database:
    """A Database for the URL (not yet opened: ``async with`` it or call ``open()``)."""
    if url.dialect == "sqlite":
        from rtbook.core.db.sqlite import SQLiteDatabase

        assert url.sqlite_path is not None
        return SQLiteDatabase(url.sqlite_path)
    from rtbook.core.db.postgres import PostgresDatabase

    return PostgresDatabase(url.raw)


__all__ = ["Connection", "Database", "Row", "make_database", "row_dict", "rows_dicts"]
