"""``GET /rt/{rt}``: the buku induk of an RT on a phone.

Without a search and with the default filter (aktif) it lists the households (KK)
with their active members, 25 KK a page; a search (name, or digits of the NIK) or
another status filter lists residents, 25 a page. Both come from the API's own reads
(rtbook.core.ledger.reads: scope checked there) and write the API's audit rows
(``households.list``, ``residents.list``) in the same unit. An HTMX request (search
as you type) gets the ``#results`` fragment only; without JavaScript the form is a
plain GET form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

from litestar import MediaType, Request, Response, get

from rtbook.core import audit
from rtbook.core.auth import Principal
from rtbook.core.db import Connection
from rtbook.core.ledger import reads
from rtbook.web.login import page_session, render, require_login
from rtbook.web.pages.layout import render_error, render_page, rt_short
from rtbook.web.pages.refs import resident_ref
from rtbook.web.pages.rt_common import (
    SEX_WORDS,
    SHDK_WORDS,
    STATUS_WORDS,
    RtPath,
    age_on,
    city_timezone,
    city_today,
    masked_tail,
    scoped,
    words,
)

PAGE_SIZE = 25  # households, or residents, a page
PAGE_MAX = 10_000
STATUS_FILTERS: dict[str, str | None] = {
    "aktif": "active",
    "meninggal": "deceased",
    "pindah": "moved_out",
    "semua": None,
}
MSG_STATUS = (
    "status: pilih aktif, meninggal, pindah atau semua (choose aktif, meninggal, pindah or semua)"
)
MSG_PAGE = f"hal: nomor halaman 1 sampai {PAGE_MAX} (page number 1..{PAGE_MAX})"


@dataclass(frozen=True, slots=True)
class Row:
    """A resident as the book shows them."""

    name: str
    ref: str
    sex: str
    age: int
    shdk: str
    status: str
    status_en: str
    badge: str
    nik_tail: str


@dataclass(frozen=True, slots=True)
class Family:
    kk_tail: str
    members: list[Row]


@dataclass(slots=True)
class Book:
    households: list[Family] | None = None  # the KK view
    residents: list[Row] | None = None  # the search / filter view
    has_next: bool = False
    total_households: int = 0
    total_members: int = 0
    shown: int = 0
    notes: list[str] = field(default_factory=list)


def _row(
    request: Request[Any, Any, Any],
    today: date,
    person: reads.ResidentItem | reads.HouseholdMember,
) -> Row:
    label, label_en, badge = STATUS_WORDS.get(person.status, (person.status, person.status, ""))
    return Row(
        name=person.name,
        ref=resident_ref(request, person.nik),
        sex=words(SEX_WORDS, person.sex),
        age=age_on(person.birth_date, today),
        shdk=words(SHDK_WORDS, person.shdk),
        status=label,
        status_en=label_en,
        badge=badge,
        nik_tail=masked_tail(person.nik),
    )


def _households_unit(
    request: Request[Any, Any, Any], principal: Principal, rt: str, page: int
) -> Any:
    async def unit(conn: Connection) -> Book:
        found = await reads.households(principal, rt)(conn)  # scope checked here
        city = await reads.rt_city(conn, rt)
        today = city_today(request, await city_timezone(conn, city))
        start = (page - 1) * PAGE_SIZE
        chosen = found.items[start : start + PAGE_SIZE]
        families = [
            Family(
                kk_tail=masked_tail(item.no_kk),
                members=[_row(request, today, m) for m in item.members],
            )
            for item in chosen
        ]
        await audit.record(
            conn, principal, "households.list", rt, city, {"rows": len(chosen), "page": page}
        )
        return Book(
            households=families,
            has_next=start + PAGE_SIZE < len(found.items),
            total_households=len(found.items),
            total_members=sum(len(i.members) for i in found.items),
            shown=len(chosen),
        )

    return unit


def _residents_unit(
    request: Request[Any, Any, Any],
    principal: Principal,
    rt: str,
    *,
    status: str | None,
    q: str,
    page: int,
) -> Any:
    async def unit(conn: Connection) -> Book:
        cursor: str | None = None
        skip = (page - 1) * PAGE_SIZE
        while skip > 0:  # the core pages by keyset: walk to the page asked for
            take = min(skip, reads.RESIDENTS_LIMIT_MAX)
            walked = await reads.residents_page(
                principal, rt, status=status, q=q or None, cursor=cursor, limit=take
            )(conn)
            cursor, skip = walked.next_cursor, skip - take
            if cursor is None:
                break
        if page > 1 and cursor is None:
            items: list[reads.ResidentItem] = []
            has_next = False
        else:
            found = await reads.residents_page(
                principal, rt, status=status, q=q or None, cursor=cursor, limit=PAGE_SIZE
            )(conn)
            items, has_next = found.items, found.next_cursor is not None
        city = await reads.rt_city(conn, rt)
        today = city_today(request, await city_timezone(conn, city))
        rows = [_row(request, today, i) for i in items]
        detail = {"rows": len(rows), "status": status, "q": audit.mask_search(q or None)}
        await audit.record(conn, principal, "residents.list", rt, city, {**detail, "page": page})
        return Book(residents=rows, has_next=has_next, shown=len(rows))

    return unit


def _page_number(raw: str | None) -> int | None:
    if raw in (None, ""):
        return 1
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
        return None
    number = int(raw)
    return number if 1 <= number <= PAGE_MAX else None


def _link(rt: str, q: str, status: str, page: int) -> str:
    params = {"q": q, "status": "" if status == "aktif" else status, "hal": str(page)}
    return f"/rt/{rt}?" + urlencode({k: v for k, v in params.items() if v})


@get(
    "/rt/{rt:str}",
    guards=[require_login],
    media_type=MediaType.HTML,
    include_in_schema=False,
    cache_control=None,
)
async def ward_book(request: Request[Any, Any, Any], rt: RtPath) -> Response[str]:
    session = await page_session(request)
    assert session is not None  # require_login
    principal = session.principal
    q = request.query_params.get("q") or ""
    status_key = request.query_params.get("status") or "aktif"
    if status_key not in STATUS_FILTERS:
        return await render_error(request, 400, MSG_STATUS, back=f"/rt/{rt}")
    page = _page_number(request.query_params.get("hal"))
    if page is None:
        return await render_error(request, 400, MSG_PAGE, back=f"/rt/{rt}")
    status = STATUS_FILTERS[status_key]
    if not q.strip() and status == "active":
        unit = _households_unit(request, principal, rt, page)
    else:
        unit = _residents_unit(request, principal, rt, status=status, q=q, page=page)
    book = await scoped(request, principal, rt, unit)
    if isinstance(book, Response):
        return book
    context = {
        "rt": rt,
        "rt_label": rt_short(rt),
        "q": q,
        "status_key": status_key,
        "statuses": STATUS_FILTERS,
        "book": book,
        "page": page,
        "prev_href": _link(rt, q, status_key, page - 1) if page > 1 else None,
        "next_href": _link(rt, q, status_key, page + 1) if book.has_next else None,
    }
    partial = request.headers.get("HX-Request") and not request.headers.get(
        "HX-History-Restore-Request"
    )
    if partial:
        headers = {}
        if sum(ch.isdigit() for ch in q) >= 5:  # part of a NIK: keep it out of history
            headers["HX-Push-Url"] = "false"
        return render("pages/ward_results.html", session=session, headers=headers, **context)
    return await render_page(
        request, "pages/ward_book.html", title=f"Buku induk {rt_short(rt)}", **context
    )


WARD_HANDLERS = (ward_book,)
