"""Reading an RT's book: residents, households and the feed.

Each read is one unit of work for ``db.read()`` that looks the RT up, checks the
reader's scope and reads, so a request costs one round trip (on SQLite one thread
hop). Build the unit with the functions below (they validate their arguments first,
raising :class:`InvalidQuery`), then ``await db.read(unit)``:

    page = await db.read(residents_page(principal, rt_code, status="active", limit=50))

Residents are paged by keyset on (name, nik), the order of the index
``resident(rt_code, status, name, nik)``; the cursor is opaque to clients (url-safe
base64 of the JSON ``[name, nik]`` of the last row served).
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import date
from typing import Any

import msgspec

from rtbook.core.auth import Principal
from rtbook.core.db import Connection
from rtbook.core.db.base import Unit
from rtbook.core.errors import Forbidden, NotFound, RtbookError
from rtbook.core.ledger.feed import cloud_event
from rtbook.core.validation import (
    NIK_PATTERN,
    RESIDENT_FIELDS,
    RESIDENT_STATUS,
    RT_CODE_PATTERN,
)

RESIDENTS_LIMIT_DEFAULT = 50
RESIDENTS_LIMIT_MAX = 200
EVENTS_LIMIT_DEFAULT = 100
EVENTS_LIMIT_MAX = 500
AFTER_MAX = 2**62
QUERY_MAX_LEN = 100
CURSOR_MAX_LEN = 1024

_DIGITS = re.compile(r"[0-9]+")
# C0 controls, DEL: PostgreSQL refuses NUL in text, and none belongs in a search.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class InvalidQuery(RtbookError):
    """A read's parameter is out of range or malformed (HTTP 400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# -- answers ---------------------------------------------------------------------------


class ResidentItem(msgspec.Struct):
    """One resident as the API shows it: the contract's resident fields and status.

    Field order matches the SELECT list below: rows become items positionally."""

    nik: str
    name: str
    sex: str
    birth_place: str | None
    birth_date: date
    religion: str | None
    education: str | None
    occupation: str | None
    marital_status: str | None
    shdk: str | None
    citizenship: str | None
    no_kk: str | None
    address: str | None
    rt: str | None
    father_name: str | None
    mother_name: str | None
    phone: str | None
    blood_type: str | None
    status: str


class ResidentsPage(msgspec.Struct, kw_only=True):
    items: list[ResidentItem]
    next_cursor: str | None = None  # pass back as ``cursor``; null on the last page


class HouseholdMember(msgspec.Struct, kw_only=True):
    nik: str
    name: str
    sex: str
    shdk: str | None
    birth_date: date
    status: str


class HouseholdItem(msgspec.Struct, kw_only=True):
    no_kk: str
    head_nik: str | None
    members: list[HouseholdMember]


class HouseholdsPage(msgspec.Struct, kw_only=True):
    items: list[HouseholdItem]


class EventsPage(msgspec.Struct, kw_only=True):
    items: list[dict[str, Any]]  # CloudEvents 1.0 objects (rtbook.core.ledger.feed)
    next_after: str


# ResidentItem's fields, in its order (rt is the stored rt_code).
RESIDENT_COLUMNS = ", ".join("rt_code" if f == "rt" else f for f in RESIDENT_FIELDS) + ", status"


# -- cursors ---------------------------------------------------------------------------


def encode_cursor(name: str, nik: str) -> str:
    raw = msgspec.json.encode([name, nik])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _bad_cursor() -> InvalidQuery:
    return InvalidQuery(
        "cursor",
        "cursor tidak dikenal; mulai lagi dari halaman pertama "
        "(unknown cursor; start again from the first page)",
    )


def decode_cursor(cursor: str) -> tuple[str, str]:
    """The (name, nik) a cursor points after; InvalidQuery for anything else."""
    if len(cursor) > CURSOR_MAX_LEN or not cursor.isascii():
        raise _bad_cursor()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        name, nik = msgspec.json.decode(raw, type=tuple[str, str])
        name.encode("utf-8")  # lone surrogates cannot be sent to the database
    except (binascii.Error, ValueError, msgspec.DecodeError, UnicodeEncodeError):
        raise _bad_cursor() from None
    if not NIK_PATTERN.fullmatch(nik) or _CONTROL.search(name) or len(name) > 300:
        raise _bad_cursor()
    return name, nik


# -- parameter checks ------------------------------------------------------------------


