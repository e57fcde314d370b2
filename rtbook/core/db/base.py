"""The storage interface the domain code is written against.

One SQL text serves both backends: statements use asyncpg's ``$1`` placeholders and
the SQLite connection rewrites them to ``?1``. Units of work are coroutines taking a
:class:`Connection`; on SQLite they run on the connection's own thread (so a batch of
hundreds of statements costs one thread hop), on PostgreSQL on the event loop.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Row(Protocol):
    """A result row: ``row["column"]`` and ``row[0]`` both work, ``dict(row)`` too."""

    def __getitem__(self, key: str | int) -> Any: ...

    def keys(self) -> Iterable[str]: ...


class Connection(ABC):
    """One database connection, used by one unit of work at a time."""

    dialect: str

    @abstractmethod
    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...

    @abstractmethod
    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchrow(sql, *args)
        return None if row is None else row[0]

    @abstractmethod
    async def execute(self, sql: str, *args: Any) -> int:
        """Run one statement; return the number of rows it changed."""

    @abstractmethod
    async def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> None: ...

    @abstractmethod
    async def copy_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Bulk-insert rows: COPY on PostgreSQL, executemany on SQLite."""

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[None]:
        """A write transaction (BEGIN IMMEDIATE on SQLite); nested ones are savepoints."""


Unit = Callable[[Connection], Awaitable[T]]


class Database(ABC):
    """A pool of connections to one database."""

    dialect: str

    @abstractmethod
    async def open(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def read(self, unit: Unit[T]) -> T:
        """Run a read-only unit of work."""

    @abstractmethod
    async def session(self, unit: Unit[T]) -> T:
        """Run a unit of work on a writing connection; it opens its own transactions."""

    async def write(self, unit: Unit[T]) -> T:
        """Run a unit of work inside one write transaction."""

        async def in_transaction(conn: Connection) -> T:
            async with conn.transaction():
                return await unit(conn)

        return await self.session(in_transaction)

    async def __aenter__(self) -> Database:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def row_dict(row: Row) -> dict[str, Any]:
    return {key: row[key] for key in row.keys()}  # noqa: SIM118 (sqlite3.Row iterates values)


def rows_dicts(rows: Iterable[Row]) -> list[dict[str, Any]]:
    return [row_dict(r) for r in rows]


def mapping_values(data: Mapping[str, Any], columns: Sequence[str]) -> tuple[Any, ...]:
    return tuple(data[c] for c in columns)
