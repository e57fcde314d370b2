"""Test data of the reports plugin: a city whose history holds births, deaths, moves in,
out and between RTs (some reported months late, one across midnight city time), and an
independent count of the books from the same story.

Balikpapan (64.71, WITA) with kelurahan Damai (64.71.06.1005): RT 005 and 006 of RW
003 and RT 001 of RW 004; RT 001 of kelurahan 64.71.05.1001 in another kecamatan; a
second city (64.72). Residents are imported (no history rows); the services are
posted through ``POST /api/v1/services`` as the registry would.

The independent count does not read the ledger: it replays :data:`STORY` as a
timeline per person (who was in which RT from which city-local date) and counts.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
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

import rtbook_reports
from rtbook.core.auth import Role
from rtbook.core.db import Connection, make_database
from rtbook.core.passwords import hash_password
from rtbook.core.plugins.registry import PluginRegistry
from rtbook.core.plugins.settings import set_plugin
from rtbook.core.settings import DatabaseURL
from rtbook.core.users import set_password_hash

KELURAHAN = "64.71.06.1005"
KECAMATAN = "64.71.06"
RW_003 = "64.71.06.1005-003"
RT_D = "64.71.06.1005-004-001"  # RW 004 of the same kelurahan
RT_C = "64.71.05.1001-001-001"  # another kecamatan
PASSWORD = "kunci-laporan-biru-7"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MONTHS = ("2026-07", "2026-08", "2026-09", "2026-10", "2026-11")
AREAS = (RT_A, RT_B, RT_D, RT_C, RW_003, KELURAHAN, KECAMATAN, CITY)


@dataclass(frozen=True)
class Person:
    name: str
    sex: str
    birth: date
    rt: str | None  # imported into (None: born or arriving later)
    no_kk: str
    shdk: str
    citizenship: str = "WNI"
    status: str = "active"

    @property
    def nik(self) -> str:
        serial = sum(ord(c) for c in self.name) % 9000 + 1
        region = "647206" if self.rt == RT_OTHER_CITY else "647106"
        return nik_for(self.birth, self.sex, serial, region=region)


def kk(n: int) -> str:
    return f"64710601012000{n:02d}"


PEOPLE = [
    Person("ADI", "L", date(1970, 1, 5), RT_A, kk(1), "kepala_keluarga"),
    Person("SARI", "P", date(1972, 3, 6), RT_A, kk(1), "istri"),
    Person("HANA", "P", date(2000, 4, 7), RT_A, kk(1), "anak"),
    Person("ANDI", "L", date(1980, 5, 8), RT_A, kk(2), "kepala_keluarga"),
    Person("DEDI", "L", date(1985, 6, 9), RT_A, kk(3), "kepala_keluarga"),
    Person("JOHN", "L", date(1975, 7, 10), RT_A, kk(4), "kepala_keluarga", "WNA"),
    Person("CITRA", "P", date(1950, 8, 11), RT_B, kk(5), "kepala_keluarga"),
    Person("FAJAR", "L", date(1960, 9, 12), RT_B, kk(6), "kepala_keluarga"),
    Person("FITRI", "P", date(1962, 10, 13), RT_B, kk(6), "istri"),
    Person("GUNAWAN", "L", date(1990, 11, 14), RT_D, kk(7), "kepala_keluarga"),
    Person("GITA", "P", date(1940, 12, 15), RT_C, kk(8), "kepala_keluarga"),
    Person("IMAN", "L", date(1995, 1, 16), RT_C, kk(8), "anak"),
    # imported already gone: in no book
    Person("KAKEK", "L", date(1930, 2, 17), RT_A, kk(11), "kepala_keluarga", status="deceased"),
    Person("LUAR", "L", date(1977, 3, 18), RT_OTHER_CITY, "6472060101200001", "kepala_keluarga"),
    # added by services
    Person("BAYI SATU", "P", date(2026, 8, 10), None, kk(1), "anak"),
    Person("EVA", "P", date(1988, 4, 19), None, kk(9), "kepala_keluarga", "WNA"),
    Person("BAYI DUA", "L", date(2026, 9, 28), None, kk(7), "anak"),
]
BY_NAME = {p.name: p for p in PEOPLE}


@dataclass(frozen=True)
class Step:
    """One completed service: what the registry sends, and what the independent count
    needs (``day``: the event date in city time; ``to``/``from_``: RTs, None = away)."""

    kind: str  # birth | death | move_within | move_out | move_in | kk
    name: str
    day: date
    completed_at: str
    from_: str | None = None
    to: str | None = None
    place: str | None = None  # origin / destination outside the city
    new_kk: str | None = None


STORY = [
    Step("birth", "BAYI SATU", date(2026, 8, 10), "2026-08-12T10:00:00+08:00", to=RT_A),
    # reported in October, died in August
    Step("death", "GITA", date(2026, 8, 30), "2026-10-20T10:00:00+08:00", from_=RT_C),
    Step("move_within", "ANDI", date(2026, 9, 3), "2026-09-03T10:00:00+08:00", RT_A, RT_B),
    Step("death", "CITRA", date(2026, 9, 14), "2026-09-16T10:00:00+08:00", from_=RT_B),
    Step("move_out", "DEDI", date(2026, 9, 20), "2026-09-20T10:00:00+08:00", from_=RT_A,
         place="Samarinda"),
    Step("move_in", "EVA", date(2026, 9, 25), "2026-09-25T10:00:00+08:00", to=RT_A,
         place="Jakarta Selatan"),
    # 16:30 UTC on 30 September is 00:30 on 1 October in Balikpapan (WITA)
    Step("move_within", "IMAN", date(2026, 10, 1), "2026-09-30T16:30:00Z", RT_C, RT_A),
    # born in September, reported in October
    Step("birth", "BAYI DUA", date(2026, 9, 28), "2026-10-05T10:00:00+08:00", to=RT_D),
    Step("move_within", "FAJAR", date(2026, 10, 10), "2026-10-10T10:00:00+08:00", RT_B, RT_D),
    Step("move_in", "DEDI", date(2026, 10, 22), "2026-10-22T10:00:00+08:00", to=RT_B,
         place="Samarinda"),
    Step("kk", "HANA", date(2026, 10, 25), "2026-10-25T10:00:00+08:00", new_kk=kk(10)),
    # this month: changes the current state, not October's books
    Step("death", "ADI", date(2026, 11, 2), "2026-11-03T10:00:00+08:00", from_=RT_A),
]  # fmt: skip

USERS: list[tuple[str, Role, dict[str, Any]]] = [
    ("admin", Role.ADMIN, {}),
    ("city_admin", Role.CITY_ADMIN, {"city": CITY}),
    ("city_admin_other", Role.CITY_ADMIN, {"city": "64.72"}),
    ("head_a", Role.RT_HEAD, {"city": CITY, "rts": (RT_A,), "whatsapp": "+6281200000005",
                              "email": "head.a@example.org"}),
    ("head_b", Role.RT_HEAD, {"city": CITY, "rts": (RT_B,), "email": "head.b@example.org"}),
    ("head_ab", Role.RT_HEAD, {"city": CITY, "rts": (RT_A, RT_D), "whatsapp": "+6281200000007"}),
    ("hw", Role.HEALTH_WORKER, {"city": CITY, "areas": (KELURAHAN,)}),
    ("integrator", Role.INTEGRATOR, {"city": CITY}),
]  # fmt: skip


def reports_registry() -> PluginRegistry:
    """Only the reports plugin (whatever else is installed)."""
    registry = PluginRegistry()
    registry.register("reports", rtbook_reports)
    return registry


@dataclass
class World:
    url: DatabaseURL
    tokens: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


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
    for rt in (RT_C, RT_D):
        await add_rt(conn, rt)
    await add_region(conn, KECAMATAN, "Balikpapan Selatan", "kecamatan")
    await add_region(conn, KELURAHAN, "Damai", "kelurahan")
    await add_region(conn, "64.71.05", "Balikpapan Barat", "kecamatan")
    await add_region(conn, "64.71.05.1001", "Baru Ulu", "kelurahan")
    for p in PEOPLE:
        if p.rt is None:
            continue
        await add_resident(
            conn,
            nik=p.nik,
            name=p.name,
            sex=p.sex,
            birth_date=p.birth,
            rt_code=p.rt,
            city_code=p.rt[:5],
            no_kk=p.no_kk,
            shdk=p.shdk,
            citizenship=p.citizenship,
            status=p.status,
            marital_status="belum_kawin" if p.shdk == "anak" else "kawin",
            address=f"JL. MAWAR NO. {len(p.name)}",
            date_of_death=date(2020, 1, 1) if p.status == "deceased" else None,
        )
    digest = hash_password(PASSWORD)  # one hash for every user: argon2 is slow on purpose
    for username, role, scope in USERS:
        principal, token = await add_user(conn, username, role, **scope)
        world.tokens[username] = token
        world.user_ids[username] = principal.user_id
        await set_password_hash(conn, principal.user_id, digest)
    for city in (CITY, "64.72"):
        await set_plugin(conn, registry, city, "reports", enabled=True, config={}, user_id=None)


async def seed_database(url: DatabaseURL) -> World:
    world = World(url=url)
    async with make_database(url) as db:
        await db.write(lambda conn: seed(conn, world, reports_registry()))
    return world


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def resident_record(p: Person, rt: str) -> dict[str, Any]:
    return {
        "nik": p.nik,
        "name": p.name,
        "sex": p.sex,
        "birth_place": "BALIKPAPAN",
        "birth_date": p.birth.isoformat(),
        "religion": "islam",
        "marital_status": "belum_kawin" if p.shdk == "anak" else "kawin",
        "shdk": p.shdk,
        "citizenship": p.citizenship,
        "no_kk": p.no_kk,
        "address": f"JL. MAWAR NO. {len(p.name)}",
        "rt": rt,
    }


def service_item(step: Step, index: int) -> dict[str, Any]:
    p = BY_NAME[step.name]
    item: dict[str, Any] = {
        "source": "siak-6471",
        "id": f"story-{index}",
        "completed_at": step.completed_at,
        "nik": p.nik,
    }
    if step.kind == "birth":
        assert step.to is not None
        item.update(type="akta_kelahiran", rt=step.to, data={"child": resident_record(p, step.to)})
    elif step.kind == "death":
        item.update(type="akta_kematian", data={"date_of_death": step.day.isoformat()})
    elif step.kind == "move_within":
        item.update(type="pindah_dalam", rt=step.to, data={"from_rt": step.from_})
    elif step.kind == "move_out":
        item.update(type="pindah_keluar", data={"destination": step.place})
    elif step.kind == "move_in":
        assert step.to is not None
        item.update(
            type="pindah_datang",
            rt=step.to,
            data={"resident": resident_record(p, step.to), "origin": step.place},
        )
    elif step.kind == "kk":
        item.update(
            type="kk",
            data={"no_kk": step.new_kk, "members": [{"nik": p.nik, "shdk": "kepala_keluarga"}]},
        )
    return item


def post_story(client: Any, world: World) -> None:
    """Every step, one request each, in STORY's order (the posting order)."""
    for index, step in enumerate(STORY):
        response = client.post(
            "/api/v1/services",
            json={"services": [service_item(step, index)]},
            headers=world.auth("integrator"),
        )
        assert response.status_code == 200, response.text
        result = response.json()["results"][0]
        assert result["status"] == "applied", (step, result)


