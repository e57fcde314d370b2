"""Helpers of the command-line tests: query the database from a plain (sync) test,
add a city straight through the core functions."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from rtbook.core.db import make_database, rows_dicts
from rtbook.core.regions import CityRegions, add_city
from rtbook.core.rts import add_rts
from rtbook.core.settings import DatabaseURL


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()

    @property
    def one_error_line(self) -> bool:
        """Failed with exactly one line on stderr."""
        return self.code != 0 and len(self.err_lines) == 1 and self.err_lines[0].strip() != ""


def query(url: DatabaseURL, sql: str, *args: Any) -> list[dict[str, Any]]:
    async def go() -> list[dict[str, Any]]:
        db = make_database(url)
        await db.open()
        try:
            return rows_dicts(await db.read(lambda conn: conn.fetch(sql, *args)))
        finally:
            await db.close()

    return asyncio.run(go())


def value(url: DatabaseURL, sql: str, *args: Any) -> Any:
    rows = query(url, sql, *args)
    return next(iter(rows[0].values())) if rows else None


def count(url: DatabaseURL, table: str) -> int:
    return int(value(url, f"SELECT count(*) AS n FROM {table}"))


def setup_city(
    url: DatabaseURL, regions: CityRegions, rts: tuple[str, ...] = (), tz: str = "Asia/Makassar"
) -> None:
    """Add a city and RTs through the core functions (not the CLI)."""

    async def go() -> None:
        db = make_database(url)
        await db.open()
        try:
            await db.write(lambda conn: add_city(conn, regions, tz))
            if rts:
                await db.write(lambda conn: add_rts(conn, rts))
        finally:
            await db.close()

    asyncio.run(go())
