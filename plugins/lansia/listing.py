"""The lansia list: active residents of an area whose age on ``as_of`` is at least the
city's ``min_age``, ordered by RT, then name (then NIK), with their vaccine doses.

Read in pages by keyset, so a whole city (~56,000 lansia of ~760,000 residents) is
served in constant memory: the RTs of the area in code order, and inside each RT the
index ``resident(rt_code, status, name, nik)`` from the last (name, nik) served. A
page is one unit of work; the cursor is (rt_code, name, nik) of the last row.

The first page is read in a write unit that also checks the area and the caller's
scope and writes the audit row (rtbook.core.audit), so no list is served without its
row; when the list is longer than a page the row is completed with the count at the
end (:func:`finish_list`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import msgspec

from rtbook.core import audit
from rtbook.core.auth import Principal
from rtbook.core.db import Connection, Database
from rtbook.core.errors import NotFound
from rtbook.core.ledger.reads import InvalidQuery
from rtbook.core.plugins.settings import enabled_plugins
from rtbook.core.validation import Issues, clean_text, parse_date
from rtbook_lansia.ages import age_on, latest_birth_date
from rtbook_lansia.areas import Area, authorize_area, parse_area, resolve_area
from rtbook_lansia.config import min_age_of
from rtbook_lansia.doses import MAX_DOSE_NUMBER, VACCINE_MAX, Dose, doses_of

PLUGIN = "lansia"
ACTION_LIST = "lansia.list"
PAGE_SIZE = 1000  # rows per unit of work (read at call time: tests make it small)
RT_BATCH = 200
FORMATS = ("json", "csv", "xlsx")

# The contract's columns, in its order (CSV header and XLSX first columns).
COLUMNS = ("nik", "name", "sex", "birth_date", "age", "rt", "address")


class LansiaItem(msgspec.Struct):
    """One resident on the list: the contract's fields, then the doses given."""

    nik: str
    name: str
    sex: str
    birth_date: date
    age: int
    rt: str
    address: str | None
    doses: list[Dose] = msgspec.field(default_factory=list)


class LansiaList(msgspec.Struct):
    """The JSON answer (for the OpenAPI document; the handler streams this shape)."""

    items: list[LansiaItem]


