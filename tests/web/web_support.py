"""Test data for the web tests: a seeded city, and SQL helpers to check the database.

Balikpapan (64.71) with RT 005 and 006, a second city (64.72), residents in RT 005,
and one user per kind of caller, each with an API token.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date
from typing import Any

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

from rtbook.core.auth import Role
from rtbook.core.db import Connection, make_database
from rtbook.core.settings import DatabaseURL

# (name, sex, birth date, status) of RT 005's residents; two share a name so that
# paging has to break the tie on NIK.
RT_A_PEOPLE: list[tuple[str, str, date, str]] = [
    ("AGUS SALIM", "L", date(1975, 3, 1), "active"),
    ("BUDI SANTOSO", "L", date(1980, 7, 5), "active"),
    ("BUDI SANTOSO", "L", date(1991, 2, 14), "active"),
    ("CITRA DEWI", "P", date(1983, 9, 9), "active"),
    ("DEWI LESTARI", "P", date(2001, 1, 20), "active"),
    ("EKO PRASETYO", "L", date(1969, 12, 31), "deceased"),
    ("FITRI HANDAYANI", "P", date(1988, 5, 5), "moved_out"),
    ("GILANG RAMADHAN", "L", date(2010, 6, 30), "active"),
    ("HANA_PUTRI", "P", date(2012, 4, 4), "active"),  # an underscore: LIKE escaping
    ("INDAH PERMATA", "P", date(1995, 8, 17), "active"),
    ("JOKO WIDODO", "L", date(1961, 6, 21), "active"),
    ("KARTIKA SARI", "P", date(1999, 10, 10), "active"),
]


@dataclass
class World:
    url: DatabaseURL
    tokens: dict[str, str] = field(default_factory=dict)
    residents: list[dict[str, Any]] = field(default_factory=list)  # RT 005's rows

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def niks(self, status: str | None = None) -> set[str]:
        return {r["nik"] for r in self.residents if status in (None, r["status"])}


USERS: list[tuple[str, Role, dict[str, Any]]] = [
    ("admin", Role.ADMIN, {}),
    ("city_admin", Role.CITY_ADMIN, {"city": CITY}),
    ("city_admin_other", Role.CITY_ADMIN, {"city": "64.72"}),
    ("head_a", Role.RT_HEAD, {"city": CITY, "rts": (RT_A,)}),
    ("head_b", Role.RT_HEAD, {"city": CITY, "rts": (RT_B,)}),
    ("head_other_city", Role.RT_HEAD, {"city": "64.72", "rts": (RT_OTHER_CITY,)}),
    ("integrator", Role.INTEGRATOR, {"city": CITY}),
    ("health_worker", Role.HEALTH_WORKER, {"city": CITY, "areas": (CITY,)}),
]


async def _seed(conn: Connection, world: World) -> None:
    await standard_city(conn)
    for serial, (name, sex, birth, status) in enumerate(RT_A_PEOPLE, start=1):
        head = serial % 3 == 1  # households of up to three, the first one the head
        no_kk = f"647106010120{(serial - 1) // 3 + 1:04d}"
        row = await add_resident(
            conn,
            nik=nik_for(birth, sex, serial),
            name=name,
            sex=sex,
            birth_date=birth,
            status=status,
            no_kk=no_kk,
            shdk="kepala_keluarga" if head else "anak",
        )
        world.residents.append(row)
    await add_resident(
        conn,
        nik=nik_for(date(1990, 1, 1), "L", 901),
        name="BUDI RT ENAM",
        rt_code=RT_B,
        no_kk="6471060101209001",
    )
    await add_resident(
        conn,
        nik=nik_for(date(1990, 1, 1), "L", 902, region="647201"),
        name="BUDI KOTA LAIN",
        rt_code=RT_OTHER_CITY,
        city_code="64.72",
        no_kk="6472010101209002",
    )
    for username, role, scope in USERS:
        _, token = await add_user(conn, username, role, **scope)
        world.tokens[username] = token


async def seed_database(url: DatabaseURL) -> World:
    world = World(url=url)
    async with make_database(url) as db:
        await db.write(lambda conn: _seed(conn, world))
    return world


def run_sql(url: DatabaseURL, sql: str, *args: Any) -> Any:
    """One value from the database, read outside the app (what a user would check)."""

    async def go() -> Any:
        async with make_database(url) as db:
            return await db.read(lambda conn: conn.fetchval(sql, *args))

    return asyncio.run(go())


def write_sql(url: DatabaseURL, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
    async def go() -> None:
        async def unit(conn: Connection) -> None:
            for sql, args in statements:
                await conn.execute(sql, *args)

        async with make_database(url) as db:
            await db.write(unit)

    asyncio.run(go())
