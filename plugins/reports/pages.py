"""The reports plugin's phone pages, mounted at the site root behind the plugin gate
(404 where the plugin is off in the request's city):

- ``GET /laporan?area=&month=``: B.3 of an area for a month (the RT head's first RT,
  the city admin's city by default), the units one level down as links, the population
  pyramid (an inline SVG, for a kelurahan, RW or RT), and links to the XLSX books and
  the printable B.1/B.2;
- ``GET /laporan/unduh?buku=rekapitulasi|induk|mutasi&area=&month=``: the XLSX;
- ``GET /laporan/cetak?buku=induk|mutasi&area=&month=``: B.1 or B.2 as a page that
  prints on A4 landscape (``@page laporan`` in rtbook.css).

Scopes, masking and the audit trail are the API's (rtbook_reports.books): every page
or download is one audit row. NIKs are always masked on pages. Imported only by the
``rtbook_page_routes`` hook.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from litestar import MediaType, Request, Response, get

from rtbook.core.auth import Principal, Role
from rtbook.core.db import Connection
from rtbook.core.errors import Forbidden, NotFound
from rtbook.core.ledger.reads import InvalidQuery
from rtbook.web.login import page_session, require_login
from rtbook.web.pages.layout import render_error, render_page
from rtbook_reports import books
from rtbook_reports.areas import LEVEL_LABELS
from rtbook_reports.exports import XLSX_TYPE, induk_xlsx, mutasi_xlsx, rekap_xlsx
from rtbook_reports.pyramid import count_groups, draw
from rtbook_reports.registers import INDUK_LEVELS, compute_induk
from rtbook_reports.rekap import METRICS, Rekap

PAGE_TITLE = "Laporan bulanan (monthly books)"
BOOKS = ("rekapitulasi", "induk", "mutasi")
PRINTABLE = ("induk", "mutasi")
METRIC_NAMES = {
    "start": "Awal bulan (start)",
    "births": "Lahir (births)",
    "arrivals": "Datang (arrivals)",
    "deaths": "Meninggal (deaths)",
    "departures": "Pindah (departures)",
    "end": "Akhir bulan (end)",
}
BOOK_NAMES = {
    "rekapitulasi": "B.3 Buku Rekapitulasi Jumlah Penduduk",
    "induk": "B.1 Buku Induk Penduduk",
    "mutasi": "B.2 Buku Mutasi Penduduk",
}
MENU_ROLES = (Role.RT_HEAD, Role.CITY_ADMIN, Role.ADMIN)


async def _principal(request: Request[Any, Any, Any]) -> Principal:
    session = await page_session(request)
    assert session is not None  # require_login
    return session.principal


def _params(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {k: v[:64] for k, v in request.query_params.items()}


def default_area(principal: Principal, params: Mapping[str, str]) -> str | None:
    """``area`` of the address, else the RT head's first RT, else the reader's city."""
    value = (params.get("area") or "").strip()
    if value:
        return value
    if principal.role is Role.RT_HEAD and principal.rt_codes:
        return min(principal.rt_codes)
    return principal.city_code or (params.get("city") or "").strip() or None


def _refused(exc: Exception) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Forbidden):
        return 403
    return 400


def _message(exc: Exception) -> str:
    if isinstance(exc, InvalidQuery):
        return f"{exc.field}: {exc.message}"
    return str(exc)


def _href(path: str, **query: str) -> str:
    return f"{path}?{urlencode(query)}"


def _counts_rows(rekap: Rekap) -> list[dict[str, Any]]:
    rows = []
    for metric in METRICS:
        counts = rekap.total.counts(metric)
        rows.append({"name": METRIC_NAMES[metric], "kk": counts.get("kk"), **counts})
    return rows


async def reports_page(request: Request[Any, Any, Any]) -> Response[str]:
    principal = await _principal(request)
    params = _params(request)
    area_text = default_area(principal, params)
    db = request.app.state.db
    try:
        served = await books.rekap_for(db, principal, area_text, params.get("month"))
    except (InvalidQuery, NotFound, Forbidden) as exc:
        return await render_error(request, _refused(exc), _message(exc), back="/laporan")
    rekap: Rekap = served.book
    area, month = served.area, served.month
    pyramid = None
    if area.level in INDUK_LEVELS:

        async def people(conn: Connection) -> Any:
            return await compute_induk(conn, area, month, full_nik=False)

        induk = await db.read(people)
        day = month.next_first - timedelta(days=1)  # ages on the month's last day
        pyramid = draw(count_groups(((i.sex, i.birth_date) for i in induk.items), day))
    await books.record_read(
        db, principal, books.ACTION_REKAP, served, fmt="html", rows=len(rekap.rts)
    )
    query = {"area": area.code, "month": str(month)}
    later = month.next()
    return await render_page(
        request,
        "reports/page.html",
        title=f"{area.name} · {month.label()}",
        area=area,
        level_label=LEVEL_LABELS[area.level],
        month=month,
        month_value=str(month),
        rows=_counts_rows(rekap),
        parts=[
            {
                "name": p.name,
                "href": _href("/laporan", area=p.code, month=str(month)),
                "start": p.tally.get("start"),
                "plus": p.tally.get("births") + p.tally.get("arrivals"),
                "minus": p.tally.get("deaths") + p.tally.get("departures"),
                "end": p.tally.get("end"),
                "kk": p.tally.kk[1],
            }
            for p in rekap.parts
        ],
        pyramid=pyramid,
        previous_href=_href("/laporan", area=area.code, month=str(month.previous())),
        next_href=(
            _href("/laporan", area=area.code, month=str(later))
            if later.first <= _today_month_first(area.timezone)
            else None
        ),
        downloads=[
            {
                "name": BOOK_NAMES[book],
                "href": _href("/laporan/unduh", buku=book, **query),
                "print": _href("/laporan/cetak", buku=book, **query)
                if book in PRINTABLE and area.level in INDUK_LEVELS
                else None,
                "id": f"unduh-{book}",
            }
            for book in BOOKS
            if book != "induk" or area.level in INDUK_LEVELS
        ],
    )


def _today_month_first(timezone: str) -> date:
    today = datetime.now(UTC).astimezone(ZoneInfo(timezone)).date()
    return today.replace(day=1)


def _book(params: Mapping[str, str], allowed: tuple[str, ...]) -> str:
    book = (params.get("buku") or "").strip().lower()
    if book not in allowed:
        raise InvalidQuery("buku", "harus " + ", ".join(allowed) + " (must be one of these)")
    return book


async def _serve_book(
    request: Request[Any, Any, Any], principal: Principal, book: str, params: Mapping[str, str]
) -> books.Served[Any]:
    db = request.app.state.db
    area, month = default_area(principal, params), params.get("month")
    if book == "rekapitulasi":
        return await books.rekap_for(db, principal, area, month)
    if book == "induk":
        return await books.induk_for(db, principal, area, month, False)
    return await books.mutasi_for(db, principal, area, month, False)


async def download(request: Request[Any, Any, Any]) -> Response[Any]:
    principal = await _principal(request)
    params = _params(request)
    db = request.app.state.db
    try:
        book = _book(params, BOOKS)
        served = await _serve_book(request, principal, book, params)
    except (InvalidQuery, NotFound, Forbidden) as exc:
        return await render_error(request, _refused(exc), _message(exc), back="/laporan")
    label = served.month.label()
    if book == "rekapitulasi":
        content = await asyncio.to_thread(rekap_xlsx, served.book)
        rows = len(served.book.rts)
        action = books.ACTION_REKAP
    elif book == "induk":
        content = await asyncio.to_thread(induk_xlsx, served.book, label)
        rows, action = len(served.book.items), books.ACTION_INDUK
    else:
        content = await asyncio.to_thread(mutasi_xlsx, served.book, label)
        rows, action = len(served.book.items), books.ACTION_MUTASI
    await books.record_read(db, principal, action, served, fmt="xlsx", rows=rows)
    code = {"rekapitulasi": "B3", "induk": "B1", "mutasi": "B2"}[book]
    filename = f"{code}-{book}-{served.area.code}-{served.month}.xlsx"
    return Response(
        content,
        media_type=XLSX_TYPE,
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="{filename}"',
        },
    )


async def printable(request: Request[Any, Any, Any]) -> Response[str]:
    principal = await _principal(request)
    params = _params(request)
    try:
        book = _book(params, PRINTABLE)
        served = await _serve_book(request, principal, book, params)
    except (InvalidQuery, NotFound, Forbidden) as exc:
        return await render_error(request, _refused(exc), _message(exc), back="/laporan")
    items = served.book.items
    await books.record_read(
        request.app.state.db,
        principal,
        books.ACTION_INDUK if book == "induk" else books.ACTION_MUTASI,
        served,
        fmt="print",
        rows=len(items),
    )
    return await render_page(
        request,
        f"reports/print_{book}.html",
        title=f"{BOOK_NAMES[book]} · {served.area.name} · {served.month.label()}",
        book_name=BOOK_NAMES[book],
        area=served.area,
        month=served.month,
        items=items,
        back=_href("/laporan", area=served.area.code, month=str(served.month)),
    )


_PAGE: dict[str, Any] = {
    "guards": [require_login],
    "include_in_schema": False,
    "cache_control": None,
}


def page_handlers() -> list[Any]:
    """New handler objects on every call (each app gets its own)."""
    return [
        get("/laporan", media_type=MediaType.HTML, **_PAGE)(reports_page),
        get("/laporan/unduh", **_PAGE)(download),
        get("/laporan/cetak", media_type=MediaType.HTML, **_PAGE)(printable),
    ]


__all__ = ["MENU_ROLES", "page_handlers"]
