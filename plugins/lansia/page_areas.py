"""Which areas a reader may pick on the lansia page, and the area a page opens with.

The choices are the reader's own scope (CONTRACT.md, Lansia lists): an RT head's RTs;
a health worker's areas with the kecamatan/kelurahan inside them; the whole city for
its city_admin (admin: the city being looked at). RTs are offered for the kelurahan
being looked at only, so the select stays short on a phone (a city has ~1,700 RTs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rtbook.core.auth import Principal, Role, region_contains
from rtbook.core.db import Connection
from rtbook.core.errors import NotFound
from rtbook.core.plugins.settings import enabled_plugins
from rtbook_lansia.areas import Area, authorize_area, may_read_area, resolve_area
from rtbook_lansia.config import min_age_of
from rtbook_lansia.listing import PLUGIN

_LEVEL_PREFIX = {"kecamatan": "Kec. ", "kelurahan": "Kel. "}


@dataclass(frozen=True, slots=True)
class AreaChoice:
    code: str
    label: str


@dataclass(frozen=True, slots=True)
class PageContext:
    area: Area
    city_min_age: int
    choices: list[AreaChoice]


def default_area(principal: Principal, params: Mapping[str, str]) -> str | None:
    """``area`` (or ``rt``) of the address, else the reader's first area."""
    for key in ("area", "rt"):
        value = (params.get(key) or "").strip()
        if value:
            return value
    if principal.role is Role.RT_HEAD and principal.rt_codes:
        return min(principal.rt_codes)
    if principal.role is Role.HEALTH_WORKER and principal.area_codes:
        return min(principal.area_codes)
    if principal.role is Role.CITY_ADMIN:
        return principal.city_code
    city = (params.get("city") or "").strip()
    return city or None


def _roots(principal: Principal, city: str) -> list[str]:
    if principal.role is Role.RT_HEAD:
        return sorted(rt for rt in principal.rt_codes if rt.startswith(city))
    if principal.role is Role.HEALTH_WORKER:
        return sorted(a for a in principal.area_codes if a.startswith(city))
    return [city]


def rt_label(code: str) -> str:
    parts = code.split("-")
    return f"RT {parts[2]}/RW {parts[1]}" if len(parts) == 3 else code


async def area_choices(conn: Connection, principal: Principal, area: Area) -> list[AreaChoice]:
    """The areas of the reader's scope in ``area``'s city (the selected one included)."""
    roots = _roots(principal, area.city)
    names: dict[str, str] = {}
    city_name = await conn.fetchval("SELECT name FROM city WHERE code = $1", area.city)
    names[area.city] = f"Kota {city_name or area.city}"
    regions = await conn.fetch(
        "SELECT code, name, level FROM region WHERE city_code = $1"
        " AND level IN ('kecamatan', 'kelurahan') ORDER BY code",
        area.city,
    )
    for row in regions:
        names[row["code"]] = _LEVEL_PREFIX.get(row["level"], "") + str(row["name"])
    codes = {c for c in names if any(region_contains(root, c) for root in roots)}
    codes.update(roots)
    if area.level in ("kelurahan", "rt"):
        kelurahan = area.code.split("-")[0]
        rows = await conn.fetch(
            "SELECT code FROM rt WHERE city_code = $1 AND kelurahan_code = $2 ORDER BY code",
            area.city,
            kelurahan,
        )
        codes.update(
            r["code"]
            for r in rows
            if may_read_area(principal, Area(r["code"], "rt", area.city, area.timezone))
        )
    codes.add(area.code)
    return [
        AreaChoice(code, rt_label(code) if "-" in code else names.get(code, code))
        for code in sorted(codes)
    ]


async def page_context(
    conn: Connection, principal: Principal, code: str, level: str
) -> PageContext:
    """The area (404 unknown), the reader's right to it (403), the city's min_age (404
    where the plugin is off) and the choices of the area select."""
    area = await resolve_area(conn, code, level)
    authorize_area(principal, area)
    state = (await enabled_plugins(conn, area.city)).get(PLUGIN)
    if state is None:
        raise NotFound("plugin lansia tidak aktif di kota ini (plugin not enabled here)")
    return PageContext(
        area=area,
        city_min_age=min_age_of(state.config),
        choices=await area_choices(conn, principal, area),
    )
