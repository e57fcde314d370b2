"""Test data of the privacy tests: Balikpapan (64.71) with RT 005 and 006, a second
city (64.72), a mother in RT 005, a bystander, users of every kind with tokens, and
the lansia plugin's table (so plugin-held data is part of the picture)."""

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

import rtbook_lansia
from rtbook.core.auth import Role
from rtbook.core.db import Connection, make_database, rows_dicts
from rtbook.core.plugins.registry import PluginRegistry
from rtbook.core.schema import ensure_schema
from rtbook.core.settings import DatabaseURL

MOTHER_NIK = nik_for(date(1990, 4, 4), "P", 11)
BYSTANDER_NIK = nik_for(date(1985, 3, 3), "L", 12)
OTHER_CITY_NIK = nik_for(date(1970, 2, 2), "L", 13, region="647201")
CHILD_NIK = nik_for(date(2026, 11, 1), "L", 14)
OLD_KK = "6471060101200011"
NEW_KK = "6471060101200022"

USERS: list[tuple[str, Role, dict[str, Any]]] = [
    ("admin", Role.ADMIN, {}),
    ("city_admin", Role.CITY_ADMIN, {"city": CITY}),
    ("city_admin_other", Role.CITY_ADMIN, {"city": "64.72"}),
    ("head_a", Role.RT_HEAD, {"city": CITY, "rts": (RT_A,)}),
    ("head_other_city", Role.RT_HEAD, {"city": "64.72", "rts": (RT_OTHER_CITY,)}),
    ("integrator", Role.INTEGRATOR, {"city": CITY}),
    ("health_worker", Role.HEALTH_WORKER, {"city": CITY, "areas": (CITY,)}),
]


def lansia_registry() -> PluginRegistry:
    registry = PluginRegistry()
    registry.register("lansia", rtbook_lansia)
    return registry


@dataclass
class World:
    url: DatabaseURL
    tokens: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


async def _seed(conn: Connection, world: World) -> None:
    await standard_city(conn)
    await add_resident(
        conn, nik=MOTHER_NIK, name="SITI IBU", sex="P", birth_date=date(1990, 4, 4), no_kk=OLD_KK
    )
    await add_resident(
        conn,
        nik=BYSTANDER_NIK,
        name="TETANGGA SEBELAH",
        birth_date=date(1985, 3, 3),
        no_kk="6471060101200033",
        rt_code=RT_B,
    )
    await add_resident(
        conn,
        nik=OTHER_CITY_NIK,
        name="ORANG KOTA LAIN",
        birth_date=date(1970, 2, 2),
        no_kk="6472010101200044",
        rt_code=RT_OTHER_CITY,
        city_code="64.72",
    )
    for username, role, scope in USERS:
        principal, token = await add_user(conn, username, role, **scope)
        world.tokens[username] = token
        world.user_ids[username] = principal.user_id


async def seed_database(url: DatabaseURL) -> World:
    world = World(url=url)
    async with make_database(url) as db:
        await ensure_schema(db, url, lansia_registry())
        await db.write(lambda conn: _seed(conn, world))
    return world


def run_sql(url: DatabaseURL, sql: str, *args: Any) -> list[dict[str, Any]]:
    async def go() -> list[dict[str, Any]]:
        async with make_database(url) as db:
            return rows_dicts(await db.read(lambda conn: conn.fetch(sql, *args)))

    return asyncio.run(go())


def write_sql(url: DatabaseURL, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
    async def go() -> None:
        async def unit(conn: Connection) -> None:
            for sql, args in statements:
                await conn.execute(sql, *args)

        async with make_database(url) as db:
            await db.write(unit)

    asyncio.run(go())


def service(ident: str, kind: str, day: int, nik: str, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "source": "siak-6471",
        "id": ident,
        "type": kind,
        "completed_at": f"2026-11-{day:02d}T09:00:00+08:00",
        "nik": nik,
        "data": {},
    }
    item.update(extra)
    return item


def child_life() -> list[dict[str, Any]]:
    """Birth, a new KK (the child leaves the old one), a move to RT 006, death."""
    return [
        service(
            "lahir-1",
            "akta_kelahiran",
            2,
            CHILD_NIK,
            rt=RT_A,
            document_number="AL-0001",
            data={
                "child": {
                    "name": "ANAK KECIL",
                    "sex": "L",
                    "birth_date": "2026-11-01",
                    "birth_place": "BALIKPAPAN",
                    "no_kk": OLD_KK,
                    "shdk": "anak",
                    "religion": "islam",
                    "citizenship": "WNI",
                    "mother_name": "SITI IBU",
                }
            },
        ),
        service(
            "kk-1",
            "kk",
            5,
            MOTHER_NIK,
            document_number=NEW_KK,
            data={
                "no_kk": NEW_KK,
                "members": [
                    {"nik": MOTHER_NIK, "shdk": "kepala_keluarga"},
                    {"nik": CHILD_NIK, "shdk": "anak"},
                ],
            },
        ),
        service("pindah-1", "pindah_dalam", 10, CHILD_NIK, rt=RT_B, data={"from_rt": RT_A}),
        service(
            "mati-1",
            "akta_kematian",
            15,
            CHILD_NIK,
            document_number="AK-0001",
            data={"date_of_death": "2026-11-14"},
        ),
        service("ktp-tetangga", "ktp_el", 16, BYSTANDER_NIK, document_number="KTP-9"),
    ]
