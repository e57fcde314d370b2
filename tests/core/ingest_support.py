"""Shared pieces of the ingest tests: a small ward book, item builders, snapshots."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import msgspec
from factories import (
    CITY,
    RT_A,
    RT_B,
    RT_OTHER_CITY,
    add_resident,
    add_user,
    nik_for,
    standard_city,
)

from rtbook.core.auth import Principal, Role
from rtbook.core.db import Connection, Database
from rtbook.core.ledger.feed import cloud_event

SOURCE = "siak-6471"
# 09:30 WITA on 20 November; in UTC still the 20th. LATE_UTC is the 19th in UTC but
# already the 20th in Balikpapan (WITA, UTC+8): event dates follow the city's calendar.
COMPLETED = "2026-11-20T09:30:00+08:00"
LATE_UTC = "2026-11-19T17:30:00Z"
DAY = date(2026, 11, 20)

KK_BUDI = "6471060101200001"
KK_ANDI = "6471060101200002"
KK_NEW = "6471060101200009"

BUDI = nik_for(date(1980, 7, 5), "L", 1)  # head of KK_BUDI, RT 005
SITI = nik_for(date(1982, 3, 14), "P", 2)  # wife in KK_BUDI, RT 005
RINA = nik_for(date(2010, 1, 9), "P", 3)  # daughter in KK_BUDI, RT 005
ANDI = nik_for(date(1990, 11, 2), "L", 4)  # head of KK_ANDI, RT 006
WATI = nik_for(date(1950, 5, 5), "P", 5)  # deceased, RT 005
JOKO = nik_for(date(1970, 8, 8), "L", 6)  # moved out, RT 006
DEWI = nik_for(date(1985, 2, 2), "P", 7)  # lives in the other city (64.72)
CHILD = nik_for(date(2026, 11, 1), "P", 8)  # not in the ledger: a newborn
NEWCOMER = nik_for(date(1995, 4, 4), "L", 9)  # not in the ledger: arrives

TABLES = (
    "resident",
    "household",
    "kk_history",
    "document",
    "service_record",
    "resident_change",
    "event",
    "city",
)
_FULL_NIK = re.compile(r"[0-9]{16}")


@dataclass
class Book:
    integrator: Principal
    city_admin: Principal
    admin: Principal
    rt_head: Principal
    other_integrator: Principal


async def setup_book(db: Database) -> Book:
    async def unit(conn: Connection) -> Book:
        await standard_city(conn)
        await add_resident(conn, nik=BUDI, name="BUDI SANTOSO")
        await add_resident(
            conn,
            nik=SITI,
            name="SITI AMINAH",
            sex="P",
            birth_date=date(1982, 3, 14),
            shdk="istri",
        )
        await add_resident(
            conn,
            nik=RINA,
            name="RINA LESTARI",
            sex="P",
            birth_date=date(2010, 1, 9),
            shdk="anak",
            marital_status="belum_kawin",
        )
        await add_resident(
            conn,
            nik=ANDI,
            name="ANDI WIJAYA",
            birth_date=date(1990, 11, 2),
            no_kk=KK_ANDI,
            rt_code=RT_B,
        )
        await add_resident(
            conn,
            nik=WATI,
            name="WATI",
            sex="P",
            birth_date=date(1950, 5, 5),
            no_kk="6471060101200003",
            status="deceased",
            date_of_death=date(2025, 1, 1),
        )
        await add_resident(
            conn,
            nik=JOKO,
            name="JOKO PRASETYO",
            birth_date=date(1970, 8, 8),
            no_kk="6471060101200004",
            rt_code=RT_B,
            status="moved_out",
            education="SD",
        )
        await add_resident(
            conn,
            nik=DEWI,
            name="DEWI",
            sex="P",
            birth_date=date(1985, 2, 2),
            no_kk="6472010101200001",
            rt_code=RT_OTHER_CITY,
            city_code="64.72",
        )
        integrator, _ = await add_user(conn, "siak", Role.INTEGRATOR, city=CITY)
        city_admin, _ = await add_user(conn, "dukcapil", Role.CITY_ADMIN, city=CITY)
        admin, _ = await add_user(conn, "root", Role.ADMIN)
        rt_head, _ = await add_user(conn, "pak_rt", Role.RT_HEAD, rts=(RT_A,))
        other, _ = await add_user(conn, "siak72", Role.INTEGRATOR, city="64.72")
        return Book(integrator, city_admin, admin, rt_head, other)

    return await db.write(unit)


def item(
    service_type: str,
    nik: str,
    service_id: str | None = None,
    *,
    data: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A service item with the usual fields; ``fields`` add or override."""
    out: dict[str, Any] = {
        "source": SOURCE,
        "id": service_id or f"{service_type}-{str(nik)[-4:]}",
        "type": service_type,
        "completed_at": COMPLETED,
        "nik": nik,
        "data": {} if data is None else data,
    }
    out.update(fields)
    return out


def child_record(**fields: Any) -> dict[str, Any]:
    record = {
        "name": "PUTRI SANTOSO",
        "sex": "P",
        "birth_place": "BALIKPAPAN",
        "birth_date": "2026-11-01",
        "religion": "islam",
        "shdk": "anak",
        "citizenship": "WNI",
        "no_kk": KK_BUDI,
        "father_name": "BUDI SANTOSO",
        "mother_name": "SITI AMINAH",
    }
    record.update(fields)
    return record


async def snapshot(db: Database) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every ledger table, for "nothing changed" checks."""

    async def unit(conn: Connection) -> dict[str, list[tuple[str, ...]]]:
        out = {}
        for table in TABLES:
            rows = await conn.fetch(f"SELECT * FROM {table}")
            out[table] = sorted(tuple(str(row[k]) for k in row.keys()) for row in rows)  # noqa: SIM118
        return out

    return await db.read(unit)


async def counts(db: Database) -> dict[str, int]:
    async def unit(conn: Connection) -> dict[str, int]:
        return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}

    return await db.read(unit)


async def resident(db: Database, nik: str) -> dict[str, Any] | None:
    row = await db.read(lambda c: c.fetchrow("SELECT * FROM resident WHERE nik = $1", nik))
    return None if row is None else {k: row[k] for k in row.keys()}  # noqa: SIM118


async def rows(db: Database, sql: str, *args: Any) -> list[dict[str, Any]]:
    found = await db.read(lambda c: c.fetch(sql, *args))
    return [{k: r[k] for k in r.keys()} for r in found]  # noqa: SIM118


async def feed(db: Database) -> list[dict[str, Any]]:
    """The city feed as CloudEvents, in sequence order."""
    found = await rows(db, "SELECT * FROM event ORDER BY city_code, seq")
    return [cloud_event(r) for r in found]


def has_full_nik(value: Any) -> bool:
    return bool(_FULL_NIK.search(msgspec.json.encode(value).decode()))
