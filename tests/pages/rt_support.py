"""Test data for the RT pages (buku induk, warga, kabar, pengaturan): a city with
households in RT 005, one user of each kind with a password, services sent through
the real API so the feed and the history are the ingest's own, and a browser-like
login through the form.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from factories import CITY, RT_A, RT_B, add_resident, add_user, nik_for, standard_city
from form_support import page_login, sql
from litestar.testing import TestClient

from rtbook.core.auth import Role
from rtbook.core.db import Connection, make_database
from rtbook.core.passwords import hash_password
from rtbook.core.settings import DatabaseURL
from rtbook.core.users import set_password_hash

PASSWORD = "kunci-rumah-biru-7"
NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # 14:00 WITA
SCRIPT_NAME = "<script>alert(1)</script>"
KK_BUDI = "6471060101200001"
KK_SCRIPT = "6471060101200002"
KK_OLD = "6471060101200003"
KK_ANDI = "6471060101200004"

BUDI = nik_for(date(1980, 7, 5), "L", 1)
SITI = nik_for(date(1982, 3, 14), "P", 2)
RINA = nik_for(date(2010, 1, 9), "P", 3)
SCRIPT = nik_for(date(1990, 2, 2), "L", 4)
WATI = nik_for(date(1950, 5, 5), "P", 5)  # deceased
JOKO = nik_for(date(1970, 8, 8), "L", 6)  # moved out
ANDI = nik_for(date(1990, 11, 2), "L", 7)  # RT 006
CHILD = nik_for(date(2026, 11, 1), "P", 8)  # born: comes through the API

# username, role, scope and addresses
USERS: list[tuple[str, Role, dict[str, Any]]] = [
    ("head_a", Role.RT_HEAD, {"city": CITY, "rts": (RT_A,), "whatsapp": "+6281234567890"}),
    ("head_b", Role.RT_HEAD, {"city": CITY, "rts": (RT_B,)}),  # no address
    ("city_admin", Role.CITY_ADMIN, {"city": CITY, "email": "siti.admin@example.org"}),
    ("other_admin", Role.CITY_ADMIN, {"city": "64.72", "email": "lain@example.org"}),
    ("admin", Role.ADMIN, {"email": "root@example.org"}),
    ("health", Role.HEALTH_WORKER, {"city": CITY, "areas": ("64.71.06.1005",)}),
    ("integrator", Role.INTEGRATOR, {"city": CITY}),
]


@dataclass
class World:
    url: DatabaseURL
    user_ids: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


class Clock:
    def __init__(self, at: datetime = NOW) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


async def _seed(conn: Connection, world: World) -> None:
    await standard_city(conn)
    digest = hash_password(PASSWORD)
    for name, role, scope in USERS:
        principal, token = await add_user(conn, name, role, **scope)
        await set_password_hash(conn, principal.user_id, digest)
        world.user_ids[name] = principal.user_id
        world.tokens[name] = token
    people: list[dict[str, Any]] = [
        {"nik": BUDI, "name": "BUDI SANTOSO", "no_kk": KK_BUDI},
        {
            "nik": SITI,
            "name": "SITI AMINAH",
            "sex": "P",
            "birth_date": date(1982, 3, 14),
            "shdk": "istri",
            "no_kk": KK_BUDI,
        },
        {
            "nik": RINA,
            "name": "RINA LESTARI",
            "sex": "P",
            "birth_date": date(2010, 1, 9),
            "shdk": "anak",
            "no_kk": KK_BUDI,
            "marital_status": "belum_kawin",
        },
        {"nik": SCRIPT, "name": SCRIPT_NAME, "birth_date": date(1990, 2, 2), "no_kk": KK_SCRIPT},
        {
            "nik": WATI,
            "name": "WATI SUSANTI",
            "sex": "P",
            "birth_date": date(1950, 5, 5),
            "no_kk": KK_OLD,
            "status": "deceased",
            "date_of_death": date(2026, 10, 1),
        },
        {
            "nik": JOKO,
            "name": "JOKO PRANOTO",
            "birth_date": date(1970, 8, 8),
            "no_kk": KK_OLD,
            "shdk": "anak",
            "status": "moved_out",
        },
        {"nik": ANDI, "name": "ANDI WIJAYA", "no_kk": KK_ANDI, "rt_code": RT_B},
    ]
    for person in people:
        await add_resident(conn, **person)


def seed(url: DatabaseURL) -> World:
    world = World(url=url)

    async def go() -> None:
        async with make_database(url) as db:
            await db.write(lambda conn: _seed(conn, world))

    asyncio.run(go())
    return world


def make_client(world: World) -> TestClient[Any]:
    from rtbook.web.app import create_app

    app = create_app(world.url)
    app.state.clock = Clock()
    return TestClient(app)


def add_households(url: DatabaseURL, rt: str, households: int, per_household: int) -> list[str]:
    """``households`` KK of ``per_household`` members each in ``rt`` (Faker id_ID
    names); their NIKs."""
    from faker import Faker

    fake = Faker("id_ID")
    Faker.seed(6471)
    niks: list[str] = []

    async def unit(conn: Connection) -> None:
        serial = 100
        for h in range(households):
            no_kk = f"64710602022{h:05d}"
            for m in range(per_household):
                serial += 1
                sex = "L" if m % 2 == 0 else "P"
                birth = date(1950 + (serial % 60), 1 + serial % 12, 1 + serial % 28)
                nik = nik_for(birth, sex, serial % 10000, region="647106")
                niks.append(nik)
                name = (fake.first_name_male() if sex == "L" else fake.first_name_female()) + (
                    " " + fake.last_name()
                )
                await add_resident(
                    conn,
                    nik=nik,
                    name=name.upper()[:150],
                    sex=sex,
                    birth_date=birth,
                    no_kk=no_kk,
                    rt_code=rt,
                    shdk="kepala_keluarga" if m == 0 else ("istri" if m == 1 else "anak"),
                )

    async def go() -> None:
        async with make_database(url) as db:
            await db.write(unit)

    asyncio.run(go())
    return niks


_FULL_NIK = re.compile(r"(?<![0-9])[0-9]{16}(?![0-9])")


def login(client: TestClient[Any], username: str) -> None:
    """Log in afresh through the form, as a browser does (the client keeps the cookie)."""
    client.cookies.clear()
    response = page_login(client, username, PASSWORD)
    assert response.status_code == 303, response.text


def full_niks(text: str) -> set[str]:
    return set(_FULL_NIK.findall(text))


def ktp_el(nik: str, ident: str, completed_at: str = "2026-11-20T09:30:00+08:00") -> dict[str, Any]:
    return {
        "source": "siak-6471",
        "id": ident,
        "type": "ktp_el",
        "completed_at": completed_at,
        "nik": nik,
        "document_number": f"KTP-{ident}",
        "data": {},
    }


def birth(ident: str = "lahir-1") -> dict[str, Any]:
    return {
        "source": "siak-6471",
        "id": ident,
        "type": "akta_kelahiran",
        "completed_at": "2026-11-21T10:00:00+08:00",
        "nik": CHILD,
        "rt": RT_A,
        "data": {
            "child": {
                "name": "PUTRI KECIL",
                "sex": "P",
                "birth_date": "2026-11-01",
                "birth_place": "BALIKPAPAN",
                "no_kk": KK_BUDI,
                "shdk": "anak",
                "religion": "islam",
                "citizenship": "WNI",
            }
        },
    }


def send_services(client: TestClient[Any], world: World, *items: dict[str, Any]) -> None:
    """Services through POST /api/v1/services, as the registry's integration sends them."""
    response = client.post(
        "/api/v1/services", headers=world.auth("integrator"), json={"services": list(items)}
    )
    assert response.status_code == 200, response.text
    statuses = [r["status"] for r in response.json()["results"]]
    assert statuses == ["applied"] * len(items), response.text


def audit_rows(url: DatabaseURL, action: str) -> list[dict[str, Any]]:
    return sql(
        url,
        "SELECT username, action, target, scope, detail FROM audit_log WHERE action = $1"
        " ORDER BY id",
        action,
    )