# -- the independent count -------------------------------------------------------------

BEGINNING = date(1, 1, 1)


def timeline(p: Person) -> list[tuple[date, str | None, bool]]:
    """(from day, RT or None, head of a family) in day order, from the story alone."""
    head = p.shdk == "kepala_keluarga"
    start_rt = p.rt if p.status == "active" and p.rt is not None and p.rt[:5] == CITY else None
    points: list[tuple[date, str | None, bool]] = [(BEGINNING, start_rt, head)]
    for step in STORY:
        if step.name != p.name:
            continue
        _, rt, head = points[-1]
        if step.kind in ("birth", "move_in", "move_within"):
            rt = step.to
        elif step.kind in ("death", "move_out"):
            rt = None
        elif step.kind == "kk":
            head = True
        points.append((step.day, rt, head))
    points.sort(key=lambda x: x[0])
    return points


def state_before(p: Person, day: date) -> tuple[str | None, bool]:
    """Where ``p`` was, and whether a family head, before ``day``."""
    rt, head = None, False
    for since, where, is_head in timeline(p):
        if since < day:
            rt, head = where, is_head
    return rt, head


def inside(rt: str | None, area: str) -> bool:
    return rt is not None and (rt == area or rt.startswith(area + ".") or rt.startswith(area + "-"))


