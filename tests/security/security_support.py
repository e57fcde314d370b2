"""A city for the security tests: one user of every role with a known scope, a
resident in every RT the scopes need, the lansia and reports plugins enabled in both
cities, and a dead letter and a notification delivery in each city.

Balikpapan (64.71): RT 005 and 006 of kelurahan Damai (64.71.06.1005) and RT 001 of
another kecamatan (64.71.05); Samarinda (64.72) with one RT. Every user has an e-mail
address, so their notification preferences are theirs to read.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from factories import (
    CITY,
    NOW,
    RT_A,
    RT_B,
    RT_OTHER_CITY,
    add_resident,
    add_rt,
    add_user,
    nik_for,
    standard_city,
)

from rtbook.core.auth import Role
from rtbook.core.db import Connection, make_database
from rtbook.core.plugins.registry import PluginRegistry
from rtbook.core.plugins.settings import set_plugin
from rtbook.core.settings import DatabaseURL

OTHER_CITY = "64.72"
KELURAHAN = "64.71.06.1005"  # RT_A and RT_B
RT_C = "64.71.05.1001-001-001"  # same city, another kecamatan
RT_MISSING = "64.71.06.1005-009-009"  # well formed, not stored
NIK_MISSING = "6471060101909999"
ID_MISSING = 987654321

# username, role, scope
USERS: list[tuple[str, Role, dict[str, Any]]] = [
    ("admin", Role.ADMIN, {}),
    ("city_admin", Role.CITY_ADMIN, {"city": CITY}),
    ("rt_head", Role.RT_HEAD, {"city": CITY, "rts": (RT_A,)}),
    ("health_worker", Role.HEALTH_WORKER, {"city": CITY, "areas": (KELURAHAN,)}),
    ("integrator", Role.INTEGRATOR, {"city": CITY}),
]
# Accounts whose password a manager may reset: one per city (tokens never used).
ACCOUNTS = {CITY: "ketua_rt_006", OTHER_CITY: "ketua_rt_samarinda"}


@dataclass(frozen=True)
class Target:
    """What a request is about: a city, an RT (also the lansia ``area``), a resident
    in that RT, and a dead letter, a delivery and a user account of that city."""

    city: str
    rt: str
    nik: str
    dead_letter: int
    delivery: int
    account: str


@dataclass
class World:
    url: DatabaseURL
    tokens: dict[str, str] = field(default_factory=dict)
    niks: dict[str, str] = field(default_factory=dict)  # rt -> a resident's NIK
    dead_letters: dict[str, int] = field(default_factory=dict)  # city -> id
    deliveries: dict[str, int] = field(default_factory=dict)  # city -> id

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"} if who in self.tokens else {}

    def target(self, rt: str) -> Target:
        if rt == RT_MISSING:
            return Target("99.99", RT_MISSING, NIK_MISSING, ID_MISSING, ID_MISSING, "tidak_ada")
        city = rt[:5]
        return Target(
            city,
            rt,
            self.niks[rt],
            self.dead_letters[city],
            self.deliveries[city],
            ACCOUNTS[city],
        )


# Each role's own scope ("in") and a scope of the same kind that is not theirs ("out").
# Admins have no "out": theirs is the other city, which they may see too.
SCOPES: dict[str, tuple[str, str]] = {
    "admin": (RT_A, RT_OTHER_CITY),
    "city_admin": (RT_A, RT_OTHER_CITY),
    "rt_head": (RT_A, RT_B),
    "health_worker": (RT_A, RT_C),
    "integrator": (RT_A, RT_OTHER_CITY),
}


async def _seed(conn: Connection, world: World, registry: PluginRegistry) -> None:
    await standard_city(conn)
    await add_rt(conn, RT_C)
    for serial, rt in enumerate((RT_A, RT_B, RT_C, RT_OTHER_CITY), start=1):
        region = "647201" if rt.startswith(OTHER_CITY) else "647106"
        row = await add_resident(
            conn,
            nik=nik_for(date(1950, 1, 10), "L", serial, region=region),
            name=f"WARGA {serial}",
            birth_date=date(1950, 1, 10),
            rt_code=rt,
            city_code=rt[:5],
            no_kk=f"{region}0101200{serial:03d}",
        )
        world.niks[rt] = row["nik"]
    for username, role, scope in USERS:
        _, token = await add_user(conn, username, role, email=f"{username}@example.org", **scope)
        world.tokens[username] = token
    await add_user(conn, ACCOUNTS[CITY], Role.RT_HEAD, city=CITY, rts=(RT_B,))
    await add_user(conn, ACCOUNTS[OTHER_CITY], Role.RT_HEAD, city=OTHER_CITY, rts=(RT_OTHER_CITY,))
    admin_id = await conn.fetchval("SELECT id FROM rtbook_user WHERE username = 'admin'")
    for city in (CITY, OTHER_CITY):
        await set_plugin(
            conn, registry, city, "lansia", enabled=True, config={"min_age": 60}, user_id=None
        )
        await set_plugin(conn, registry, city, "reports", enabled=True, config={}, user_id=None)
        world.dead_letters[city] = await conn.fetchval(
            "INSERT INTO dispatch_failure (plugin, city_code, seq, status, attempts,"
            " last_error, created_at, updated_at) VALUES ('lansia', $1, 1, 'dead', 5,"
            " 'boom', $2, $2) RETURNING id",
            city,
            NOW,
        )
        world.deliveries[city] = await conn.fetchval(
            "INSERT INTO delivery (event_id, city_code, seq, user_id, channel, address,"
            " status, attempts, body, language, created_at, updated_at)"
            " VALUES ($1, $2, 1, $3, 'email', 'admin@example.org', 'dead', 5, 'pesan', 'id',"
            " $4, $4) RETURNING id",
            f"{city}-1",
            city,
            admin_id,
            NOW,
        )


async def seed_database(url: DatabaseURL) -> World:
    world = World(url=url)
    registry = PluginRegistry.load()
    async with make_database(url) as db:
        await db.write(lambda conn: _seed(conn, world, registry))
    return world


def seed(url: DatabaseURL) -> World:
    return asyncio.run(seed_database(url))


def count_rows(url: DatabaseURL, *tables: str) -> dict[str, int]:
    """Rows per table, read outside the app (what a user would check)."""

    async def go() -> dict[str, int]:
        async with make_database(url) as db:

            async def unit(conn: Connection) -> dict[str, int]:
                return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in tables}

            return await db.read(unit)

    return asyncio.run(go())
