"""The area of a lansia list (a city, kecamatan, kelurahan or RT) and who may see it.

Scopes (CONTRACT.md, Lansia lists): a health worker inside their areas, an RT head
only their own RT, the city's city_admin, admin; anyone else 403. An area that does
not exist is 404 (checked before the scope, as the RT reads do).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from rtbook.core.auth import Principal, Role
from rtbook.core.db import Connection
from rtbook.core.errors import Forbidden, NotFound
from rtbook.core.ledger.reads import InvalidQuery
from rtbook.core.regions import region_level
from rtbook.core.validation import RT_CODE_PATTERN

AREA_LEVELS = ("city", "kecamatan", "kelurahan", "rt")
_AREA_MAX_LEN = 32


@dataclass(frozen=True, slots=True)
class Area:
    code: str
    level: str  # city | kecamatan | kelurahan | rt
    city: str
    timezone: str

    def rt_pattern(self) -> str:
        """A LIKE pattern of the RT codes inside the area (an RT: just itself).

        RT codes are ``<kelurahan>-RW-RT``: inside a city or kecamatan they start with
        ``code + "."``, inside a kelurahan with ``code + "-"``. Area codes hold only
        digits, dots and dashes, so nothing needs escaping. (A pattern, not a range:
        ranges over punctuation depend on the database's collation.)"""
        if self.level == "rt":
            return self.code
        return self.code + ("-%" if self.level == "kelurahan" else ".%")

    def today(self, now: datetime) -> date:
        """The calendar date of ``now`` in the city."""
        return now.astimezone(ZoneInfo(self.timezone)).date()


def parse_area(value: str | None) -> tuple[str, str]:
    """(code, level) of an ``area`` parameter; InvalidQuery (400) for anything else."""
    text = (value or "").strip()
    if not text:
        raise InvalidQuery(
            "area", "wajib diisi (required): kode kota, kecamatan, kelurahan atau RT"
        )
    if len(text) <= _AREA_MAX_LEN and RT_CODE_PATTERN.fullmatch(text):
        return text, "rt"
    level = region_level(text) if len(text) <= _AREA_MAX_LEN else None
    if level not in AREA_LEVELS:
        raise InvalidQuery(
            "area",
            "harus kode kota, kecamatan, kelurahan atau RT, mis. 64.71, 64.71.06.1005 atau "
            "64.71.06.1005-003-005 (must be a city, kecamatan, kelurahan or RT code)",
        )
    return text, level


def _not_found(code: str) -> NotFound:
    return NotFound(f"wilayah {code} tidak ditemukan (area not found)")


async def resolve_area(conn: Connection, code: str, level: str) -> Area:
    """The stored area: a city, a region of a city (or a kelurahan that has RTs), an RT."""
    city_code: str | None
    if level == "rt":
        city_code = await conn.fetchval("SELECT city_code FROM rt WHERE code = $1", code)
    elif level == "city":
        city_code = code
    else:
        city_code = await conn.fetchval("SELECT city_code FROM region WHERE code = $1", code)
        if city_code is None:  # a kelurahan/kecamatan known only through its RTs
            city_code = await conn.fetchval(
                "SELECT city_code FROM rt WHERE city_code = $1 AND code LIKE $2 LIMIT 1",
                code[:5],
                Area(code, level, code[:5], "UTC").rt_pattern(),
            )
    timezone = None
    if city_code is not None:
        timezone = await conn.fetchval("SELECT timezone FROM city WHERE code = $1", city_code)
    if city_code is None or timezone is None:
        raise _not_found(code)
    return Area(code=code, level=level, city=city_code, timezone=timezone)


def may_read_area(principal: Principal, area: Area) -> bool:
    if principal.role is Role.ADMIN:
        return True
    if principal.role is Role.CITY_ADMIN:
        return principal.city_code == area.city
    if principal.role is Role.HEALTH_WORKER:
        return principal.covers_area(area.code)
    if principal.role is Role.RT_HEAD:
        return area.level == "rt" and area.code in principal.rt_codes
    return False


def authorize_area(principal: Principal, area: Area) -> None:
    if not may_read_area(principal, area):
        raise Forbidden(
            "tidak berwenang melihat daftar lansia wilayah ini "
            "(not allowed to see the lansia list of this area)"
        )


def may_record_doses(principal: Principal, rt_code: str, city: str) -> bool:
    """Health workers whose areas cover the RT, the city's city_admin, admin."""
    if principal.role is Role.ADMIN:
        return True
    if principal.role is Role.CITY_ADMIN:
        return principal.city_code == city
    if principal.role is Role.HEALTH_WORKER:
        return principal.covers_area(rt_code)
    return False


def may_read_resident(principal: Principal, rt_code: str, city: str) -> bool:
    """A resident's doses: whoever may see the lansia list of the resident's RT."""
    return may_read_area(principal, Area(rt_code, "rt", city, "UTC"))
