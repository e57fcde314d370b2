"""The lansia list as the phone pages read it: the API's list (rtbook_lansia.listing)
with the pages' extra filters, a count, pages of a few rows and opaque references to
residents (no NIK in an address).

- Filters beyond the API's: a higher ``min_age`` than the city's (:func:`narrowed`),
  and ``sex`` and "vaccinated" (has a dose, of one vaccine if named), which the
  listing's own query carries (``ListQuery.sex``, ``ListQuery.vaccinated``), so the
  rows, their order and the keyset paging stay the listing module's.
- Every list read goes through :func:`rtbook_lansia.listing.start_list` (area, scope,
  plugin enabled, audit row); :func:`open_list` then reads the first page with the
  narrowed spec and completes the audit row with the page filters and the row count.
- A resident is pointed at by ``(rt, ref)``: the pages' resident reference
  (rtbook.web.pages.refs), found again among the residents of that RT.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from rtbook.core.auth import Principal, region_contains
from rtbook.core.db import Connection, Database
from rtbook.core.ledger.reads import InvalidQuery
from rtbook.web.pages.refs import REF_PATTERN, nik_of_ref, ref_of
from rtbook_lansia.ages import latest_birth_date
from rtbook_lansia.config import MIN_AGE_HIGHEST
from rtbook_lansia.listing import (
    Cursor,
    LansiaItem,
    ListQuery,
    ListSpec,
    ListStart,
    Page,
    parse_query,
    read_page,
    start_list,
)

SEXES = ("L", "P")
VACCINATION = ("belum", "sudah")  # not yet vaccinated / vaccinated
AGE_MAX = 150
_ORDER_TAIL = " ORDER BY r.name, r.nik LIMIT $4"  # the end of ListSpec.resident_sql


@dataclass(frozen=True, slots=True)
class PageFilters:
    """The checked filters of a list page (or of its download)."""

    query: ListQuery  # area, as_of, dose filters, vaccine, sex
    min_age: int | None = None  # None: the city's

    def params(self) -> dict[str, str]:
        """The filters as query parameters (links to the next page and downloads)."""
        q = self.query
        out = {"area": q.area}
        if q.as_of is not None:
            out["as_of"] = q.as_of.isoformat()
        if self.min_age is not None:
            out["min_age"] = str(self.min_age)
        if q.sex:
            out["sex"] = q.sex
        if q.not_vaccinated:
            out["vaksin"] = "belum"
        elif q.vaccinated:
            out["vaksin"] = "sudah"
        if q.vaccine:
            out["vaccine"] = q.vaccine
        return out


def parse_filters(params: Mapping[str, str], area: str) -> PageFilters:
    """The page's query parameters; InvalidQuery (400) names the first bad one.
    ``min_age`` is only checked for shape here (against the city's: :func:`open_list`)."""
    status = (params.get("vaksin") or "").strip().lower()
    if status and status not in VACCINATION:
        raise InvalidQuery("vaksin", "harus belum atau sudah (must be belum or sudah)")
    query = parse_query(
        area,
        params.get("as_of"),
        not_vaccinated="true" if status == "belum" else None,
        # a vaccine narrows the vaccination choice; alone it means nothing
        vaccine=params.get("vaccine") if status else None,
    )
    min_age = None
    text = (params.get("min_age") or "").strip()
    if text:
        if not (text.isascii() and text.isdigit() and int(text) <= AGE_MAX):
            raise InvalidQuery(
                "min_age", f"harus bilangan bulat 0..{AGE_MAX} (must be a whole number)"
            )
        min_age = int(text)
    sex = (params.get("sex") or "").strip().upper() or None
    if sex is not None and sex not in SEXES:
        raise InvalidQuery("sex", "harus L atau P (must be L or P)")
    query = replace(query, sex=sex, vaccinated=status == "sudah")
    return PageFilters(query=query, min_age=min_age)


def narrowed(spec: ListSpec, filters: PageFilters) -> ListSpec:
    """``spec`` (from start_list) with a higher ``min_age`` (never below the city's)."""
    min_age = spec.min_age if filters.min_age is None else filters.min_age
    return replace(spec, cutoff=latest_birth_date(spec.as_of, min_age), min_age=min_age)


def check_min_age(filters: PageFilters, city_min_age: int) -> None:
    if filters.min_age is not None and not city_min_age <= filters.min_age <= MIN_AGE_HIGHEST:
        raise InvalidQuery(
            "min_age",
            f"harus {city_min_age} sampai {MIN_AGE_HIGHEST}, umur lansia kota ini paling "
            f"sedikit {city_min_age} (must be {city_min_age}..{MIN_AGE_HIGHEST})",
        )


async def open_list(
    db: Database,
    principal: Principal,
    filters: PageFilters,
    fmt: str,
    *,
    page_size: int,
    after: str | None = None,
    secret: bytes = b"",
) -> ListStart:
    """Start an audited list (start_list: area 404, scope 403, plugin off 404) and read
    its first ``page_size`` rows after ``after`` (a page token, :func:`cursor_token`)
    with the page filters. Check ``filters.min_age`` first (:func:`check_min_age`).

    The audit row's detail gets the page filters; its ``rows`` are set by
    :func:`rtbook_lansia.listing.finish_list` (by the caller for a page,
    by ``iter_pages`` for a download longer than a page)."""
    cursor: Cursor | None = None
    if after is not None:  # a bad token is refused before the audit row is written
        token = after

        async def find(conn: Connection) -> Cursor:
            return await resolve_cursor(conn, filters.query.area, token, secret)

        cursor = await db.read(find)
    # a one-row first read gives the spec and writes the audit row; the page follows
    start: ListStart = await db.write(
        start_list(principal, filters.query, fmt, with_doses=fmt != "csv", page_size=1)
    )
    spec = narrowed(start.spec, filters)
    start.detail["min_age"] = spec.min_age  # the query's own filters are there already

    async def unit(conn: Connection) -> Page:
        return await read_page(conn, spec, cursor, page_size)

    start.spec, start.first = spec, await db.read(unit)
    return start


# Counting stops here: a city-wide count reads every resident (~1 s for 760,000 on
# SQLite), while 2,000 of them are found after ~30,000 rows (the page shows "2000+").
COUNT_CAP = 2000


async def count_list(conn: Connection, spec: ListSpec) -> int:
    """How many residents the whole list has, up to ``COUNT_CAP + 1`` (more is shown as
    "more than COUNT_CAP"): the listing's own SQL over every RT of the area at once
    (``rt_code IN`` the area's RTs, no order)."""
    sql, extra = spec.resident_sql()
    head = "WHERE r.rt_code = $1"
    if head not in sql or not sql.endswith(_ORDER_TAIL):
        raise RuntimeError("rtbook_lansia.listing resident_sql has a new shape")
    sql = sql.replace(head, "WHERE r.rt_code IN (SELECT code FROM rt WHERE code LIKE $1)", 1)
    sql = sql[: -len(_ORDER_TAIL)] + " LIMIT $4"
    value = await conn.fetchval(
        f"SELECT count(*) FROM ({sql}) AS x",
        spec.area.rt_pattern(),
        "",
        "",
        COUNT_CAP + 1,
        *extra,
    )
    return int(value or 0)


# -- opaque references -------------------------------------------------------------------


async def find_by_ref(conn: Connection, secret: bytes, rt: str, ref: str) -> Any | None:
    """The resident of RT ``rt`` whose reference (rtbook.web.pages.refs) is ``ref``
    (None: no such resident)."""
    if not REF_PATTERN.fullmatch(ref) or len(rt) > 32:
        return None
    rows = await conn.fetch(
        "SELECT r.nik, r.name, r.sex, r.birth_date, r.address, r.status, r.rt_code,"
        " r.city_code, c.timezone FROM resident r JOIN city c ON c.code = r.city_code"
        " WHERE r.rt_code = $1",
        rt,
    )
    nik = nik_of_ref(secret, (row["nik"] for row in rows), ref)
    return next((row for row in rows if row["nik"] == nik), None)


def cursor_token(secret: bytes, item: LansiaItem) -> str:
    """The next page starts after ``item``: ``<rt>~<ref>`` (no name, no NIK)."""
    return f"{item.rt}~{ref_of(secret, item.nik)}"


async def resolve_cursor(conn: Connection, area: str, token: str, secret: bytes) -> Cursor:
    """(rt, name, nik) of a page token; a token outside the list's area or for no
    resident is a bad parameter (400), never a read outside the area."""
    rt, _, ref = token.partition("~")
    row = None
    if rt and region_contains(area, rt):
        row = await find_by_ref(conn, secret, rt, ref)
    if row is None:
        raise InvalidQuery("after", "halaman tidak sah (invalid page)")
    return (rt, row["name"], row["nik"])