def month_bounds(month: str) -> tuple[date, date]:
    year, number = (int(x) for x in month.split("-"))
    first = date(year, number, 1)
    return first, date(year + number // 12, number % 12 + 1, 1)


def _counts(people: Iterable[Person], with_kk: int | None = None) -> dict[str, int]:
    people = list(people)
    male = sum(1 for p in people if p.sex == "L")
    female = sum(1 for p in people if p.sex == "P")
    out = {"L": male, "P": female, "total": male + female}
    if with_kk is not None:
        out["kk"] = with_kk
    return out


def expected_rekap(area: str, month: str, citizenship: str | None = None) -> dict[str, Any]:
    """The B.3 numbers of ``area`` for ``month``, counted from the story."""
    first, after = month_bounds(month)
    people = [p for p in PEOPLE if citizenship is None or p.citizenship == citizenship]

    def present(day: date) -> list[Person]:
        return [p for p in people if inside(state_before(p, day)[0], area)]

    def heads(day: date) -> int:
        return sum(
            1 for p in people if inside(state_before(p, day)[0], area) and state_before(p, day)[1]
        )

    def moved(kinds: tuple[str, ...], into: bool) -> list[Person]:
        out = []
        for step in STORY:
            if step.kind not in kinds or not first <= step.day < after:
                continue
            rt = step.to if into else step.from_
            p = BY_NAME[step.name]
            if inside(rt, area) and p in people:
                out.append(p)
        return out

    kk_start = heads(first) if citizenship is None else None
    kk_end = heads(after) if citizenship is None else None
    return {
        "start": _counts(present(first), kk_start),
        "births": _counts(moved(("birth",), True)),
        "arrivals": _counts(moved(("move_in", "move_within"), True)),
        "deaths": _counts(moved(("death",), False)),
        "departures": _counts(moved(("move_out", "move_within"), False)),
        "end": _counts(present(after), kk_end),
    }


def present_names(area: str, day: date) -> list[str]:
    return sorted(p.name for p in PEOPLE if inside(state_before(p, day)[0], area))


_LOGIN_FORM = re.compile(r'action="/login">\s*<input type="hidden" name="_csrf" value="([^"]*)"')


def login(client: Any, username: str) -> None:
    """Log in through the form, as a browser does (the client keeps the cookie)."""
    client.cookies.clear()
    form = client.get("/login")
    found = _LOGIN_FORM.search(form.text)
    assert found is not None, form.text
    data = {"username": username, "password": PASSWORD, "_csrf": found.group(1)}
    response = client.post("/login", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