@dataclass(frozen=True, slots=True)
class ListQuery:
    """The checked parameters of one list request."""

    area: str
    level: str
    as_of: date | None  # None: today in the city
    not_vaccinated: bool = False
    missing_dose: int | None = None
    vaccine: str | None = None  # narrows the dose filters to one vaccine
    vaccinated: bool = False  # has a dose (the phone pages' filter)
    sex: str | None = None  # L | P (the phone pages' filter)

    @property
    def by_dose(self) -> bool:
        """A filter on doses is set (``vaccine`` narrows only these)."""
        return self.not_vaccinated or self.vaccinated or self.missing_dose is not None

    def filters(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.not_vaccinated:
            out["not_vaccinated"] = True
        if self.vaccinated:
            out["vaccinated"] = True
        if self.missing_dose is not None:
            out["missing_dose"] = self.missing_dose
        if self.vaccine is not None:
            out["vaccine"] = self.vaccine
        if self.sex is not None:
            out["sex"] = self.sex
        return out


def _flag(value: str | None, name: str) -> bool:
    text = (value or "").strip().lower()
    if text in ("", "false", "0", "no"):
        return False
    if text in ("true", "1", "yes"):
        return True
    raise InvalidQuery(name, "harus true atau false (must be true or false)")


def parse_query(
    area: str | None,
    as_of: str | None,
    *,
    not_vaccinated: str | None = None,
    missing_dose: str | None = None,
    vaccine: str | None = None,
) -> ListQuery:
    """Check a request's parameters; InvalidQuery (400) names the first bad one."""
    code, level = parse_area(area)
    day = None
    if as_of is not None and as_of.strip():
        issues = Issues()
        day = parse_date(as_of.strip(), "as_of", issues)
        if issues:
            raise InvalidQuery("as_of", issues.errors[0].message)
        assert day is not None
        if day.year > 9000:
            raise InvalidQuery("as_of", "tanggal terlalu jauh (date too far ahead)")
    dose = None
    if missing_dose is not None and missing_dose.strip():
        text = missing_dose.strip()
        if not (text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_DOSE_NUMBER):
            raise InvalidQuery(
                "missing_dose",
                f"harus bilangan bulat 1 sampai {MAX_DOSE_NUMBER} "
                f"(must be an integer 1..{MAX_DOSE_NUMBER})",
            )
        dose = int(text)
    name = None
    if vaccine is not None and vaccine.strip():
        issues = Issues()
        name = clean_text(vaccine, "vaccine", issues, max_len=VACCINE_MAX)
        if issues or name is None:
            raise InvalidQuery("vaccine", issues.errors[0].message)
    return ListQuery(
        area=code,
        level=level,
        as_of=day,
        not_vaccinated=_flag(not_vaccinated, "not_vaccinated"),
        missing_dose=dose,
        vaccine=name,
    )


# -- one page --------------------------------------------------------------------------

Cursor = tuple[str, str, str]  # (rt_code, name, nik) of the last row served


@dataclass(frozen=True, slots=True)
class ListSpec:
    """Everything a page read needs, fixed for the whole list."""

    area: Area
    cutoff: date  # born on or before: at least min_age on as_of
    as_of: date
    min_age: int
    query: ListQuery
    with_doses: bool

    def resident_sql(self) -> tuple[str, list[Any]]:
        """The SELECT of one RT's rows after a (name, nik), with $1 = rt, $2 = name,
        $3 = nik, $4 = limit; filter arguments follow."""
        args: list[Any] = [self.cutoff]
        sql = [
            "SELECT r.nik, r.name, r.sex, r.birth_date, r.rt_code, r.address FROM resident r"
            " WHERE r.rt_code = $1 AND r.status = 'active' AND r.birth_date <= $5"
            " AND (r.name > $2 OR (r.name = $2 AND r.nik > $3))"
        ]
        vaccine = ""
        # the vaccine only narrows the dose filters: bound only when one uses it (an
        # unused argument is an error to both databases)
        if self.query.vaccine is not None and self.query.by_dose:
            args.append(self.query.vaccine.lower())
            vaccine = f" AND lower(d.vaccine) = ${len(args) + 4}"
        if self.query.sex is not None:
            args.append(self.query.sex)
            sql.append(f" AND r.sex = ${len(args) + 4}")
        if self.query.vaccinated:
            sql.append(f" AND EXISTS (SELECT 1 FROM lansia_dose d WHERE d.nik = r.nik{vaccine})")
        if self.query.not_vaccinated:
            sql.append(
                f" AND NOT EXISTS (SELECT 1 FROM lansia_dose d WHERE d.nik = r.nik{vaccine})"
            )
        if self.query.missing_dose is not None:
            args.append(self.query.missing_dose)
            sql.append(
                " AND NOT EXISTS (SELECT 1 FROM lansia_dose d WHERE d.nik = r.nik"
                f" AND d.dose_number = ${len(args) + 4}{vaccine})"
            )
        sql.append(" ORDER BY r.name, r.nik LIMIT $4")
        return "".join(sql), args


_RTS_SQL = (
    "SELECT code FROM rt WHERE city_code = $1 AND code LIKE $2 AND code > $3 ORDER BY code LIMIT $4"
)


@dataclass(slots=True)
class Page:
    items: list[LansiaItem]
    cursor: Cursor | None  # None: this was the last page


async def read_page(conn: Connection, spec: ListSpec, cursor: Cursor | None, limit: int) -> Page:
    """Up to ``limit`` rows after ``cursor`` (None: from the start)."""
    sql, extra = spec.resident_sql()
    city, pattern = spec.area.city, spec.area.rt_pattern()
    rt, name, nik = cursor if cursor is not None else ("", "", "")
    rows: list[Any] = []
    pending_rts: list[str] = [rt] if rt else []
    last_rt = rt
    exhausted = False
    while len(rows) < limit:
        if not pending_rts:
            if exhausted:
                break
            found = await conn.fetch(_RTS_SQL, city, pattern, last_rt, RT_BATCH)
            pending_rts = [r[0] for r in found]
            exhausted = len(pending_rts) < RT_BATCH
            if not pending_rts:
                break
            last_rt = pending_rts[-1]
            name, nik = "", ""
        current = pending_rts[0]
        want = limit - len(rows)
        got = await conn.fetch(sql, current, name, nik, want, *extra)
        rows.extend(got)
        if len(got) < want:  # this RT is done
            pending_rts.pop(0)
            name, nik = "", ""
        else:
            name, nik = got[-1][1], got[-1][2]
    items = [
        LansiaItem(
            nik=r[0],
            name=r[1],
            sex=r[2],
            birth_date=r[3],
            age=age_on(r[3], spec.as_of),
            rt=r[4],
            address=r[5],
        )
        for r in rows
    ]
    if spec.with_doses and items:
        by_nik = await doses_of(conn, [i.nik for i in items])
        for item in items:
            item.doses = by_nik.get(item.nik, [])
    more = len(rows) >= limit and (bool(pending_rts) or not exhausted)
    next_cursor = (items[-1].rt, items[-1].name, items[-1].nik) if more and items else None
    return Page(items=items, cursor=next_cursor)


# -- the whole list --------------------------------------------------------------------


@dataclass(slots=True)
class ListStart:
    """The checked list, its first page and its audit row."""

    spec: ListSpec
    first: Page
    audit_id: int
    fmt: str
    detail: dict[str, Any] = field(default_factory=dict)


def start_list(
    principal: Principal | None,
    query: ListQuery,
    fmt: str,
    *,
    with_doses: bool = True,
    now: datetime | None = None,
    page_size: int | None = None,
) -> Any:
    """Unit of work (for ``db.write``): find the area (404), check the caller's scope
    (403) and that the plugin is enabled in the area's city (404), read the first
    page and write the audit row."""

    async def unit(conn: Connection) -> ListStart:
        area = await resolve_area(conn, query.area, query.level)
        if principal is not None:
            authorize_area(principal, area)
        state = (await enabled_plugins(conn, area.city)).get(PLUGIN)
        if state is None:
            raise NotFound("plugin lansia tidak aktif di kota ini (plugin not enabled here)")
        min_age = min_age_of(state.config)
        as_of = query.as_of or area.today(now or datetime.now(UTC))
        spec = ListSpec(
            area=area,
            cutoff=latest_birth_date(as_of, min_age),
            as_of=as_of,
            min_age=min_age,
            query=query,
            with_doses=with_doses,
        )
        first = await read_page(conn, spec, None, page_size or PAGE_SIZE)
        detail: dict[str, Any] = {
            "format": fmt,
            "as_of": as_of.isoformat(),
            "min_age": min_age,
            **query.filters(),
            "rows": len(first.items),
            "complete": first.cursor is None,
        }
        audit_id = await audit.record(conn, principal, ACTION_LIST, area.code, area.city, detail)
        return ListStart(spec=spec, first=first, audit_id=audit_id, fmt=fmt, detail=detail)

    return unit


async def iter_pages(
    db: Database, start: ListStart, page_size: int | None = None
) -> AsyncIterator[Sequence[LansiaItem]]:
    """The list page by page: the first page, then one read unit per page. The next
    page is read while the caller encodes the current one (at most two pages in
    memory). When the list was longer than the first page, the audit row gets the
    count at the end (``complete`` false if the reader stopped early)."""
    size = page_size or PAGE_SIZE
    cursor = start.first.cursor
    if cursor is None:
        yield start.first.items
        return
    rows = len(start.first.items)
    ahead: asyncio.Future[Page] | None = asyncio.ensure_future(
        db.read(_page_unit(start.spec, cursor, size))
    )
    try:
        yield start.first.items
        while ahead is not None:
            page = await ahead
            rows += len(page.items)
            cursor = page.cursor
            ahead = (
                None
                if cursor is None
                else asyncio.ensure_future(db.read(_page_unit(start.spec, cursor, size)))
            )
            if page.items:
                yield page.items
    finally:
        if ahead is not None:
            ahead.cancel()
            with contextlib.suppress(BaseException):
                await ahead
        await finish_list(db, start, rows, complete=cursor is None)


def _page_unit(spec: ListSpec, cursor: Cursor, page_size: int) -> Any:
    async def unit(conn: Connection) -> Page:
        return await read_page(conn, spec, cursor, page_size)

    return unit


async def finish_list(db: Database, start: ListStart, rows: int, *, complete: bool) -> None:
    detail = dict(start.detail, rows=rows, complete=complete)

    async def unit(conn: Connection) -> None:
        await audit.update_detail(conn, start.audit_id, detail)

    await db.write(unit)
