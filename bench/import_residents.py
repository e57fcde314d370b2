"""Resident import speed: ``import_residents`` against a raw bulk insert of the same rows.

Every run loads the same generated rows into a fresh, migrated database holding the
city and its RTs:

- SQLite: ``import_residents`` (validation, duplicate checks, households, one
  transaction) against raw ``sqlite3`` ``executemany`` of the same rows into the same
  ``resident`` table, plus their households, in one transaction (connection with the
  same pragmas).
- PostgreSQL (``--postgres [URL]``): ``import_residents`` against raw asyncpg
  ``copy_records_to_table`` of the same rows and households.

Row generation is not timed. Target: the importer at least 1/3 of raw speed.

    .venv/bin/python bench/import_residents.py [--residents N] [--postgres [URL]]
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import _city
import asyncpg

from rtbook.core.db import make_database
from rtbook.core.db.sqlite import connect
from rtbook.core.importer import HOUSEHOLD_COLUMNS, RESIDENT_COLUMNS, import_residents
from rtbook.core.settings import DatabaseURL

Rows = list[tuple[int, dict[str, str]]]

_TEXT_FIELDS = (
    "nik",
    "name",
    "sex",
    "birth_place",
    "birth_date",
    "religion",
    "education",
    "occupation",
    "marital_status",
    "shdk",
    "citizenship",
    "no_kk",
    "address",
    "rt",
)


def raw_records(rows: Rows, now: datetime, *, typed_dates: bool) -> tuple[list, list]:
    """Resident and household tuples in RESIDENT_COLUMNS / HOUSEHOLD_COLUMNS order:
    the least work a loader must do (empty text as NULL; dates typed for asyncpg).

    For SQLite the timestamp goes in as the text Piccolo's adapter would store
    (``str`` of the UTC datetime), made once: a hand-written loader does not pay an
    adapter call per value."""
    stamp: Any = now if typed_dates else str(now.astimezone(UTC))
    residents: list[tuple[Any, ...]] = []
    households: dict[str, list[Any]] = {}
    for _, row in rows:
        values: list[Any] = [row[f] or None for f in _TEXT_FIELDS]
        if typed_dates:
            values[4] = date.fromisoformat(values[4])
        values += [
            _city.CITY,
            row["father_name"] or None,
            row["mother_name"] or None,
            row["phone"] or None,
            row["blood_type"] or None,
            "active",
            "import",
            stamp,
            stamp,
        ]
        residents.append(tuple(values))
        household = households.get(row["no_kk"])
        if household is None:
            households[row["no_kk"]] = household = [
                row["no_kk"],
                row["rt"],
                _city.CITY,
                None,
                stamp,
            ]
        if row["shdk"] == "kepala_keluarga":
            household[3] = row["nik"]
    return residents, [tuple(h) for h in households.values()]


async def importer_run(url: DatabaseURL, rows: Rows) -> float:
    db = make_database(url)
    await db.open()
    try:
        started = time.perf_counter()
        report = await import_residents(db, rows, _city.CITY)
        seconds = time.perf_counter() - started
    finally:
        await db.close()
    if report.imported != len(rows):
        raise SystemExit(f"importer refused rows: {report.bad_rows[:3]}")
    return seconds


def sqlite_raw_run(path: Path, rows: Rows) -> float:
    conn = connect(path)
    resident_sql = (
        f"INSERT INTO resident ({', '.join(RESIDENT_COLUMNS)})"
        f" VALUES ({', '.join('?' for _ in RESIDENT_COLUMNS)})"
    )
    household_sql = (
        f"INSERT INTO household ({', '.join(HOUSEHOLD_COLUMNS)})"
        f" VALUES ({', '.join('?' for _ in HOUSEHOLD_COLUMNS)})"
    )
    try:
        started = time.perf_counter()
        residents, households = raw_records(rows, datetime.now(UTC), typed_dates=False)
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(resident_sql, residents)
        conn.executemany(household_sql, households)
        conn.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        conn.close()


async def postgres_raw_run(url: str, rows: Rows) -> float:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("TRUNCATE resident, household")
        started = time.perf_counter()
        residents, households = raw_records(rows, datetime.now(UTC), typed_dates=True)
        async with conn.transaction():
            await conn.copy_records_to_table(
                "resident", records=residents, columns=list(RESIDENT_COLUMNS)
            )
            await conn.copy_records_to_table(
                "household", records=households, columns=list(HOUSEHOLD_COLUMNS)
            )
        return time.perf_counter() - started
    finally:
        await conn.close()


def main() -> None:
    args = _city.parser(__doc__.splitlines()[0], "rtbook_bench_import").parse_args()
    workdir: Path = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    rts = _city.city_rts(args.residents)

    _city.log(f"generating ~{args.residents:,} residents in {len(rts):,} RTs ...")
    started = time.perf_counter()
    rows: Rows = list(_city.resident_rows(rts, args.seed))
    _city.log(f"  {len(rows):,} rows in {time.perf_counter() - started:.1f} s (not timed below)")

    table: list[list[object]] = []

    def add(backend: str, importer_s: float, raw_s: float, raw_name: str) -> None:
        n = len(rows)
        table.append([backend, "import_residents", n, importer_s, n / importer_s, ""])
        ratio = f"{raw_s / importer_s:.2f} ({'ok' if raw_s / importer_s >= 1 / 3 else 'below 1/3'})"
        table.append([backend, raw_name, n, raw_s, n / raw_s, ""])
        table[-2][5] = ratio

    # SQLite: a migrated template with the city and RTs, copied for each run.
    template = workdir / "import-template.db"
    url = _city.migrated_sqlite(template)
    asyncio.run(_city.prepare_city(url, rts))
    _city.log("SQLite: import_residents ...")
    importer_s = asyncio.run(
        importer_run(_city.copy_sqlite(template, workdir / "import-api.db"), rows)
    )
    _city.log("SQLite: raw executemany ...")
    raw_url = _city.copy_sqlite(template, workdir / "import-raw.db")
    assert raw_url.sqlite_path is not None
    raw_s = sqlite_raw_run(raw_url.sqlite_path, rows)
    add("SQLite", importer_s, raw_s, "raw sqlite3 executemany")

    if args.postgres:
        _city.log("PostgreSQL: import_residents ...")
        pg = asyncio.run(_city.recreate_postgres(args.postgres))
        try:
            asyncio.run(_city.prepare_city(pg, rts))
            importer_s = asyncio.run(importer_run(pg, rows))
            _city.log("PostgreSQL: raw copy_records_to_table ...")
            raw_s = asyncio.run(postgres_raw_run(pg.raw, rows))
        finally:
            asyncio.run(_city.drop_postgres(args.postgres))
        add("PostgreSQL", importer_s, raw_s, "raw asyncpg copy_records_to_table")
    for name in ("import-template.db", "import-api.db", "import-raw.db"):
        _city.remove_sqlite(workdir / name)

    _city.print_table(
        f"Resident import, {len(rows):,} rows in {len(rts):,} RTs ({_city.machine_note()})",
        ["backend", "method", "rows", "seconds", "rows/s", "import/raw"],
        table,
    )


if __name__ == "__main__":
    main()
