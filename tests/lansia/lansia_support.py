"""Test data of the lansia plugin: a city whose residents sit on both sides of every
age boundary, users of every kind, and an independent computation of the list.

Balikpapan (64.71) with RT 005 and 006 of kelurahan Damai (64.71.06.1005, kecamatan
64.71.06) and RT 001 of another kecamatan (64.71.05.1001-001-001); a second city
(64.72) where the plugin is not enabled.
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
    add_rt,
    add_user,
    nik_for,
    standard_city,
)

import rtbook_lansia
from rtbook.core.auth import Role
from rtbook.core.db import Connection, Database, make_database
from rtbook.core.plugins.registry import PluginRegistry
from rtbook.core.plugins.settings import set_plugin
from rtbook.core.settings import DatabaseURL

KELURAHAN = "64.71.06.1005"
KECAMATAN = "64.71.06"
OTHER_KECAMATAN = "64.71.05"
RT_C = "64.71.05.1001-001-001"  # another kecamatan of the same city
AS_OF = date(2026, 11, 20)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# (name, sex, birth date, status, rt)
PEOPLE: list[tuple[str, str, date, str, str]] = [
    ("AHMAD TUA", "L", date(1950, 1, 10), "active", RT_A),
    ("BUDI ENAM PULUH", "L", date(1966, 11, 20), "active", RT_A),  # 60 on AS_OF exactly
    ("CANDRA BESOK", "L", date(1966, 11, 21), "active", RT_A),  # 60 the day after
    ("DEWI KABISAT", "P", date(1960, 2, 29), "active", RT_A),  # a 29 February birthday
    ("EKO MENINGGAL", "L", date(1955, 5, 5), "deceased", RT_A),  # 70, dead
    ("FITRI PINDAH", "P", date(1956, 6, 6), "moved_out", RT_A),  # 70, moved out
    ("GITA MUDA", "P", date(1990, 3, 3), "active", RT_A),
    ("HARTONO", "L", date(1950, 8, 1), "active", RT_A),  # two of the same name:
    ("HARTONO", "L", date(1951, 8, 1), "active", RT_A),  # ordered by NIK
    ("ANI RT ENAM", "P", date(1940, 12, 1), "active", RT_B),
    ("ZAINAL RT ENAM", "L", date(1958, 1, 1), "active", RT_B),
    ("JOKO KECAMATAN LAIN", "L", date(1945, 4, 4), "active", RT_C),
    ("KOTA LAIN", "L", date(1940, 1, 1), "active", RT_OTHER_CITY),
]

USERS: list[tuple[str, Role, dict[str, Any]]] = [
    ("admin", Role.ADMIN, {}),
    ("city_admin", Role.CITY_ADMIN, {"city": CITY}),
    ("city_admin_other", Role.CITY_ADMIN, {"city": "64.72"}),
    (
        "hw_damai",
        Role.HEALTH_WORKER,
        {"city": CITY, "areas": (KELURAHAN,), "email": "hw.damai@example.org"},
    ),
    (
        "hw_other",
        Role.HEALTH_WORKER,
        {"city": CITY, "areas": (OTHER_KECAMATAN,), "email": "hw.other@example.org"},
    ),
    ("hw_city", Role.HEALTH_WORKER, {"city": CITY, "areas": (CITY,), "whatsapp": "+6281200000001"}),
    ("head_a", Role.RT_HEAD, {"city": CITY, "rts": (RT_A,)}),
    ("head_b", Role.RT_HEAD, {"city": CITY, "rts": (RT_B,)}),
    ("integrator", Role.INTEGRATOR, {"city": CITY}),
]


def lansia_registry() -> PluginRegistry:
    """Only the lansia plugin (whatever else is installed)."""
    registry = PluginRegistry()
    registry.register("lansia", rtbook_lansia)
    return registry


@dataclass
class World:
    url: DatabaseURL
    tokens: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)
    residents: list[dict[str, Any]] = field(default_factory=list)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def nik(self, name: str) -> str:
        return next(r["nik"] for r in self.residents if r["name"] == name)


async def add_region(conn: Connection, code: str, name: str, level: str) -> None:
    await conn.execute(
        "INSERT INTO region (code, name, level, parent_code, city_code)"
        " VALUES ($1, $2, $3, $4, $5)",
        code,
        name,
        level,
        code.rsplit(".", 1)[0],
        code[:5],
    )


async def seed(conn: Connection, world: World, registry: PluginRegistry) -> None:
    await standard_city(conn)
    await add_rt(conn, RT_C)
    await add_region(conn, KECAMATAN, "Balikpapan Selatan", "kecamatan")
    await add_region(conn, KELURAHAN, "Damai", "kelurahan")
    await add_region(conn, OTHER_KECAMATAN, "Balikpapan Barat", "kecamatan")
    for serial, (name, sex, birth, status, rt) in enumerate(PEOPLE, start=1):
        city = rt[:5]
        row = await add_resident(
            conn,
            nik=nik_for(birth, sex, serial, region="647206" if city == "64.72" else "647106"),
            name=name,
            sex=sex,
            birth_date=birth,
            status=status,
            rt_code=rt,
            city_code=city,
            no_kk=f"{'6472' if city == '64.72' else '6471'}06010120{serial:04d}",
            address=f"JL. MAWAR NO. {serial}",
            date_of_death=date(2026, 10, 1) if status == "deceased" else None,
        )
        world.residents.append(row)
    for username, role, scope in USERS:
        principal, token = await add_user(conn, username, role, **scope)
        world.tokens[username] = token
        world.user_ids[username] = principal.user_id
    await set_plugin(
        conn, registry, CITY, "lansia", enabled=True, config={"min_age": 60}, user_id=None
    )


async def seed_database(url: DatabaseURL) -> World:
    world = World(url=url)
    registry = lansia_registry()
    async with make_database(url) as db:
        await db.write(lambda conn: seed(conn, world, registry))
    return world


# -- the independent computation -------------------------------------------------------


def anniversary(birth: date, years: int) -> date:
    """The day someone born on ``birth`` turns ``years``: 29 February falls on
    1 March in a common year."""
    year = birth.year + years
    if (
        birth.month == 2
        and birth.day == 29
        and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0))
    ):
        return date(year, 3, 1)
    return date(year, birth.month, birth.day)


def age_by_counting(birth: date, day: date) -> int:
    """Birthdays passed, counted one by one (independent of the plugin's formula)."""
    years = 0
    while anniversary(birth, years + 1) <= day:
        years += 1
    return years


def in_area(rt: str, area: str) -> bool:
    return rt == area or rt.startswith(area + ".") or rt.startswith(area + "-")


def expected_list(
    residents: list[dict[str, Any]], area: str, as_of: date, min_age: int = 60
) -> list[dict[str, Any]]:
    chosen = [
        r
        for r in residents
        if r["status"] == "active"
        and in_area(r["rt_code"], area)
        and age_by_counting(r["birth_date"], as_of) >= min_age
    ]
    chosen.sort(key=lambda r: (r["rt_code"], r["name"], r["nik"]))
    return [
        {
            "nik": r["nik"],
            "name": r["name"],
            "sex": r["sex"],
            "birth_date": r["birth_date"].isoformat(),
            "age": age_by_counting(r["birth_date"], as_of),
            "rt": r["rt_code"],
            "address": r["address"],
        }
        for r in chosen
    ]


def contract_fields(item: dict[str, Any]) -> dict[str, Any]:
    return {k: item[k] for k in ("nik", "name", "sex", "birth_date", "age", "rt", "address")}


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _fetch(url: DatabaseURL, sql: str, *args: Any) -> list[dict[str, Any]]:
    async with make_database(url) as db:
        rows = await db.read(lambda conn: conn.fetch(sql, *args))
    return [dict(r) for r in rows]


def fetch(url: DatabaseURL, sql: str, *args: Any) -> list[dict[str, Any]]:
    """Rows read outside the app (what a user would check in the database)."""
    return run(_fetch(url, sql, *args))


async def write(db: Database, sql: str, *args: Any) -> None:
    await db.write(lambda conn: conn.execute(sql, *args))


def post_service(
    client: Any,
    world: World,
    service_type: str,
    nik: str,
    *,
    rt: str | None = None,
    data: dict[str, Any] | None = None,
    completed_at: str = "2026-11-20T09:30:00+08:00",
    service_id: str | None = None,
) -> dict[str, Any]:
    """One completed service posted by the city's integrator, as the registry does."""
    item: dict[str, Any] = {
        "source": "siak-6471",
        "id": service_id or f"{service_type}-{nik[-4:]}-{completed_at}",
        "type": service_type,
        "completed_at": completed_at,
        "nik": nik,
        "data": data or {},
    }
    if rt is not None:
        item["rt"] = rt
    response = client.post(
        "/api/v1/services", json={"services": [item]}, headers=world.auth("integrator")
    )
    assert response.status_code == 200, response.text
    result = response.json()["results"][0]
    assert result["status"] == "applied", result
    return result
