"""PostgreSQL backend: an asyncpg pool; COPY for bulk loads."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from rtbook.core.db.base import Connection, Database, Row, T, Unit


def _rowcount(status: str) -> int:
    # asyncpg answers e.g. "INSERT 0 3", "UPDATE 2", "DELETE 0"
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class PostgresConnection(Connection):
    dialect = "postgres"

    def __init__(self, raw: asyncpg.Connection) -> None:
        self.raw = raw

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return await self.raw.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        return await self.raw.fetchrow(sql, *args)

    async def execute(self, sql: str, *args: Any) -> int:
        return _rowcount(await self.raw.execute(sql, *args))

    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> None:
        await self.raw.executemany(sql, list(args))

    async def copy_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        await self.raw.copy_records_to_table(table, records=rows, columns=list(columns))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        async with self.raw.transaction():
            yield


class PostgresDatabase(Database):
    dialect = "postgres"

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self.dsn = dsn
        self._min, self._max = min_size, max_size
        self._pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        if self._pool is None:
            self._pool = await asyncpg.create_pool(self.dsn, min_size=self._min, max_size=self._max)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def _require(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("database is not open")
        return self._pool

    async def read(self, unit: Unit[T]) -> T:
        async with self._require().acquire() as raw:
            return await unit(PostgresConnection(raw))

    async def session(self, unit: Unit[T]) -> T:
        async with self._require().acquire() as raw:
            return await unit(PostgresConnection(raw))
