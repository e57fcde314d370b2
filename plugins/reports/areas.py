"""The area of a report (a city, kecamatan, kelurahan, RW or RT), its parts, and who
may read it.

Scopes (CONTRACT.md, Reports): the RT's heads for their own RT, the city's
city_admin, admin; anyone else 403. An area that does not exist is 404, checked
before the scope (as the RT reads do). An RW is ``<kelurahan>-<RW, 3 digits>``, e.g.
``64.71.06.1005-003``: the books are kept per RT, RW and kelurahan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rtbook.core.auth import Principal, Role
from rtbook.core.db import Connection
from rtbook.core.errors import Forbidden, NotFound
from rtbook.core.ledger.reads import InvalidQuery
from rtbook.core.regions import region_level
from rtbook.core.validation import RT_CODE_PATTERN

LEVELS = ("city", "kecamatan", "kelurahan", "rw", "rt")
# the level below each level: the rows of its book
CHILD_LEVEL = {"city": "kecamatan", "kecamatan": "kelurahan", "kelurahan": "rw", "rw": "rt"}
RW_PATTERN = re.compile(r"([0-9]{2}\.[0-9]{2}\.[0-9]{2}\.[0-9]{4})-([0-9]{3})")
_AREA_MAX_LEN = 32
LEVEL_LABELS = {
    "city": "Kota/Kabupaten",
    "kecamatan": "Kecamatan",
    "kelurahan": "Kelurahan/Desa",
    "rw": "RW",
    "rt": "RT",
}


def unit_of(rt_code: str, level: str) -> str:
    """The code of the ``level`` unit an RT lies in (``rt``: the RT itself)."""
    kelurahan, rw, _ = rt_code.split("-")
    if level == "rt":
        return rt_code
    if level == "rw":
        return f"{kelurahan}-{rw}"
    if level == "kelurahan":
        return kelurahan
    if level == "kecamatan":
        return kelurahan[:8]
    return kelurahan[:5]


def short_label(code: str, level: str) -> str:
    """``RT 005/RW 003``, ``RW 003``; a region code as it is."""
    if level == "rt":
        _, rw, rt = code.split("-")
        return f"RT {rt}/RW {rw}"
    if level == "rw":
        return f"RW {code.split('-')[1]}"
    return code


@dataclass(frozen=True, slots=True)
class Area:
    code: str
    level: str  # city | kecamatan | kelurahan | rw | rt
    city: str
    timezone: str
    name: str  # e.g. "Kelurahan/Desa Damai", "RT 005/RW 003 Damai"

    def rt_pattern(self) -> str:
        """A LIKE pattern of the RT codes inside the area (an RT: just itself). Area
        codes hold only digits, dots and dashes, so nothing needs escaping."""
        if self.level == "rt":
            return self.code
        if self.level in ("kelurahan", "rw"):
            return self.code + "-%"
        return self.code + ".%"

    def contains(self, rt_code: str | None) -> bool:
        if rt_code is None:
            return False
        if self.level == "rt":
            return rt_code == self.code
        return rt_code.startswith(self.code + ("-" if self.level in ("kelurahan", "rw") else "."))


def parse_area(value: str | None) -> tuple[str, str]:
    """(code, level) of an ``area`` parameter; InvalidQuery (400) for anything else."""
    text = (value or "").strip()
    if not text:
        raise InvalidQuery(
            "area", "wajib diisi (required): kode kota, kecamatan, kelurahan, RW atau RT"
        )
    if len(text) <= _AREA_MAX_LEN:
        if RT_CODE_PATTERN.fullmatch(text):
            return text, "rt"
        if RW_PATTERN.fullmatch(text):
            return text, "rw"
        level = region_level(text)
        if level in LEVELS:
            return text, level
    raise InvalidQuery(
        "area",
        "harus kode kota, kecamatan, kelurahan, RW atau RT, mis. 64.71, 64.71.06.1005, "
        "64.71.06.1005-003 atau 64.71.06.1005-003-005 "
        "(must be a city, kecamatan, kelurahan, RW or RT code)",
    )


def _not_found(code: str) -> NotFound:
    return NotFound(f"wilayah {code} tidak ditemukan (area not found)")


async def region_names(conn: Connection, codes: list[str]) -> dict[str, str]:
    """Names of regions (city, kecamatan, kelurahan) by code; unknown codes left out."""
    if not codes:
        return {}
    marks = ", ".join(f"${i}" for i in range(1, len(codes) + 1))
    rows = await conn.fetch(f"SELECT code, name FROM region WHERE code IN ({marks})", *codes)
    names = {r["code"]: r["name"] for r in rows}
    cities = await conn.fetch(f"SELECT code, name FROM city WHERE code IN ({marks})", *codes)
    for r in cities:
        names.setdefault(r["code"], r["name"])
    return names


async def resolve_area(conn: Connection, code: str, level: str) -> Area:
    """The stored area: a city, a region of a city, an RW or kelurahan that has RTs, an RT."""
    city_code: str | None
    if level == "rt":
        city_code = await conn.fetchval("SELECT city_code FROM rt WHERE code = $1", code)
    elif level == "city":
        city_code = await conn.fetchval("SELECT code FROM city WHERE code = $1", code)
    else:
        city_code = None
        if level != "rw":
            city_code = await conn.fetchval("SELECT city_code FROM region WHERE code = $1", code)
        if city_code is None:  # known only through its RTs (always so for an RW)
            pattern = code + ("-%" if level in ("kelurahan", "rw") else ".%")
            city_code = await conn.fetchval(
                "SELECT city_code FROM rt WHERE city_code = $1 AND code LIKE $2 LIMIT 1",
                code[:5],
                pattern,
            )
    timezone = None
    if city_code is not None:
        timezone = await conn.fetchval("SELECT timezone FROM city WHERE code = $1", city_code)
    if city_code is None or timezone is None:
        raise _not_found(code)
    kelurahan = code.split("-")[0]
    names = await region_names(conn, [kelurahan] if level in ("rt", "rw") else [code])
    if level in ("rt", "rw"):
        place = names.get(kelurahan, kelurahan)
        name = f"{short_label(code, level)} {place}"
    else:
        name = f"{LEVEL_LABELS[level]} {names.get(code, code)}"
    return Area(code=code, level=level, city=city_code, timezone=timezone, name=name)


def may_read_area(principal: Principal, area: Area) -> bool:
    if principal.role is Role.ADMIN:
        return True
    if principal.role is Role.CITY_ADMIN:
        return principal.city_code == area.city
    if principal.role is Role.RT_HEAD:
        return area.level == "rt" and area.code in principal.rt_codes
    return False


def may_see_full_nik(principal: Principal, area: Area) -> bool:
    """Full NIKs in the books: the city's city_admin and admin only."""
    if principal.role is Role.ADMIN:
        return True
    return principal.role is Role.CITY_ADMIN and principal.city_code == area.city


def authorize_area(principal: Principal, area: Area) -> None:
    if not may_read_area(principal, area):
        raise Forbidden(
            "tidak berwenang melihat buku administrasi penduduk wilayah ini "
            "(not allowed to see the population books of this area)"
        )
