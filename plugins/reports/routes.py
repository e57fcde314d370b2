"""The reports plugin's HTTP routes (mounted under /api/v1 behind the plugin gate,
which answers 404 in a city where the plugin is not enabled; the gate finds the city
in ``area``).

- ``GET /reports/rekapitulasi?area=&month=``: B.3 (CONTRACT.md, Reports), JSON or XLSX;
- ``GET /reports/induk?area=&month=&nik=``: B.1, JSON or XLSX;
- ``GET /reports/mutasi?area=&month=&nik=``: B.2, JSON or XLSX.

XLSX with ``Accept:`` the XLSX media type, or ``format=xlsx`` (for links in a
browser; it wins over Accept). Every book served is recorded in the audit trail.
Imported only by the ``rtbook_api_routes`` hook, so the plugin imports without the
web layer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get
from litestar.openapi.datastructures import ResponseSpec

from rtbook.core.ledger.reads import InvalidQuery
from rtbook.web.deps import DB, Caller
from rtbook.web.errors import error_responses
from rtbook.web.params import choice_query, text_query
from rtbook_reports import books
from rtbook_reports.exports import XLSX_TYPE, induk_xlsx, mutasi_xlsx, rekap_xlsx
from rtbook_reports.registers import Induk, Mutasi

TAGS = ["reports"]
JSON_TYPE = "application/json"
FORMATS = ("json", "xlsx")
MEDIA_TYPES = {"json": JSON_TYPE, "xlsx": XLSX_TYPE}
_encode = msgspec.json.Encoder().encode


class Counts(msgspec.Struct):
    """COUNTS: men (L), women (P), total; ``kk`` (households whose head is counted)
    only in ``start`` and ``end``."""

    L: int
    P: int
    total: int
    kk: int | None = None


class RekapBody(msgspec.Struct):
    """The contract's B.3 JSON; ``level``, ``name``, ``by_citizenship`` (WNI/WNA ->
    metric -> COUNTS without kk) and ``parts`` (the same per unit one level down) are
    rtbook's additions."""

    area: str
    month: str
    start: Counts
    births: Counts
    arrivals: Counts
    deaths: Counts
    departures: Counts
    end: Counts
    level: str
    name: str
    by_citizenship: dict[str, dict[str, Counts]]
    parts: list[dict[str, Any]]


def pick_format(request: Request[Any, Any, Any], requested: str | None) -> str:
    """``format`` when given, else the best match of the Accept header (JSON default)."""
    if requested is not None and requested.strip():
        text = requested.strip().lower()
        if text not in FORMATS:
            raise InvalidQuery("format", "harus json atau xlsx (must be json or xlsx)")
        return text
    best = request.accept.best_match([JSON_TYPE, XLSX_TYPE], default=JSON_TYPE)
    return "xlsx" if best == XLSX_TYPE else "json"


def _answer(content: bytes, fmt: str, filename: str) -> Response[bytes]:
    headers = {"Cache-Control": "no-store"}
    if fmt == "xlsx":
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(content, media_type=MEDIA_TYPES[fmt], headers=headers)


AREA_DOC = "Kode kota, kecamatan, kelurahan, RW (kelurahan-RW) atau RT (area code)"
MONTH_DOC = "Bulan YYYY-MM (month); kosong = bulan lalu di kota itu (empty: last month)"
FORMAT_DOC = "json atau xlsx (instead of Accept)"
NIK_DOC = (
    "masked (bawaan: 4 digit terakhir) atau full (hanya city_admin dan admin; dicatat) "
    "(NIK shown masked by default; full for city admins only, audited)"
)
SCOPE_TEXT = (
    "Ketua RT untuk RT-nya, city_admin kotanya, admin; XLSX dengan `Accept: "
    f"{XLSX_TYPE}` atau `format=xlsx`. Setiap pembacaan dicatat di jejak audit. (RT heads "
    "for their RT, city_admin, admin; XLSX by Accept or format; every read is audited.)"
)


def _xlsx_spec(container: type, text: str) -> dict[int, ResponseSpec]:
    return {
        200: ResponseSpec(data_container=container, description=text, generate_examples=False),
        **error_responses(400, 401, 403, 404),
    }


REKAP_ROUTE = dict(
    path="/reports/rekapitulasi",
    summary="Buku rekapitulasi jumlah penduduk B.3 (monthly population recap)",
    description=(
        "Jumlah penduduk awal bulan, lahir, datang, meninggal, pindah dan akhir bulan per "
        "jenis kelamin (dan kewarganegaraan), dengan jumlah KK; menurut tanggal peristiwa. "
        "Pindah antar-RT = pindah dari satu RT dan datang di RT lain. " + SCOPE_TEXT
    ),
    tags=TAGS,
    responses=_xlsx_spec(RekapBody, "B.3 (JSON; XLSX by Accept)"),
)


