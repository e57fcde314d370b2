"""Serving a book to a caller: checks, the computation, and the audit row.

Each read is one read unit (the area, the caller's scope, the month and the book),
then one write unit for the audit row (rtbook.core.audit), written before the answer
leaves: no book is served without its row. The computation runs in a read unit, not
a write unit, so a city-wide book never holds SQLite's write lock.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from rtbook.core import audit
from rtbook.core.auth import Principal
from rtbook.core.db import Connection, Database
from rtbook.core.errors import Forbidden
from rtbook.core.ledger.reads import InvalidQuery
from rtbook_reports.areas import (
    Area,
    authorize_area,
    may_see_full_nik,
    parse_area,
    resolve_area,
)
from rtbook_reports.months import Month, parse_month
from rtbook_reports.registers import INDUK_LEVELS, compute_induk, compute_mutasi
from rtbook_reports.rekap import compute_rekap

T = TypeVar("T")
ACTION_REKAP = "reports.rekapitulasi"
ACTION_INDUK = "reports.induk"
ACTION_MUTASI = "reports.mutasi"
NIK_MODES = ("masked", "full")


@dataclass(frozen=True, slots=True)
class Served(Generic[T]):
    area: Area
    month: Month
    book: T
    full_nik: bool = False


def parse_nik_mode(value: str | None) -> bool:
    """``nik=full`` -> True; empty or ``masked`` -> False; else InvalidQuery (400)."""
    text = (value or "").strip().lower()
    if text in ("", "masked"):
        return False
    if text == "full":
        return True
    raise InvalidQuery("nik", "harus masked atau full (must be masked or full)")


async def _area_and_month(
    conn: Connection, principal: Principal, area_text: str | None, month_text: str | None
) -> tuple[Area, Month]:
    code, level = parse_area(area_text)
    area = await resolve_area(conn, code, level)
    authorize_area(principal, area)
    today = datetime.now(UTC).astimezone(ZoneInfo(area.timezone)).date()
    return area, parse_month(month_text, today)


async def serve(
    db: Database,
    principal: Principal,
    *,
    area_text: str | None,
    month_text: str | None,
    full_nik: bool = False,
    compute: Callable[[Connection, Area, Month], Awaitable[T]],
    check: Callable[[Area], None] | None = None,
) -> Served[T]:
    """Check the request, compute the book in a read unit; the audit row is the
    caller's to write (:func:`record_read`) once the format is known."""
    parse_area(area_text)  # a bad area is 400 before any database work

    async def unit(conn: Connection) -> Served[T]:
        area, month = await _area_and_month(conn, principal, area_text, month_text)
        if check is not None:
            check(area)
        if full_nik and not may_see_full_nik(principal, area):
            raise Forbidden(
                "NIK lengkap hanya untuk admin kota (full NIKs are for city admins only)"
            )
        return Served(area, month, await compute(conn, area, month), full_nik)

    return await db.read(unit)


async def record_read(
    db: Database,
    principal: Principal,
    action: str,
    served: Served[Any],
    *,
    fmt: str,
    rows: int,
) -> None:
    detail: dict[str, Any] = {"month": str(served.month), "format": fmt, "rows": rows}
    if action != ACTION_REKAP:
        detail["nik"] = "full" if served.full_nik else "masked"
    await db.write(
        lambda conn: audit.record(
            conn, principal, action, served.area.code, served.area.city, detail
        )
    )


def check_induk_area(area: Area) -> None:
    if area.level not in INDUK_LEVELS:
        raise InvalidQuery(
            "area",
            "buku induk disusun per kelurahan, RW atau RT; pilih salah satu "
            "(B.1 is kept per kelurahan, RW or RT: choose one)",
        )


async def rekap_for(
    db: Database, principal: Principal, area: str | None, month: str | None
) -> Served[Any]:
    return await serve(db, principal, area_text=area, month_text=month, compute=compute_rekap)


async def induk_for(
    db: Database, principal: Principal, area: str | None, month: str | None, full_nik: bool
) -> Served[Any]:
    async def compute(conn: Connection, a: Area, m: Month) -> Any:
        return await compute_induk(conn, a, m, full_nik=full_nik)

    return await serve(
        db,
        principal,
        area_text=area,
        month_text=month,
        full_nik=full_nik,
        compute=compute,
        check=check_induk_area,
    )


async def mutasi_for(
    db: Database, principal: Principal, area: str | None, month: str | None, full_nik: bool
) -> Served[Any]:
    async def compute(conn: Connection, a: Area, m: Month) -> Any:
        return await compute_mutasi(conn, a, m, full_nik=full_nik)

    return await serve(
        db,
        principal,
        area_text=area,
        month_text=month,
        full_nik=full_nik,
        compute=compute,
    )
