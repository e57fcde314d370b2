"""The storage layer behaves the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from rtbook.core.db import Connection, Database
from rtbook.core.schema import ensure_schema, schema_is_current


async def _insert_city(conn: Connection, code: str) -> None:
    await conn.execute(
        "INSERT INTO city (code, name, province_code, timezone, event_seq, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        code,
        "Kota Contoh",
        code[:2],
        "Asia/Makassar",
        0,
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


async def test_schema_is_current_after_migrations(db: Database, db_url) -> None:
    assert await schema_is_current(db)
    assert await ensure_schema(db, db_url) is False


async def test_types_round_trip(db: Database) -> None:
    await db.write(lambda c: _insert_city(c, "64.71"))
    await db.write(
        lambda c: c.execute(
            "INSERT INTO resident (nik, name, sex, birth_date, city_code, status, origin,"
            " registered_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            "6471054507800001",
            "SITI AMINAH",
            "P",
            date(1980, 7, 5),
            "64.71",
            "active",
            "import",
            datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        )
    )
    row = await db.read(lambda c: c.fetchrow("SELECT birth_date, registered_at, nik FROM resident"))
    assert row["birth_date"] == date(1980, 7, 5)
    assert row["registered_at"] == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert row["nik"] == "6471054507800001"  # a string, leading digits intact


async def test_failed_transaction_leaves_nothing(db: Database) -> None:
    async def half_then_fail(conn: Connection) -> None:
        await _insert_city(conn, "64.71")
        raise ValueError("boom")

    with pytest.raises(ValueError):
        await db.write(half_then_fail)
    assert await db.read(lambda c: c.fetchval("SELECT count(*) FROM city")) == 0


async def test_savepoint_rolls_back_only_the_inner_part(db: Database) -> None:
    async def unit(conn: Connection) -> None:
        async with conn.transaction():
            await _insert_city(conn, "64.71")
            with pytest.raises(ValueError):
                async with conn.transaction():
                    await _insert_city(conn, "64.72")
                    raise ValueError("inner")

    await db.session(unit)
    codes = await db.read(lambda c: c.fetch("SELECT code FROM city ORDER BY code"))
    assert [r["code"] for r in codes] == ["64.71"]


async def test_unique_key_is_enforced(db: Database) -> None:
    await db.write(lambda c: _insert_city(c, "64.71"))
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        await db.write(lambda c: _insert_city(c, "64.71"))


async def test_copy_rows_bulk_inserts(db: Database) -> None:
    rows = [(f"64.71.0{i}", f"Kecamatan {i}", "kecamatan", "64.71", "64.71") for i in range(1, 7)]

    async def load(conn: Connection) -> None:
        await conn.copy_rows("region", ["code", "name", "level", "parent_code", "city_code"], rows)

    await db.write(load)
    assert await db.read(lambda c: c.fetchval("SELECT count(*) FROM region")) == 6