async def rekapitulasi(
    request: Request[Any, Any, Any],
    db: DB,
    principal: Caller,
    area: Annotated[str | None, text_query(AREA_DOC, max_length=32)] = None,
    month: Annotated[str | None, text_query(MONTH_DOC, max_length=7)] = None,
    format: Annotated[str | None, choice_query(FORMAT_DOC, FORMATS)] = None,
) -> Response[bytes]:
    fmt = pick_format(request, format)
    served = await books.rekap_for(db, principal, area, month)
    rekap = served.book
    if fmt == "xlsx":
        content = await asyncio.to_thread(rekap_xlsx, rekap)
    else:
        content = _encode(rekap.as_json())
    await books.record_read(db, principal, books.ACTION_REKAP, served, fmt=fmt, rows=len(rekap.rts))
    return _answer(content, fmt, f"B3-rekapitulasi-{served.area.code}-{served.month}.xlsx")


@dataclass(frozen=True, slots=True)
class _Book:
    """How one register (B.1 or B.2) is read, written as XLSX and audited."""

    load: Callable[..., Awaitable[Any]]  # books.induk_for / books.mutasi_for
    xlsx: Callable[[Any, str], bytes]
    action: str
    prefix: str  # of the XLSX file name


_INDUK = _Book(books.induk_for, induk_xlsx, books.ACTION_INDUK, "B1-induk")
_MUTASI = _Book(books.mutasi_for, mutasi_xlsx, books.ACTION_MUTASI, "B2-mutasi")


async def _register(
    request: Request[Any, Any, Any],
    db: Any,
    principal: Any,
    area: str | None,
    month: str | None,
    nik: str | None,
    format: str | None,
    book: _Book,
) -> Response[bytes]:
    """B.1 or B.2 as JSON or XLSX, its read written to the audit trail."""
    fmt = pick_format(request, format)
    served = await book.load(db, principal, area, month, books.parse_nik_mode(nik))
    register = served.book
    if fmt == "xlsx":
        content = await asyncio.to_thread(book.xlsx, register, served.month.label())
    else:
        content = _encode(register)
    await books.record_read(db, principal, book.action, served, fmt=fmt, rows=len(register.items))
    return _answer(content, fmt, f"{book.prefix}-{served.area.code}-{served.month}.xlsx")


INDUK_ROUTE = dict(
    path="/reports/induk",
    summary="Buku induk penduduk B.1 (resident register at the end of a month)",
    description=(
        "Penduduk yang tercatat di wilayah pada akhir bulan, 16 kolom buku induk "
        "(Permendagri 47/2016); per kelurahan, RW atau RT. NIK dan No. KK disamarkan "
        "kecuali `nik=full`. " + SCOPE_TEXT
    ),
    tags=TAGS,
    responses=_xlsx_spec(Induk, "B.1 (JSON; XLSX by Accept)"),
)


async def induk(
    request: Request[Any, Any, Any],
    db: DB,
    principal: Caller,
    area: Annotated[str | None, text_query(AREA_DOC, max_length=32)] = None,
    month: Annotated[str | None, text_query(MONTH_DOC, max_length=7)] = None,
    nik: Annotated[str | None, choice_query(NIK_DOC, books.NIK_MODES)] = None,
    format: Annotated[str | None, choice_query(FORMAT_DOC, FORMATS)] = None,
) -> Response[bytes]:
    return await _register(request, db, principal, area, month, nik, format, _INDUK)


MUTASI_ROUTE = dict(
    path="/reports/mutasi",
    summary="Buku mutasi penduduk B.2 (births, arrivals, deaths, departures of a month)",
    description=(
        "Kelahiran, kedatangan (dari mana, kapan), kematian (di mana, kapan) dan "
        "kepindahan (ke mana, kapan) di wilayah menurut tanggal peristiwa. NIK disamarkan "
        "kecuali `nik=full`. " + SCOPE_TEXT
    ),
    tags=TAGS,
    responses=_xlsx_spec(Mutasi, "B.2 (JSON; XLSX by Accept)"),
)


async def mutasi(
    request: Request[Any, Any, Any],
    db: DB,
    principal: Caller,
    area: Annotated[str | None, text_query(AREA_DOC, max_length=32)] = None,
    month: Annotated[str | None, text_query(MONTH_DOC, max_length=7)] = None,
    nik: Annotated[str | None, choice_query(NIK_DOC, books.NIK_MODES)] = None,
    format: Annotated[str | None, choice_query(FORMAT_DOC, FORMATS)] = None,
) -> Response[bytes]:
    return await _register(request, db, principal, area, month, nik, format, _MUTASI)


def handlers() -> list[Any]:
    """New handler objects on every call (each app gets its own)."""
    return [
        get(**REKAP_ROUTE)(rekapitulasi),
        get(**INDUK_ROUTE)(induk),
        get(**MUTASI_ROUTE)(mutasi),
    ]
