"""RTs: the neighbourhood units whose books rtbook keeps.

An RT is named ``<kelurahan>-<RW 3 digits>-<RT 3 digits>``; RW and RT numbers are
local, so only the kelurahan is checked against the region list. Adding is all or
nothing: one bad code refuses the whole batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from rtbook.core.db import Connection
from rtbook.core.errors import RtbookError
from rtbook.core.validation import RT_CODE_PATTERN, Issues, check_rt_code


@dataclass(frozen=True, slots=True)
class RTCode:
    code: str
    kelurahan: str
    rw: str
    rt: str

    @property
    def kecamatan(self) -> str:
        return self.kelurahan[:8]

    @property
    def city(self) -> str:
        return self.kelurahan[:5]


def parse_rt_code(code: str) -> RTCode:
    """Split a well-formed RT code; RtbookError naming the code when it is not."""
    issues = Issues()
    check_rt_code(code, "rt", issues)
    match = RT_CODE_PATTERN.fullmatch(code) if not issues else None
    if match is None:
        raise RtbookError(f"RT {code!r}: {issues.errors[0].message}")
    kelurahan, rw, rt = match.groups()
    if rw == "000" or rt == "000":
        raise RtbookError(f"RT {code}: nomor RW dan RT mulai dari 001 (RW and RT start at 001)")
    return RTCode(code=code, kelurahan=kelurahan, rw=rw, rt=rt)


def parse_rt_codes(codes: Iterable[str]) -> list[RTCode]:
    """Parse every code (repeats collapse); one RtbookError listing all bad ones."""
    parsed: dict[str, RTCode] = {}
    problems: list[str] = []
    for code in codes:
        try:
            parsed.setdefault(code, parse_rt_code(code))
        except RtbookError as exc:
            problems.append(str(exc))
    if problems:
        raise RtbookError("; ".join(problems))
    if not parsed:
        raise RtbookError("tidak ada kode RT (no RT code given)")
    return list(parsed.values())


async def _added_city_of_kelurahan(conn: Connection, kelurahan: str) -> str | None:
    """The kelurahan's city when the kelurahan is stored and its city was added."""
    return await conn.fetchval(
        "SELECT r.city_code FROM region r JOIN city c ON c.code = r.city_code"
        " WHERE r.code = $1 AND r.level = $2",
        kelurahan,
        "kelurahan",
    )


async def check_new_rts(conn: Connection, rts: list[RTCode]) -> None:
    """RtbookError naming every RT that cannot be added (unknown kelurahan, city not
    added, or the RT already present)."""
    problems: list[str] = []
    for item in rts:
        if await _added_city_of_kelurahan(conn, item.kelurahan) is None:
            problems.append(
                f"RT {item.code}: kelurahan {item.kelurahan} tidak ada di kota yang sudah "
                "ditambahkan (kelurahan not in an added city)"
            )
        elif await conn.fetchval("SELECT 1 FROM rt WHERE code = $1", item.code) is not None:
            problems.append(f"RT {item.code} sudah ada (already added)")
    if problems:
        raise RtbookError("; ".join(problems))


async def add_rts(
    conn: Connection, codes: Iterable[str], *, now: datetime | None = None
) -> list[RTCode]:
    """Add RTs, all or nothing (run inside a write transaction). An RT already present
    is an error naming it, like any other bad code."""
    rts = parse_rt_codes(codes)
    await check_new_rts(conn, rts)
    now = now or datetime.now(UTC)
    await conn.executemany(
        "INSERT INTO rt (code, city_code, kecamatan_code, kelurahan_code, rw, rt, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [(r.code, r.city, r.kecamatan, r.kelurahan, r.rw, r.rt, now) for r in rts],
    )
    return rts


async def rt_cities(conn: Connection, codes: Iterable[str]) -> dict[str, str]:
    """city_code of each stored RT among ``codes`` (missing ones are left out)."""
    found: dict[str, str] = {}
    for code in set(codes):
        city = await conn.fetchval("SELECT city_code FROM rt WHERE code = $1", code)
        if city is not None:
            found[code] = city
    return found