def check_limit(limit: int, maximum: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= maximum:
        raise InvalidQuery(
            "limit", f"harus bilangan bulat 1 sampai {maximum} (must be an integer 1..{maximum})"
        )
    return limit


def check_status(status: str | None) -> str | None:
    if status in (None, ""):
        return None
    if status not in RESIDENT_STATUS:
        choices = ", ".join(RESIDENT_STATUS)
        raise InvalidQuery("status", f"harus salah satu dari {choices} (must be one of {choices})")
    return status


def check_search(q: str | None) -> str | None:
    """The trimmed search text, None when empty."""
    if q is None:
        return None
    q = q.strip()
    if not q:
        return None
    if len(q) > QUERY_MAX_LEN:
        raise InvalidQuery(
            "q",
            f"terlalu panjang, maksimal {QUERY_MAX_LEN} karakter (max {QUERY_MAX_LEN} chars)",
        )
    try:
        q.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidQuery("q", "bukan teks Unicode yang sah (not valid Unicode text)") from None
    if _CONTROL.search(q):
        raise InvalidQuery("q", "berisi karakter kendali (contains control characters)")
    return q


def check_after(after: int) -> int:
    if isinstance(after, bool) or not isinstance(after, int) or not 0 <= after <= AFTER_MAX:
        raise InvalidQuery(
            "after", f"harus bilangan bulat 0 sampai {AFTER_MAX} (must be an integer 0..2^62)"
        )
    return after


def like_contains(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, with ``\\`` as the escape character."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# -- scope -----------------------------------------------------------------------------


async def rt_city(conn: Connection, rt_code: str) -> str:
    """The city of an RT; NotFound when there is no such RT."""
    city = None
    if RT_CODE_PATTERN.fullmatch(rt_code):
        city = await conn.fetchval("SELECT city_code FROM rt WHERE code = $1", rt_code)
    if city is None:
        raise NotFound("RT tidak ditemukan (RT not found)")
    return city


def rt_lookup(rt_code: str) -> Unit[str]:
    """Unit: the city code of an RT (NotFound for an unknown RT)."""

    async def unit(conn: Connection) -> str:
        return await rt_city(conn, rt_code)

    return unit


async def authorize_rt_read(conn: Connection, principal: Principal | None, rt_code: str) -> str:
    """The RT's city after checking that it exists (404) and the reader may read it (403).

    ``principal`` None is a trusted internal caller (CLI, worker): no scope check.
    """
    city = await rt_city(conn, rt_code)
    if principal is not None and not principal.can_read_rt(rt_code, city):
        raise Forbidden("tidak berwenang membaca RT ini (not allowed to read this RT)")
    return city


# -- the reads -------------------------------------------------------------------------


def residents_page(
    principal: Principal | None,
    rt_code: str,
    *,
    status: str | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = RESIDENTS_LIMIT_DEFAULT,
) -> Unit[ResidentsPage]:
    """Unit: one page of an RT's residents in (name, nik) order.

    ``q`` of ASCII digits matches part of the NIK, other text part of the name
    (case-insensitive). LIKE wildcards in ``q`` match themselves.
    """
    status = check_status(status)
    search = check_search(q)
    after = decode_cursor(cursor) if cursor else None
    limit = check_limit(limit, RESIDENTS_LIMIT_MAX)

    sql = [f"SELECT {RESIDENT_COLUMNS} FROM resident WHERE rt_code = $1"]
    args: list[Any] = [rt_code]

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if status is not None:
        sql.append(f"AND status = {arg(status)}")
    if search is not None:
        pattern = like_contains(search)
        if _DIGITS.fullmatch(search):  # [0-9] only: other scripts' digits are names
            sql.append(f"AND nik LIKE {arg(pattern)} ESCAPE '\\'")
        else:
            sql.append(f"AND lower(name) LIKE lower({arg(pattern)}) ESCAPE '\\'")
    if after is not None:
        name_arg, nik_arg = arg(after[0]), arg(after[1])
        sql.append(f"AND (name > {name_arg} OR (name = {name_arg} AND nik > {nik_arg}))")
    sql.append(f"ORDER BY name, nik LIMIT {arg(limit + 1)}")
    text = " ".join(sql)

    async def unit(conn: Connection) -> ResidentsPage:
        await authorize_rt_read(conn, principal, rt_code)
        rows = await conn.fetch(text, *args)
        items = [ResidentItem(*row) for row in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = items[-1]
            next_cursor = encode_cursor(last.name, last.nik)
        return ResidentsPage(items=items, next_cursor=next_cursor)

    return unit


_HOUSEHOLDS_SQL = (
    "SELECT h.no_kk, h.head_nik, r.nik, r.name, r.sex, r.shdk, r.birth_date, r.status"
    " FROM household h JOIN resident r ON r.no_kk = h.no_kk AND r.status = $2"
    " WHERE h.rt_code = $1"
    " ORDER BY h.no_kk,"
    " CASE WHEN r.nik = h.head_nik THEN 0 WHEN r.shdk = 'kepala_keluarga' THEN 1 ELSE 2 END,"
    " r.birth_date, r.nik"
)


def households(principal: Principal | None, rt_code: str) -> Unit[HouseholdsPage]:
    """Unit: the RT's households (KK) with their active members, head first, then by
    birth date; a household without an active member is left out."""

    async def unit(conn: Connection) -> HouseholdsPage:
        await authorize_rt_read(conn, principal, rt_code)
        rows = await conn.fetch(_HOUSEHOLDS_SQL, rt_code, "active")
        items: list[HouseholdItem] = []
        current: HouseholdItem | None = None
        for row in rows:
            if current is None or current.no_kk != row[0]:
                current = HouseholdItem(no_kk=row[0], head_nik=row[1], members=[])
                items.append(current)
            current.members.append(
                HouseholdMember(
                    nik=row[2],
                    name=row[3],
                    sex=row[4],
                    shdk=row[5],
                    birth_date=row[6],
                    status=row[7],
                )
            )
        return HouseholdsPage(items=items)

    return unit


EVENTS_SQL = (
    "SELECT id, city_code, seq, rt_code, effect, time, data FROM event"
    " WHERE rt_code = $1 AND seq > $2 ORDER BY seq LIMIT $3"
)


def events_page(
    principal: Principal | None,
    rt_code: str,
    *,
    after: int = 0,
    limit: int = EVENTS_LIMIT_DEFAULT,
) -> Unit[EventsPage]:
    """Unit: the RT's feed events with sequence > ``after``, as CloudEvents."""
    after = check_after(after)
    limit = check_limit(limit, EVENTS_LIMIT_MAX)

    async def unit(conn: Connection) -> EventsPage:
        await authorize_rt_read(conn, principal, rt_code)
        rows = await conn.fetch(EVENTS_SQL, rt_code, after, limit)
        items = [cloud_event(row) for row in rows]
        last = rows[-1]["seq"] if rows else after
        return EventsPage(items=items, next_after=str(last))

    return unit
